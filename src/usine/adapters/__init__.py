"""Adapters: each hides one external system (database, registry, ...) behind a small interface."""
