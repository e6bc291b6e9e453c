"""wsgiscope's test harness: the one home of what tests, the lab, the benchmarks and the demo
share — real processes (the collector, servers started by the launcher or by their own command
lines) and how to stop them, waiting on conditions with a deadline, scraping and parsing
``/metrics``, and the load driver. It imports nothing from ``tests``, ``examples`` or
``bench``; they import it (installed editable into the test venv by ``scripts/bootstrap.sh``).

    from wsgiscope_harness.processes import Collector, Server, Command, free_port
    from wsgiscope_harness.waiting import wait_for, poll_until
    from wsgiscope_harness.metrics import scrape
    from wsgiscope_harness.load import Request, run_load
"""
