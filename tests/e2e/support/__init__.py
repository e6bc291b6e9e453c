"""Helpers for the end-to-end tests: processes with deadlines, and parsed Prometheus output."""
