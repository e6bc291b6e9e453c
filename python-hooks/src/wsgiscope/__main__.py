"""``python -m wsgiscope --help`` (the options) and ``python -m wsgiscope check`` (the env, then
whether the collector answers at the configured URL, and its version)."""

from __future__ import annotations

import http.client
import json
import sys
import warnings
from typing import Mapping, NamedTuple, Optional, Sequence
from urllib.parse import urlsplit

from ._version import __version__
from .config import Config, describe_options

USAGE = f"""wsgiscope {__version__}: measures the requests of a WSGI server.

usage: python -m wsgiscope [--help | check]

  wrap your app:   application = wsgiscope.wrap(application, service_name="shop")
  gunicorn:        gunicorn -c python:wsgiscope.gunicorn app:app
  check:           validate the WSGISCOPE_* variables of this environment (exit 2 if bad), then
                   ask the collector at WSGISCOPE_COLLECTOR_URL for /healthz (exit 1 if it
                   does not answer as a wsgiscope collector)

Options are keyword arguments of wrap() or environment variables (keywords win):
"""


class Health(NamedTuple):
    """What ``check`` learnt from the collector: whether it answers, and a sentence saying so."""

    ok: bool
    sentence: str


def healthz_url(collector_url: str) -> str:
    """``/healthz`` beside the ingest path: ``http://h:9464/v1/batches`` → ``http://h:9464/healthz``."""
    parts = urlsplit(collector_url)
    path = parts.path.rstrip("/")
    if path.endswith("/v1/batches"):
        path = path[: -len("/v1/batches")]
    host = parts.netloc.rpartition("@")[2]  # never print credentials
    return f"{parts.scheme}://{host}{path}/healthz"


def probe_collector(collector_url: str, timeout_s: float) -> Health:
    """GET the collector's ``/healthz`` once (no proxy, like the shim's transport); never raises."""
    url = healthz_url(collector_url)
    parts = urlsplit(url)
    try:
        conn: http.client.HTTPConnection
        host, port = parts.hostname or "", parts.port
        if parts.scheme == "https":
            conn = http.client.HTTPSConnection(host, port, timeout=timeout_s)
        else:
            conn = http.client.HTTPConnection(host, port, timeout=timeout_s)
        try:
            conn.request("GET", parts.path, headers={"Accept": "application/json"})
            answer = conn.getresponse()
            status, body = answer.status, answer.read(64 * 1024)
        finally:
            conn.close()
    except (OSError, http.client.HTTPException, ValueError) as exc:
        reason = str(exc) or type(exc).__name__
        return Health(False, f"no collector answers at {url} ({reason}); start one with "
                             "`npx wsgiscope-collector --port 9464` or set WSGISCOPE_COLLECTOR_URL "
                             "to where it listens")
    try:
        health = json.loads(body)
    except ValueError:
        health = None
    if status != 200 or not isinstance(health, dict) or health.get("status") != "ok":
        return Health(False, f"{url} answered HTTP {status} but not as a wsgiscope collector "
                             f"(expected JSON with \"status\": \"ok\"); is WSGISCOPE_COLLECTOR_URL "
                             "the collector's address?")
    version = health.get("version")
    if not isinstance(version, str):
        return Health(True, f"the collector at {url} answers (it does not report its version: "
                            "a wsgiscope-collector older than this check)")
    return Health(True, f"the collector at {url} answers: wsgiscope-collector {version}")


def check(environ: Optional[Mapping[str, str]] = None) -> int:
    """Validate the configuration (exit 2 if bad), then probe the collector (exit 1 if down)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        config = Config.load(environ)
    if caught:
        for warning in caught:
            print(str(warning.message), file=sys.stderr)
        return 2
    print(f"wsgiscope {__version__} configuration is valid: {config!r}")
    health = probe_collector(config.collector_url, config.send_timeout_s)
    if not health.ok:
        print(f"wsgiscope: {health.sentence}", file=sys.stderr)
        return 1
    print(health.sentence)
    return 0


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in ("-h", "--help", "help"):
        print(USAGE)
        print(describe_options())
        return 0
    if args[0] == "check":
        return check()
    print(f"wsgiscope: unknown command {args[0]!r}; try --help", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
