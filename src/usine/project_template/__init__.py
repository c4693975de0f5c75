"""Files ``usine init`` writes into a new model project (``*.tmpl``, ``$name`` substituted)."""
