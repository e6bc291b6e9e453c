"""Security defaults of the real collector: loopback bind, ingest and read tokens, and label
values escaped in the exposition (parsed back by prometheus_client and checked by promtool)."""

from __future__ import annotations

import queue
import subprocess
import threading
from typing import Optional

import pytest
from prometheus_client.openmetrics.parser import text_string_to_metric_families as openmetrics_families
from prometheus_client.parser import text_string_to_metric_families
from wsgiscope_harness.processes import COLLECTOR_CLI, LISTENING, REPO_ROOT, CollectorFactory, stop_process_group

from .ingest_client import batch_body, get, post
from .vectors import valid

NASTY = ['say "hi"', "back\\slash", "new\nline", "tab\tand\r", "é☃🦄 ü", "\\n literal", 'end\\', "{a=\"b\"}"]


def test_binds_loopback_unless_told_otherwise() -> None:
    process = subprocess.Popen(["node", str(COLLECTOR_CLI), "--port", "0"], cwd=REPO_ROOT, stdout=subprocess.PIPE,
                               stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL, start_new_session=True)
    stdout = process.stdout
    assert stdout is not None
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: lines.put(stdout.readline().decode()), daemon=True).start()
    try:
        match = LISTENING.search(lines.get(timeout=20))
        assert match is not None and match.group(1) == "http://127.0.0.1"
    finally:
        assert stop_process_group(process) == 0


@pytest.mark.parametrize(("authorization", "status"), [
    (None, 401), ("Bearer", 401), ("Bearer wrong", 401), ("Bearer s3cret-but-longer", 401), ("Basic czNjcmV0", 401),
    ("Bearer s3cret", 202), ("bearer   s3cret ", 202),
])
def test_ingest_token_is_required_when_configured(
        start_collector: CollectorFactory, authorization: Optional[str], status: int) -> None:
    collector = start_collector(TOKEN="s3cret")
    headers = {} if authorization is None else {"Authorization": authorization}
    answer = post(collector.url, batch_body(valid("batch-basic")), headers)
    assert answer.status == status, answer
    if status == 401:
        assert answer.headers["www-authenticate"] == 'Bearer realm="wsgiscope"' and answer.json()["error"]


def test_metrics_and_live_page_are_open_by_default_and_closed_by_a_read_token(
        start_collector: CollectorFactory) -> None:
    open_collector = start_collector()
    assert get(open_collector.url, "/metrics").status == 200
    closed = start_collector(READ_TOKEN="reader")
    assert get(closed.url, "/metrics").status == 401
    assert get(closed.url, "/").status in (401, 404)  # 404 only while the live page is not built in
    assert get(closed.url, "/metrics", {"Authorization": "Bearer reader"}).status == 200
    assert get(closed.url, "/healthz").status == 200  # probes need no token


def test_label_values_round_trip_through_the_exposition(start_collector: CollectorFactory) -> None:
    collector = start_collector(ROUTES="true")
    for n, nasty in enumerate(NASTY):
        batch = valid("batch-with-routes", worker=f"w\"{n}\\\n", seq=n, service_name=nasty)
        batch["resource"]["server"] = nasty
        batch["requests"]["route"] = [nasty] * len(batch["requests"]["status"])
        answer = post(collector.url, batch_body(batch))
        assert answer.status == 202, answer
    text = get(collector.url, "/metrics").body.decode()
    check = subprocess.run(["promtool", "check", "metrics"], input=text.encode(), capture_output=True,
                           timeout=60, check=False)
    assert check.returncode == 0, (check.stdout.decode()[-1500:], check.stderr.decode()[-1500:])
    openmetrics = get(collector.url, "/metrics", {"Accept": "application/openmetrics-text; version=1.0.0"})
    for parse, body in ((text_string_to_metric_families, text),
                        (openmetrics_families, openmetrics.body.decode())):
        seen = {tuple(s.labels.get(k) for k in ("service_name", "server", "http_route", "worker"))
                for family in parse(body) for s in family.samples}
        for n, nasty in enumerate(NASTY):
            assert (nasty, nasty, nasty, None) in seen, (parse.__module__, nasty)
            assert (nasty, nasty, None, f"w\"{n}\\\n") in seen, (parse.__module__, nasty)
