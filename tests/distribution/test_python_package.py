"""The shim installed as users install it: ``python -m build`` makes a wheel and an sdist from
a copy of ``python-hooks/`` (what a clone has); each, and the folder itself (``pip install
./python-hooks``), goes into a clean venv with ``pip install --no-index`` (no runtime
dependency to fetch), and the installed package, outside the repository, imports, answers
``--help`` and ``check``, and measures a wsgiref app for a real collector."""

from __future__ import annotations

import json
import os
import shutil
import sys
import textwrap
from pathlib import Path
from typing import Dict, Iterator, List, Union

import pytest
from wsgiscope_harness.metrics import scrape
from wsgiscope_harness.processes import Collector, free_port
from wsgiscope_harness.waiting import wait_for

from .tools import REPO_ROOT, collector_version, run

SHIM = REPO_ROOT / "python-hooks"
REQUESTS = 7


@pytest.fixture(scope="module")
def dists(tmp_path_factory: pytest.TempPathFactory) -> Dict[str, Path]:
    """``python -m build`` on a copy of python-hooks/: the wheel, the sdist, and a wheelhouse
    with only the build backend (what pip needs to build the sdist with --no-index)."""
    work = tmp_path_factory.mktemp("dists")
    source = work / "python-hooks"
    shutil.copytree(SHIM, source, ignore=shutil.ignore_patterns(
        "build", "dist", "*.egg-info", "__pycache__", ".*_cache"))
    out = work / "dist"
    # Isolated, as the README says (the backend, setuptools, comes from PyPI into a throwaway env).
    built = run([sys.executable, "-m", "build", "--outdir", out, source], timeout_s=600)
    assert "deprecated" not in built.stdout + built.stderr, built.stdout[-3000:]
    (wheel,) = out.glob("wsgiscope-*-py3-none-any.whl")
    (sdist,) = out.glob("wsgiscope-*.tar.gz")
    wheelhouse = work / "wheelhouse"
    requires = "setuptools>=77"
    assert f'requires = ["{requires}"]' in (SHIM / "pyproject.toml").read_text()
    run([sys.executable, "-m", "pip", "download", "--quiet", "--only-binary", ":all:", "--no-deps",
         "--dest", wheelhouse, requires], timeout_s=300)
    return {"wheel": wheel, "sdist": sdist, "source": source, "wheelhouse": wheelhouse}


def clean_env() -> Dict[str, str]:
    """The caller's environment without anything that would reach the repository's shim."""
    return {k: v for k, v in os.environ.items()
            if not k.startswith(("WSGISCOPE_", "PYTHON", "PIP_", "VIRTUAL_ENV"))}


LIST_DISTRIBUTIONS = ("import importlib.metadata as m, json; "
                      "print(json.dumps(sorted(d.metadata['Name'].lower() for d in m.distributions())))")


# The built wheel, the built sdist, and the README's `pip install ./python-hooks` from a clone.
@pytest.fixture(scope="module", params=["wheel", "sdist", "source"])
def venv(request: pytest.FixtureRequest, dists: Dict[str, Path],
         tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A fresh venv (no pip, nothing installed) with the shim installed from the built wheel, the
    sdist or the source folder by the test venv's pip (``--python``), with no index."""
    home = tmp_path_factory.mktemp(f"venv-{request.param}")
    run([sys.executable, "-m", "venv", "--without-pip", home / "venv"], cwd=home, env=clean_env(),
        timeout_s=300)
    python = home / "venv" / "bin" / "python"
    listing: List[Union[str, Path]] = [python, "-c", LIST_DISTRIBUTIONS]
    assert json.loads(run(listing, cwd=home, env=clean_env()).stdout) == []
    run([sys.executable, "-m", "pip", "--python", python, "install", "--quiet", "--no-index",
         "--find-links", dists["wheelhouse"], dists[request.param]],
        cwd=home, env=clean_env(), timeout_s=300)
    # Exactly one distribution: the shim pulled nothing in (the sdist's build backend stays in
    # pip's throwaway build environment).
    assert json.loads(run(listing, cwd=home, env=clean_env()).stdout) == ["wsgiscope"]
    yield python


def test_installed_shim_declares_no_dependency_and_imports_from_the_venv(venv: Path) -> None:
    probe = textwrap.dedent("""
        import importlib.metadata as m, json, wsgiscope
        print(json.dumps({"file": wsgiscope.__file__, "requires": m.requires("wsgiscope") or [],
                          "wrap": callable(wsgiscope.wrap)}))
    """)
    answer = json.loads(run([venv, "-c", probe], cwd=venv.parents[2], env=clean_env()).stdout)
    assert Path(answer["file"]).is_relative_to(venv.parents[1]), answer["file"]
    assert answer["wrap"] is True
    assert all("extra ==" in line for line in answer["requires"]), answer["requires"]


def test_installed_shim_answers_help_and_checks_a_real_collector(venv: Path,
                                                                  collector: Collector) -> None:
    cwd = venv.parents[2]
    helped = run([venv, "-m", "wsgiscope", "--help"], cwd=cwd, env=clean_env())
    assert "usage: python -m wsgiscope" in helped.stdout
    assert "WSGISCOPE_COLLECTOR_URL" in helped.stdout
    checked = run([venv, "-m", "wsgiscope", "check"], cwd=cwd,
                  env={**clean_env(), "WSGISCOPE_COLLECTOR_URL": collector.url})
    assert (f"the collector at {collector.url}/healthz answers: "
            f"wsgiscope-collector {collector_version()}") in checked.stdout
    nobody = f"http://127.0.0.1:{free_port()}"
    down = run([venv, "-m", "wsgiscope", "check"], cwd=cwd, expect=1,
               env={**clean_env(), "WSGISCOPE_COLLECTOR_URL": nobody})
    assert f"no collector answers at {nobody}/healthz" in down.stderr


HELLO = textwrap.dedent(f"""
    import threading, urllib.request
    from wsgiref.simple_server import WSGIRequestHandler, make_server

    import wsgiscope

    def hello(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"hello"]

    class Quiet(WSGIRequestHandler):
        def log_message(self, *args):
            pass

    application = wsgiscope.wrap(hello, service_name="packaged", flush_interval_s=0.2)
    with make_server("127.0.0.1", 0, application, handler_class=Quiet) as httpd:
        threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True).start()
        url = "http://127.0.0.1:%d/" % httpd.server_port
        for _ in range({REQUESTS}):
            with urllib.request.urlopen(url, timeout=10) as answer:
                assert answer.read() == b"hello"
        httpd.shutdown()
    print("served", {REQUESTS})
""")


def test_installed_shim_measures_a_wsgiref_app_for_a_real_collector(venv: Path,
                                                                      collector: Collector) -> None:
    app = venv.parents[2] / "hello.py"
    app.write_text(HELLO)
    served = run([venv, app], cwd=app.parent, timeout_s=120,
                 env={**clean_env(), "WSGISCOPE_COLLECTOR_URL": collector.url})
    assert served.stdout.strip() == f"served {REQUESTS}", served.stderr
    assert "Warning" not in served.stderr, served.stderr
    # The exit flush delivers what the last interval had not sent yet.
    wait_for(lambda: scrape(collector.url).total(
        "http_server_request_duration_seconds_count", service_name="packaged") == REQUESTS,
        15, f"{REQUESTS} requests of service packaged on /metrics")
    info = scrape(collector.url).select("wsgi_worker_info", service_name="packaged")
    assert [s.labels.get("server") for s in info] == ["wsgiref"], info
