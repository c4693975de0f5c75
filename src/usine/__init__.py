"""usine: industrialise machine-learning models.

The public API is what this module exports; everything else may change between releases.
"""

import os

# MLflow sends usage telemetry to the internet unless told not to; usine never does.
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")

__version__ = "0.1.0"

__all__ = ["__version__"]
