"""Temporary alias of wsgiscope_harness.metrics while in-flight work moves over; to be removed."""

from wsgiscope_harness.metrics import *  # noqa: F403
