"""The live daemon's moving parts: the runner that paces bars into the engine, the embedded
HTTP servers, the daemon's view and control for the web interface."""
