"""Examples for wsgiscope: an app with one endpoint per lab scenario, and server launchers."""
