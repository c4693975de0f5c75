"""Rendering of monitoring reports (the statistics themselves live in ``usine.domain``)."""
