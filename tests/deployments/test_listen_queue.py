"""The listen queue is visible by default: gunicorn's sync worker busy with one long request,
connections waiting in the kernel's accept queue show on ``wsgi_listen_queue_connections``
(the shim reads ``TCP_INFO`` on the listening socket the worker holds, as gunicorn itself does),
with the queue's limit (gunicorn's ``--backlog``, 2048 by default).

And a configured capacity that contradicts the detected one: the configured one wins, and
``wsgi_worker_info`` says both."""

from __future__ import annotations

import socket
import threading
import urllib.request
from typing import Any, Callable, List

from wsgiscope_harness.metrics import Scrape, scrape
from wsgiscope_harness.processes import Collector
from wsgiscope_harness.waiting import poll_until

from tests.deployments.deploy import ALL, Deployment

WAITING = 5


def one(name: str) -> Deployment:
    return next(d for d in ALL if d.name == name and d.framework == "flask")


def test_connections_waiting_to_be_accepted_are_seen(collector: Collector,
                                                     serve: Callable[..., Any]) -> None:
    deployment = one("gunicorn-sync")
    server = serve(deployment, collector.url)
    urllib.request.urlopen(f"{server.url}/", timeout=10).read()  # the shim starts in each worker
    busy = [threading.Thread(target=lambda: urllib.request.urlopen(
        f"{server.url}/sleep?ms=5000", timeout=30).read()) for _ in range(2)]
    for thread in busy:
        thread.start()
    waiting: List[socket.socket] = []
    try:
        for _ in range(WAITING):
            waiting.append(socket.create_connection(("127.0.0.1", server.port), timeout=5))

        def queued(s: Scrape) -> bool:
            return s.total("wsgi_listen_queue_connections", service_name="flaskapp") >= WAITING

        s = poll_until(lambda: scrape(collector.url), queued, timeout_s=4.5)
        assert s.total("wsgi_listen_queue_connections", service_name="flaskapp") >= WAITING, (
            s.select("wsgi_listen_queue_connections"))
        limits = {x.labels["address"]: x.value
                  for x in s.select("wsgi_listen_queue_limit_connections")}
        assert limits == {f"127.0.0.1:{server.port}": 2048.0}, limits
    finally:
        for sock in waiting:
            sock.close()
        for thread in busy:
            thread.join(timeout=30)


def test_configured_capacity_wins_and_the_detected_one_is_shown(
        collector: Collector, serve: Callable[..., Any]) -> None:
    deployment = one("gunicorn-gthread")
    server = serve(deployment, collector.url, env={"WSGISCOPE_CAPACITY_THREADS": "16"})
    for _ in range(4):
        urllib.request.urlopen(f"{server.url}/", timeout=10).read()

    def seen(s: Scrape) -> bool:
        return bool(s.select("wsgi_worker_info", service_name="flaskapp"))

    s = poll_until(lambda: scrape(collector.url), seen, timeout_s=20)
    infos = s.select("wsgi_worker_info", service_name="flaskapp")
    assert infos and all((i.labels["capacity_source"], i.labels["detected_capacity"]) ==
                         ("configured", "4") for i in infos), [i.labels for i in infos]
    assert set(s.by_worker("wsgi_worker_threads", service_name="flaskapp").values()) == {16.0}
