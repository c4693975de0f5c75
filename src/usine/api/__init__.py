"""The real-time HTTP API (FastAPI): thin routes over the services."""
