"""Temporary alias of wsgiscope_harness.processes while in-flight work moves over; to be removed."""

from wsgiscope_harness.processes import *  # noqa: F403
