"""Pieces of the web interface that ``grodtd.web_app`` assembles: schemas, middleware, files."""
