"""Bad input to the real collector, fuzzed with hypothesis over HTTP (thousands of cases).

Every fuzzed body gets a 4xx with a JSON message (400s name the field), or a 202 when it is in
fact a valid batch; a valid control batch is sent alongside each case and is always accepted.
Afterwards the process is alive, /metrics parses (prometheus_client and promtool) with finite
values, and it counts exactly the records of the batches that were answered 202.

Cases are derandomized (same examples every run) to keep the gate stable; set
WSGISCOPE_FUZZ_SCALE=10 for a ten times longer, randomized run.
"""

from __future__ import annotations

import gzip
import json
import math
import os
import subprocess
import time
from collections import Counter
from typing import Any, Dict, List

import jsonschema
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from wsgiscope_harness.metrics import scrape
from wsgiscope_harness.processes import CollectorFactory

from .ingest_client import Answer, batch_body, get, post
from .vectors import SCHEMAS, records, valid, valid_names

SCALE = float(os.environ.get("WSGISCOPE_FUZZ_SCALE", "1"))
MAX_BODY_BYTES = 8 * 2**20
VALIDATORS = {version: jsonschema.Draft202012Validator(schema)
              for version, schema in SCHEMAS.items()}


def schema_valid_batch(batch: Any) -> bool:
    """Valid against the schema of the protocol version it names (1 and 2 are accepted)."""
    version = batch.get("protocol_version") if isinstance(batch, dict) else None
    if not isinstance(version, (int, float)) or not math.isfinite(version):
        return False
    validator = VALIDATORS.get(int(version)) if version == int(version) else None  # 2.0 is 2
    return validator is not None and bool(validator.is_valid(batch))
RAW = "__raw_literal__"  # replaced in the JSON text by a literal json.dumps cannot write


def fuzz_settings(examples: int) -> settings:
    return settings(max_examples=max(1, int(examples * SCALE)), derandomize=SCALE == 1, deadline=None,
                    database=None, suppress_health_check=list(HealthCheck))


scalars = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=200),
    st.sampled_from([-1, 0, 2**53 - 1, 2**53, 2**53 + 1, 10**300, -0.0, 0.5, 100, 599, 600, "", "GET", "_OTHER",
                     "a\"b\\c\nd", "\u0000", "\ud800", "é☃🦄", RAW]),
)
json_values = st.recursive(scalars, lambda kids: st.lists(kids, max_size=4) | st.dictionaries(
    st.text(max_size=8), kids, max_size=4), max_leaves=12)
raw_literals = st.sampled_from(["NaN", "Infinity", "-Infinity", "1e400", "-1e400", "0x10", "01", "+1", "undefined"])


@st.composite
def mutated_batch(draw: st.DrawFn) -> Any:
    """A valid vector with one to three values replaced, deleted, added or truncated."""
    batch = valid(draw(st.sampled_from(valid_names())))
    for _ in range(draw(st.integers(1, 3))):
        parent, key = batch, None
        node = batch
        while isinstance(node, (dict, list)) and node and draw(st.integers(0, 3)) > 0:
            keys = list(node) if isinstance(node, dict) else list(range(len(node)))
            parent, key = node, draw(st.sampled_from(keys))
            node = node[key]
        if key is None:
            continue
        action = draw(st.sampled_from(["replace", "replace", "delete", "add", "truncate"]))
        if action == "replace":
            parent[key] = draw(json_values)
        elif action == "delete":
            del parent[key]
        elif action == "add" and isinstance(parent, dict):
            parent[draw(st.text(min_size=1, max_size=12))] = draw(json_values)
        elif action == "truncate" and isinstance(node, list) and node:
            del node[draw(st.integers(0, len(node) - 1)):]
    return batch


def is_refusal(answer: Answer, allowed: tuple = (400,)) -> bool:
    if answer.status not in allowed:
        return False
    body = answer.json()
    if not isinstance(body, dict) or not isinstance(body.get("error"), str) or not body["error"]:
        return False
    return answer.status != 400 or isinstance(body.get("field"), str)


def test_fuzzed_bodies_get_4xx_valid_ones_are_counted_and_the_collector_survives(
        start_collector: CollectorFactory) -> None:
    collector = start_collector(MAX_BODY_BYTES=MAX_BODY_BYTES, MAX_SERIES_PER_METRIC=5000)
    url = collector.url
    accepted_records: List[int] = []
    answers: Counter[int] = Counter()
    controls = iter(range(10**9))

    slowest: List[Any] = [0.0, b""]  # seconds, and the start of that body: to diagnose stalls

    def send(body: bytes, headers: Dict[str, str] | None = None) -> Answer:
        started = time.monotonic()
        answer = post(url, body, headers, timeout_s=60)
        if time.monotonic() - started > slowest[0]:
            slowest[:] = [time.monotonic() - started, body[:120]]
        answers[answer.status] += 1
        if answer.status == 202:
            accepted_records.append(answer.json()["accepted"])
        # Alongside every case, a valid batch from a control worker: always accepted in full.
        n = next(controls)
        control = valid(valid_names()[n % len(valid_names())], worker=f"control:{n}", service_name="control")
        ok = post(url, batch_body(control))
        answers[ok.status] += 1
        assert (ok.status, ok.json()) == (202, {"accepted": records(control), "duplicate": False})
        accepted_records.append(records(control))
        return answer

    @fuzz_settings(1500)
    @given(mutated_batch(), raw_literals)
    def mutations(batch: Any, literal: str) -> None:
        text = json.dumps(batch)
        schema_valid = RAW not in text and schema_valid_batch(batch)
        answer = send(text.replace(json.dumps(RAW), literal).encode())
        assert is_refusal(answer) or (schema_valid and answer.status == 202), (answer, text[:300])

    @fuzz_settings(400)
    @given(st.binary(max_size=3000) | st.text(max_size=500).map(str.encode))
    def garbage(body: bytes) -> None:
        assert is_refusal(send(body)), body[:100]

    @fuzz_settings(60)
    @given(st.integers(1, 1_000_000), st.sampled_from(["[", '{"a":', '{"requests":[']))
    def deep_nesting(depth: int, opener: str) -> None:
        answer = send((opener * depth).encode())
        assert is_refusal(answer, (400, 413)), answer

    @fuzz_settings(12)
    @given(st.sampled_from([0, 1, 99_999, 100_000, 100_001, 250_000]))
    def huge_arrays(length: int) -> None:
        batch = valid("batch-requests-only", worker=f"huge:{length}")
        batch["requests"] = {k: [v[0]] * length for k, v in batch["requests"].items()}
        answer = send(batch_body(batch))
        if length <= 100_000:
            assert (answer.status, answer.json()["accepted"]) == (202, length)
        else:
            assert is_refusal(answer, (400, 413)), answer

    @fuzz_settings(150)
    @given(st.sampled_from(["text/plain", "", "application/jsonx", "application/x-www-form-urlencoded",
                            "multipart/form-data", "application/json; charset=utf-8", "APPLICATION/JSON"]),
           st.sampled_from(["", "identity", "gzip", "br", "deflate", "compress"]))
    def content_types(content_type: str, encoding: str) -> None:
        body = batch_body(valid("batch-basic", worker=f"ct:{content_type}:{encoding}"))
        headers = {"Content-Type": content_type}
        if encoding:
            headers["Content-Encoding"] = encoding
        answer = send(body, headers)
        media_type = content_type.split(";", maxsplit=1)[0].lower()
        if media_type != "application/json" or encoding in ("br", "deflate", "compress"):
            assert is_refusal(answer, (415,)), answer
        else:  # a plain body declared gzip is not gzip; otherwise the same batch again: duplicate
            assert is_refusal(answer) if encoding == "gzip" else answer.status == 202, answer

    stamps = st.integers(0, 2**53 - 1)

    @fuzz_settings(150)
    @given(stamps, stamps, stamps, st.integers(0, 2**20))
    def clock_skew(started: int, sample_time: int, request_start: int, seq: int) -> None:
        """Wall clocks anywhere (far past, far future, samples before the worker started,
        samples going backwards): still a valid batch, counted, never a bad gauge."""
        batch = valid("batch-basic", worker="skewed", seq=seq)
        batch["resource"]["started_unix_us"] = started
        for sample in batch["samples"]:
            sample["time_unix_us"] = sample_time
        batch["requests"]["start_unix_us"] = [request_start] * records(batch)
        answer = send(batch_body(batch))
        assert answer.status == 202, answer

    bombs = [gzip.compress(b"\0" * size, 9) for size in (MAX_BODY_BYTES + 1, 64 * 2**20)]

    @fuzz_settings(40)
    @given(st.sampled_from(range(len(bombs))), st.sampled_from(["bomb", "valid", "truncated"]))
    def gzip_bodies(bomb: int, kind: str) -> None:
        if kind == "bomb":
            body = bombs[bomb]
        else:
            body = gzip.compress(batch_body(valid("batch-basic", worker=f"gz:{bomb}:{kind}")))
            body = body[: len(body) // 2] if kind == "truncated" else body
        answer = send(body, {"Content-Encoding": "gzip"})
        expected = {"bomb": (413,), "truncated": (400,), "valid": (202,)}[kind]
        assert answer.status in expected and (kind == "valid" or is_refusal(answer, expected)), answer

    for case in (mutations, garbage, deep_nesting, huge_arrays, content_types, clock_skew, gzip_bodies):
        case()

    assert collector.process is not None and collector.process.poll() is None, "the collector died"
    assert set(answers) <= {202, 400, 413, 415}, answers
    text = get(url, "/metrics").body.decode()
    check = subprocess.run(["promtool", "check", "metrics"], input=text.encode(), capture_output=True, timeout=60,
                           check=False)
    assert check.returncode == 0, check.stdout.decode()[-2000:] + check.stderr.decode()[-2000:]
    parsed = scrape(url)
    not_finite = [s for s in parsed.samples if not math.isfinite(s.value)]
    assert not_finite == [], not_finite[:5]
    expected = sum(accepted_records)
    assert parsed.total("http_server_request_duration_seconds_count") == expected
    assert parsed.total("wsgiscope_collector_ingested_records_total") == expected
    refused = sum(n for status, n in answers.items() if status >= 400)
    assert parsed.total("wsgiscope_collector_rejected_batches_total") == refused
    print(f"fuzz: {sum(answers.values())} requests, answers {dict(answers)}, {expected} records counted, "
          f"slowest fuzzed answer {slowest[0]:.2f} s to {slowest[1]!r}")
