"""The example app: one endpoint per lab scenario (see wsgi.py)."""
