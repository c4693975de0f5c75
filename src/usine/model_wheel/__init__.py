"""A registered model version as its own small wheel, scoring without usine or the registry.

``scoring.py`` is copied verbatim into the wheel as the package's ``__init__``; ``build.py``
writes the wheel (model, contract, scoring code, pinned requirements) with no build backend.
"""
