"""Temporary alias of wsgiscope_harness.waiting while in-flight work moves over; to be removed."""

from wsgiscope_harness.waiting import *  # noqa: F403
