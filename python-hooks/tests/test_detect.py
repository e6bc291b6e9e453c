"""Server detection, one case per server, and configured overrides."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from wsgiscope.detect import ServerInfo, detect, distribution_version, with_overrides


@pytest.mark.parametrize(
    ("environ", "modules", "expected"),
    [
        ({"SERVER_SOFTWARE": "WSGIServer/0.2 CPython/3.11.7"}, {},
         ServerInfo("wsgiref", "0.2", "", 1, 1, "detected")),
        ({"SERVER_SOFTWARE": "gunicorn/23.0.0"}, {}, ServerInfo("gunicorn", "23.0.0")),
        ({"SERVER_SOFTWARE": "waitress"}, {},
         ServerInfo("waitress", distribution_version("waitress"), "threads", None, 1)),
        ({"SERVER_SOFTWARE": "Cheroot/10.0.1 Server"}, {},
         ServerInfo("cheroot", "10.0.1", "threads", None, 1)),
        ({"meinheld.client": object()}, {"meinheld.server": SimpleNamespace()},
         ServerInfo("meinheld", distribution_version("meinheld"), "greenlet", 1, 1, "detected",
                    False)),
        ({}, {"bjoern": SimpleNamespace(__version__="3.2.2")},
         ServerInfo("bjoern", "3.2.2", "event-loop", 1, 1, "detected", False)),
        ({}, {"uwsgi": SimpleNamespace(opt={"threads": b"4"}, cores=4, numproc=3,
                                       version=b"2.0.31")},
         ServerInfo("uwsgi", "2.0.31", "threads", 4, 3, "detected")),
        ({}, {"uwsgi": SimpleNamespace(opt={"enable-threads": True}, cores=1, numproc=2,
                                       version=b"2.0.31")},
         ServerInfo("uwsgi", "2.0.31", "processes", 1, 2, "detected")),
        ({}, {"uwsgi": SimpleNamespace(opt={"threads": b"4", "processes": b"2"}, numproc=2,
                                       version=b"2.0.28")},
         ServerInfo("uwsgi", "2.0.28", "threads", 4, 2, "detected")),
        ({}, {"uwsgi": SimpleNamespace(opt={"gevent": b"100"}, numproc=1, version=b"2.0.28")},
         ServerInfo("uwsgi", "2.0.28", "gevent", 100, 1, "detected", False)),
        ({"mod_wsgi.version": (5, 0, 0), "mod_wsgi.process_group": "app"},
         {"mod_wsgi": SimpleNamespace(threads_per_process=15, maximum_processes=3)},
         ServerInfo("mod_wsgi", "5.0.0", "daemon", 15, 3, "detected")),
        ({}, {"mod_wsgi": SimpleNamespace(version=(6, 1, 1), threads_per_process=4,
                                          maximum_processes=2, process_group="grp")},
         ServerInfo("mod_wsgi", "6.1.1", "daemon", 4, 2, "detected")),
        ({"SERVER_SOFTWARE": "mystery/1"}, {}, ServerInfo("unknown")),
        ({}, {}, ServerInfo("unknown")),
    ],
    ids=["wsgiref", "gunicorn-env-only", "waitress", "cheroot", "meinheld", "bjoern",
         "uwsgi-cores", "uwsgi-processes", "uwsgi-threads", "uwsgi-gevent", "mod_wsgi-daemon",
         "mod_wsgi-module-only", "unknown", "empty"],
)
def test_detects_server(environ: dict[str, Any], modules: dict[str, Any],
                        expected: ServerInfo) -> None:
    assert detect(environ, modules) == expected


def test_configured_capacity_wins_and_says_so() -> None:
    info = with_overrides(ServerInfo("waitress"), None, 8, None)
    assert (info.capacity_threads, info.capacity_source) == (8, "configured")


def test_unknown_capacity_defaults_to_one() -> None:
    info = with_overrides(ServerInfo("waitress"), "custom", None, 4)
    assert (info.server, info.capacity_threads, info.capacity_processes,
            info.capacity_source) == ("custom", 1, 4, "default")


def test_a_broken_detector_input_does_not_raise() -> None:
    assert detect({}, {"uwsgi": SimpleNamespace(opt=None)}).server in ("uwsgi", "unknown")


def test_version_of_a_missing_distribution_is_empty() -> None:
    assert distribution_version("no-such-wsgi-server-dist") == ""
