"""Server launchers: one module per server mode, run through ``launch.py``."""
