"""Beyond one host: three collectors, one Prometheus, every dashboard query across them.

Three "hosts" on this machine, each with a collector of its own (one collector per host or pod,
docs/scaling.md) fed by real servers whose shims report ``WSGISCOPE_HOST``:

    host-a: shop   on gunicorn gthread 2 x 2
    host-b: shop   on gunicorn gthread 1 x 4, and search on waitress 1 x 4
    host-c: search on gunicorn sync    3 x 1

One real Prometheus scrapes the three collectors (the shipped job with three targets). Each
server completes a known number of requests (exact status counts on the client side), then
holds one long request in flight. Everything is then evaluated at one fixed time T, after every
target has been scraped past T, so that every query sees the same data:

* ground truth: request counts by service and status equal the sums over the hosts of what the
  clients completed; worker processes, capacity and requests in flight per host are exact;
* every panel query of both dashboards, "All" selected, equals the same query evaluated on each
  collector's series alone (``instance="…"`` added to every selector) combined the way its
  aggregation says — sums and counts add up, ``max`` is the maximum, a ratio is the ratio of the
  sums, a quantile lies between the hosts' quantiles, a bare selector is the disjoint union —
  so nothing is counted twice and no host is dropped; and each host alone gives every query data;
* the per-host breakdown: the Host variable lists the three hosts, the overview's per-host
  panels give one line per (server, host) with the exact capacities, workers and requests in
  flight, the request rate per collector one line per (server, target), and on the workers
  dashboard selecting one host selects only that host's workers.
"""

from __future__ import annotations

import json
import math
import re
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from typing import Callable, Dict, FrozenSet, Iterator, List, Mapping, Optional, Sequence, Tuple

import pytest
from wsgiscope_harness.load import LoadResult, Request, run_load, send_one
from wsgiscope_harness.processes import Collector, Server
from wsgiscope_harness.waiting import poll_until, wait_for

from .dashboard_queries import PanelQuery, as_regex, load_dashboards, panel_queries, substitute
from .panel_load import PANEL_MIX
from .prometheus_server import Prometheus, render_test_config

JOB = "wsgiscope-collector"
DASHBOARDS = load_dashboards()
QUERIES = panel_queries(DASHBOARDS)
ALL = {"service": ".*", "server": ".*", "host": ".*", "worker": ".*"}
HOSTS = ("host-a", "host-b", "host-c")

HELD = Request("GET", "/sleep?ms=25000")

Labels = FrozenSet[Tuple[str, str]]
Vector = Dict[Labels, float]


@dataclass(frozen=True)
class Deployment:
    host: str
    service: str
    mode: str
    server: str
    workers: int
    threads: int
    requests: int


DEPLOYMENTS = (
    Deployment("host-a", "shop", "gunicorn_gthread", "gunicorn", workers=2, threads=2, requests=70),
    Deployment("host-b", "shop", "gunicorn_gthread", "gunicorn", workers=1, threads=4, requests=42),
    Deployment("host-b", "search", "waitress", "waitress", workers=1, threads=4, requests=35),
    Deployment("host-c", "search", "gunicorn_sync", "gunicorn", workers=3, threads=1, requests=56),
)


@dataclass
class Fleet:
    collectors: Dict[str, Collector]
    servers: List[Tuple[Deployment, Server]]
    loads: List[Tuple[Deployment, LoadResult]]
    prometheus: Prometheus
    #: the Prometheus target (instance label) of each host's collector
    instances: Dict[str, str]
    #: the evaluation time of every query
    at: float

    def eval(self, expr: str) -> Vector:
        return instant(self.prometheus, expr, self.at)


def labels(**pairs: str) -> Labels:
    return frozenset(pairs.items())


def instant(prometheus: Prometheus, expr: str, at: float) -> Vector:
    """An instant query at the unix time ``at``: {label set: value}."""
    params = urllib.parse.urlencode({"query": expr, "time": f"{at:.3f}"})
    try:
        with urllib.request.urlopen(f"{prometheus.url}/api/v1/query?{params}", timeout=10) as answer:
            body = json.load(answer)
    except urllib.error.HTTPError as exc:  # 400/422 carry the error as JSON
        body = json.loads(exc.read() or b"{}")
    if body.get("status") != "success" or body["data"]["resultType"] != "vector":
        raise AssertionError(f"{expr}: {body.get('errorType')}: {body.get('error')}")
    return {frozenset(s["metric"].items()): float(s["value"][1]) for s in body["data"]["result"]}


def config_with_targets(addresses: Sequence[str]) -> str:
    """The shipped prometheus.yml (rendered for tests) with one target per collector."""
    text = render_test_config(addresses[0])
    line = next(line for line in text.splitlines() if line.strip() == f"- {addresses[0]}")
    indent = line[: len(line) - len(line.lstrip())]
    return text.replace(line, "\n".join(f"{indent}- {address}" for address in addresses))


def hold(server: Server, stop: threading.Event) -> None:
    """One long request in flight (its outcome does not matter: the server may be stopped first)."""
    try:
        send_one("127.0.0.1", server.port, HELD, timeout_s=40)
    except Exception:  # the server is stopped under it at teardown
        stop.set()


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fleet]:
    workdir = tmp_path_factory.mktemp("fleet")
    collectors: Dict[str, Collector] = {}
    servers: List[Tuple[Deployment, Server]] = []
    started: Optional[Prometheus] = None
    try:
        for host in HOSTS:
            folder = workdir / host
            folder.mkdir()
            collectors[host] = Collector(folder).start()
        for d in DEPLOYMENTS:
            env = {"WSGISCOPE_SERVICE_NAME": d.service, "WSGISCOPE_HOST": d.host}
            server = Server(d.mode, workdir / d.host, collectors[d.host].url,
                            workers=d.workers, threads=d.threads, env=env)
            servers.append((d, server.start()))
        instances = {host: f"127.0.0.1:{c.port}" for host, c in collectors.items()}
        prometheus = started = Prometheus(workdir, config_with_targets([instances[h] for h in HOSTS])).start()
        up = poll_until(lambda: prometheus.query(f'up{{job="{JOB}"}} == 1'), lambda r: len(r) == len(HOSTS), 20)
        assert len(up) == len(HOSTS), up

        loads = []
        for d, server in servers:
            load = run_load(server.url, PANEL_MIX, concurrency=2, max_requests=d.requests)
            assert not load.errors and len(load.statuses) == d.requests, (d, load.errors[:5])
            loads.append((d, load))
        expected = {instances[h]: float(sum(len(load.statuses) for d, load in loads if d.host == h)) for h in HOSTS}

        def per_instance() -> Dict[str, float]:
            seen = prometheus.query("sum by (instance) (http_server_request_duration_seconds_count)")
            return {s["metric"]["instance"]: float(s["value"][1]) for s in seen}

        seen = poll_until(per_instance, lambda v: v == expected, timeout_s=20)
        assert seen == expected, f"Prometheus saw {seen} requests per collector, the clients completed {expected}"

        # One long request in flight per server, seen by Prometheus, then time stands still at T.
        stop = threading.Event()
        for _, server in servers:
            threading.Thread(target=hold, args=(server, stop), daemon=True).start()
        in_flight = {h: float(sum(1 for d in DEPLOYMENTS if d.host == h)) for h in HOSTS}

        def flying() -> Dict[str, float]:
            seen = prometheus.query("sum by (host) (http_server_active_requests)")
            return {s["metric"]["host"]: float(s["value"][1]) for s in seen}

        seen_flying = poll_until(flying, lambda v: v == in_flight, timeout_s=15)
        assert seen_flying == in_flight and not stop.is_set(), seen_flying
        at = time.time()
        # Every target scraped after T: nothing at or before T can still arrive.
        wait_for(lambda: prometheus.scalar(f'min(timestamp(up{{job="{JOB}"}}))') > at + 0.5, 10,
                 "every collector scraped after the evaluation time")
        yield Fleet(collectors, servers, loads, prometheus, instances, at)
    finally:
        if started is not None:
            started.stop()
        for _, server in servers:
            server.stop()
        for collector in collectors.values():
            collector.stop()


# -- ground truth -------------------------------------------------------------------------------


def test_request_counts_are_the_sums_over_hosts_by_service_and_status(fleet: Fleet) -> None:
    expected: Dict[Labels, float] = {}
    for d, load in fleet.loads:
        for status, n in load.status_counts().items():
            key = labels(service_name=d.service, http_response_status_code=str(status))
            expected[key] = expected.get(key, 0.0) + n
    assert {s for k in expected for s in k if s[0] == "http_response_status_code"} >= {
        ("http_response_status_code", "200"), ("http_response_status_code", "500")}
    seen = fleet.eval("sum by (service_name, http_response_status_code) (http_server_request_duration_seconds_count)")
    assert seen == expected
    total = sum(d.requests for d in DEPLOYMENTS)
    assert fleet.eval("sum(http_server_request_duration_seconds_count)") == {frozenset(): float(total)}


def test_workers_capacity_and_busy_threads_per_host_are_exact(fleet: Fleet) -> None:
    def per(key: Callable[[Deployment], Labels], value: Callable[[Deployment], float]) -> Vector:
        out: Vector = {}
        for d in DEPLOYMENTS:
            out[key(d)] = out.get(key(d), 0.0) + value(d)
        return out

    by_host: Callable[[Deployment], Labels] = lambda d: labels(host=d.host)  # noqa: E731
    assert fleet.eval("count by (host) (wsgi_worker_info)") == per(by_host, lambda d: d.workers)
    assert fleet.eval("sum by (host) (wsgi_worker_threads)") == per(by_host, lambda d: d.workers * d.threads)
    # One long request held per server: busy threads summed over the workers of all hosts.
    assert fleet.eval("sum by (host) (wsgi_worker_busy_threads)") == per(by_host, lambda d: 1)
    assert fleet.eval("sum(wsgi_worker_busy_threads)") == {frozenset(): float(len(DEPLOYMENTS))}
    assert fleet.eval("count(up == 1)") == {frozenset(): float(len(HOSTS))}


def test_every_worker_series_names_its_host_and_the_worker_label_agrees(fleet: Fleet) -> None:
    info = fleet.eval("wsgi_worker_info")
    assert len(info) == sum(d.workers for d in DEPLOYMENTS)
    for series in info:
        found = dict(series)
        assert found["host"] in HOSTS and found["worker"].startswith(f"{found['host']}:"), found
        # each host's workers come through that host's collector only
        assert found["instance"] == fleet.instances[found["host"]], found


# -- every dashboard query, across the three collectors -----------------------------------------


def top_level_ratio(expr: str) -> List[str]:
    """``a / b`` → [a, b] when the division is outside every bracket; else [expr]."""
    parts: List[str] = []
    depth, start, quoted, skip = 0, 0, False, False
    for i, c in enumerate(expr):
        if skip:
            skip = False
        elif quoted:
            skip, quoted = c == "\\", c != '"'
        elif c == '"':
            quoted = True
        elif c in "([{":
            depth += 1
        elif c in ")]}":
            depth -= 1
        elif c == "/" and depth == 0:
            parts.append(expr[start:i].strip())
            start = i + 1
    return [*parts, expr[start:].strip()]


def kind(operand: str) -> str:
    if operand.startswith("histogram_quantile("):
        return "quantile"
    if re.match(r"^\(?(sum|count) by \(", operand):  # "(sum … or sum … * 0)": the error ratio
        return "additive"
    if operand.startswith("max by ("):
        return "max"
    if re.match(r"^[a-z_:]+\{[^}]*\}$", operand):
        return "selector"
    raise AssertionError(f"the test does not know how this query aggregates across hosts: {operand}")


def on_instance(expr: str, instance: str) -> str:
    """``expr`` reading one collector's series only: ``instance="…"`` in every selector."""
    restricted, n = re.subn(r"([a-z_:]+)\{", rf'\1{{instance="{instance}", ', expr)
    assert n > 0, expr
    return restricted


def same(a: float, b: float) -> bool:
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    return a == b or math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)


def combined(fleet: Fleet, operand: str, how: str) -> Vector:
    """What ``operand`` over all collectors must be, from its value on each collector alone."""
    out: Vector = {}
    for host in HOSTS:
        for key, value in fleet.eval(on_instance(operand, fleet.instances[host])).items():
            if how == "additive":
                out[key] = out.get(key, 0.0) + value
            elif how == "max":
                out[key] = max(out.get(key, -math.inf), value)
            else:  # selector: one series per collector, the instance label tells them apart
                assert key not in out, key
                out[key] = value
    return out


def ratio(top: float, bottom: float) -> float:
    """PromQL's float division: x / 0 is ±Inf, 0 / 0 is NaN."""
    if bottom != 0:
        return top / bottom
    return math.copysign(math.inf, top) if top else math.nan


def assert_same_vector(seen: Vector, expected: Vector, what: str) -> None:
    assert set(seen) == set(expected), f"{what}: label sets differ: {set(seen) ^ set(expected)}"
    wrong = {tuple(sorted(k)): (seen[k], expected[k]) for k in seen if not same(seen[k], expected[k])}
    assert not wrong, f"{what}: (all hosts, combined from each host) differ: {wrong}"


@pytest.mark.parametrize("query", QUERIES, ids=lambda q: q.id)
def test_panel_query_aggregates_across_the_three_collectors(fleet: Fleet, query: PanelQuery) -> None:
    expr = substitute(query.expr, ALL)
    seen = fleet.eval(expr)
    assert seen, f"no series for {query.panel!r}: {expr}"
    for host in HOSTS:
        alone = fleet.eval(on_instance(expr, fleet.instances[host]))
        assert alone, f"{query.panel!r} shows nothing from {host}'s collector alone: {expr}"

    operands = top_level_ratio(expr)
    if len(operands) == 2:
        numerator, denominator = operands
        assert kind(numerator) == kind(denominator) == "additive", expr
        top, bottom = combined(fleet, numerator, "additive"), combined(fleet, denominator, "additive")
        expected = {k: ratio(top[k], bottom[k]) for k in top.keys() & bottom.keys()}
        assert_same_vector(seen, expected, query.id)
        return
    assert len(operands) == 1, expr
    how = kind(expr)
    if how != "quantile":
        assert_same_vector(seen, combined(fleet, expr, how), query.id)
        return
    # A quantile of summed buckets lies between the quantiles of the parts (same bucket bounds:
    # the interpolated distribution of the sum is a weighted mean of the parts').
    parts = [fleet.eval(on_instance(expr, fleet.instances[host])) for host in HOSTS]
    assert set(seen) == {key for part in parts for key in part}, query.id
    for key, value in seen.items():
        finite = [p[key] for p in parts if key in p and math.isfinite(p[key])]
        if not finite:
            assert not math.isfinite(value), (query.id, key, value)
            continue
        low, high = min(finite), max(finite)
        slack = 1e-9 * max(1.0, abs(high))
        assert low - slack <= value <= high + slack, f"{query.id} {dict(key)}: {value} outside [{low}, {high}]"


def test_every_panel_query_is_checked() -> None:
    kinds = {q.id: [kind(o) for o in top_level_ratio(substitute(q.expr, ALL))] for q in QUERIES}
    assert len(kinds) == len(QUERIES) >= 30
    assert {k for ks in kinds.values() for k in ks} == {"additive", "max", "quantile", "selector"}


# -- the per-host breakdown ---------------------------------------------------------------------


def panel(dashboard: str, title: str, ref_id: str = "A") -> PanelQuery:
    found = [q for q in QUERIES if q.dashboard == dashboard and q.panel == title and q.ref_id == ref_id]
    assert len(found) == 1, (dashboard, title, ref_id)
    return found[0]


def per_server_host(value: Callable[[Deployment], float]) -> Vector:
    out: Vector = {}
    for d in DEPLOYMENTS:
        key = labels(server=d.server, host=d.host)
        out[key] = out.get(key, 0.0) + value(d)
    return out


def overview(title: str, ref_id: str = "A", values: Mapping[str, str] = ALL) -> str:
    return substitute(panel("wsgiscope-overview", title, ref_id).expr, values)


def test_the_host_variable_lists_the_three_hosts(fleet: Fleet) -> None:
    variable = next(v for v in DASHBOARDS["wsgiscope-workers"]["templating"]["list"] if v["name"] == "host")
    match = re.match(r"^label_values\((?P<selector>.+), host\)$", variable["query"])
    assert match is not None, variable["query"]
    assert fleet.prometheus.label_values("host", substitute(match["selector"], ALL)) == list(HOSTS)


def test_overview_per_host_panels_give_one_exact_line_per_server_and_host(fleet: Fleet) -> None:
    assert fleet.eval(overview("Worker processes per host")) == per_server_host(lambda d: d.workers)
    capacity = per_server_host(lambda d: d.workers * d.threads)
    assert fleet.eval(overview("Busy threads vs capacity per host", "C")) == capacity
    assert fleet.eval(overview("Busy threads vs capacity per host", "B")) == per_server_host(lambda d: 1)
    for title in ("Utilization per host", "Process CPU per host", "Resident memory per host"):
        seen = fleet.eval(overview(title))
        assert set(seen) == set(per_server_host(lambda d: 1)), title
        # CPU may be 0: waitress's shim starts at its first request, and its first scrape can
        # follow the whole short load (the counter then stays flat over the window).
        assert all(v >= 0 and math.isfinite(v) for v in seen.values()), (title, seen)
        assert title == "Process CPU per host" or all(v > 0 for v in seen.values()), (title, seen)
    busy = fleet.eval(overview("Busy threads vs capacity per host", "A"))
    utilization = fleet.eval(overview("Utilization per host"))
    for key, value in utilization.items():
        assert same(value, busy[key] / capacity[key]) and value <= 1.0, (dict(key), value)


def test_overview_request_rate_per_collector_adds_up_to_the_request_rate(fleet: Fleet) -> None:
    per_target = fleet.eval(overview("Request rate per collector"))
    expected_keys = {labels(server=d.server, instance=fleet.instances[d.host]) for d in DEPLOYMENTS}
    assert set(per_target) == expected_keys
    per_server = fleet.eval(overview("Request rate"))
    for server in {d.server for d in DEPLOYMENTS}:
        parts = sum(v for k, v in per_target.items() if ("server", server) in k)
        assert same(per_server[labels(server=server)], parts), server
    in_flight = fleet.eval(overview("Busy threads vs capacity", "B"))
    assert in_flight == {labels(server="gunicorn"): 3.0, labels(server="waitress"): 1.0}


def test_selecting_one_host_on_the_workers_dashboard_selects_only_its_workers(fleet: Fleet) -> None:
    host = "host-b"
    workers = fleet.prometheus.label_values(
        "worker", f'wsgi_worker_info{{service_name=~".*", server=~".*", host=~"{as_regex([host])}"}}')
    assert len(workers) == sum(d.workers for d in DEPLOYMENTS if d.host == host)
    assert all(w.startswith(f"{host}:") for w in workers), workers
    values = {**ALL, "host": as_regex([host]), "worker": ".*"}
    per_worker = [q for q in QUERIES if q.dashboard == "wsgiscope-workers" and "$host" in q.expr]
    assert len(per_worker) >= 10
    for query in per_worker:
        seen = fleet.eval(substitute(query.expr, values))
        assert seen, query.id
        for key in seen:
            found = dict(key)
            if "worker" in found:
                assert found["worker"] in workers, (query.id, found)
            if "host" in found:
                assert found["host"] == host, (query.id, found)
