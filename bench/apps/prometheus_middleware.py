"""The hello-world app in the prometheus_client middleware that bench/shim_overhead.py compares
against (a Histogram and a Counter with method and status labels), to serve from a real server:

    .venv/bin/python bench/server_throughput.py --variant bare --variant shim \
        --variant bare:app=bench.apps.prometheus_middleware:application
"""

from bench.shim_overhead import make_prometheus

application = make_prometheus()
