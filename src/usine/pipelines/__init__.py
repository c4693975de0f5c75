"""Training pipelines of usine's reference models."""
