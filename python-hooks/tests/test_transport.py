"""HTTP transport against a real receiver on port 0; it never raises."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator

import pytest
from support import SCHEMA_PATH, Collector

from wsgiscope.transport import HttpTransport, Outcome, classify


@pytest.fixture
def collector() -> Iterator[Collector]:
    receiver = Collector()
    yield receiver
    receiver.close()


@pytest.mark.parametrize(
    ("status", "outcome"),
    [(200, Outcome.DELIVERED), (202, Outcome.DELIVERED), (400, Outcome.REFUSED),
     (401, Outcome.REFUSED), (413, Outcome.REFUSED), (429, Outcome.RETRY),
     (500, Outcome.RETRY), (503, Outcome.RETRY)],
)
def test_answers_are_classified(status: int, outcome: Outcome) -> None:
    assert classify(status) is outcome


@pytest.mark.parametrize("use_gzip", [False, True])
def test_delivers_json_plain_or_gzipped(collector: Collector, use_gzip: bool) -> None:
    body = (SCHEMA_PATH.parents[1] / "vectors" / "valid" / "batch-basic.json").read_bytes()
    transport = HttpTransport(collector.url + "/v1/batches", token="t", gzip=use_gzip)
    assert transport.send(body, 2.0) is Outcome.DELIVERED
    assert collector.batches == [json.loads(body)]


def test_server_error_means_retry(collector: Collector) -> None:
    collector.status = 503
    assert HttpTransport(collector.url).send(b"{}", 2.0) is Outcome.RETRY


def test_unreachable_collector_means_retry_without_raising() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    assert HttpTransport(f"http://127.0.0.1:{port}").send(b"{}", 0.5) is Outcome.RETRY
