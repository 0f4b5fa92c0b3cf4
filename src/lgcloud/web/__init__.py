"""The web layer: JSON API (FastAPI, OpenAPI served) and server-rendered pages."""
