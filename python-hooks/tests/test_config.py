"""One config object: kwargs over WSGISCOPE_* over defaults; bad values warn once."""

from __future__ import annotations

import subprocess
import sys
import warnings
from pathlib import Path
from typing import Any

import pytest

from wsgiscope.config import OPTIONS, Config, WsgiscopeConfigWarning, describe_options


def load_quietly(env: dict[str, str], **kwargs: Any) -> tuple[Config, list[str]]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        config = Config.load(env, **kwargs)
    assert all(issubclass(w.category, WsgiscopeConfigWarning) for w in caught)
    return config, [str(w.message) for w in caught]


def test_defaults_without_environment() -> None:
    config, messages = load_quietly({})
    assert messages == []
    assert (config.collector_url, config.service_name, config.flush_interval_s) == (
        "http://127.0.0.1:9464", "wsgi-app", 1.0)
    assert config.batches_url() == "http://127.0.0.1:9464/v1/batches"


def test_keyword_arguments_win_over_environment() -> None:
    config, _ = load_quietly({"WSGISCOPE_SERVICE_NAME": "env"}, service_name="kw")
    assert config.service_name == "kw"


@pytest.mark.parametrize(
    ("variable", "raw", "attribute", "expected"),
    [
        ("WSGISCOPE_FLUSH_INTERVAL", "0.5", "flush_interval_s", 0.5),
        ("WSGISCOPE_CAPACITY", "8", "capacity_threads", 8),
        ("WSGISCOPE_DISABLED", "yes", "disabled", True),
        ("WSGISCOPE_GZIP", "0", "gzip", False),
        ("WSGISCOPE_COLLECTOR_URL", "https://c.example:1/ingest", "collector_url",
         "https://c.example:1/ingest"),
        ("WSGISCOPE_MAX_BUFFER_RECORDS", " 50 ", "max_buffer_records", 50),
    ],
)
def test_environment_values_are_converted(variable: str, raw: str, attribute: str,
                                          expected: Any) -> None:
    config, messages = load_quietly({variable: raw})
    assert messages == [] and getattr(config, attribute) == expected


@pytest.mark.parametrize(
    ("variable", "raw", "attribute"),
    [
        ("WSGISCOPE_FLUSH_INTERVAL", "soon", "flush_interval_s"),
        ("WSGISCOPE_FLUSH_INTERVAL", "-1", "flush_interval_s"),
        ("WSGISCOPE_FLUSH_INTERVAL", "nan", "flush_interval_s"),
        ("WSGISCOPE_CAPACITY", "0", "capacity_threads"),
        ("WSGISCOPE_CAPACITY", "four", "capacity_threads"),
        ("WSGISCOPE_DISABLED", "maybe", "disabled"),
        ("WSGISCOPE_COLLECTOR_URL", "ftp://x", "collector_url"),
        ("WSGISCOPE_SERVICE_NAME", "", "service_name"),
        ("WSGISCOPE_MAX_BUFFER_RECORDS", "1e3", "max_buffer_records"),
    ],
)
def test_bad_value_gives_one_warning_naming_the_variable_and_the_default(
        variable: str, raw: str, attribute: str) -> None:
    config, messages = load_quietly({variable: raw})
    default = next(o.default for o in OPTIONS if o.name == attribute)
    assert len(messages) == 1
    assert variable in messages[0] and repr(default) in messages[0]
    assert getattr(config, attribute) == default


UNIT_RENAMES = [
    ("WSGISCOPE_FLUSH_INTERVAL_SECONDS", "WSGISCOPE_FLUSH_INTERVAL", "flush_interval_s", "0.5",
     0.5),
    ("WSGISCOPE_SAMPLE_INTERVAL_SECONDS", "WSGISCOPE_SAMPLE_INTERVAL", "sample_interval_s", "0.1",
     0.1),
    ("WSGISCOPE_SEND_TIMEOUT_SECONDS", "WSGISCOPE_SEND_TIMEOUT", "send_timeout_s", "3", 3.0),
    ("WSGISCOPE_INLINE_FLUSH_TIMEOUT_SECONDS", "WSGISCOPE_INLINE_FLUSH_TIMEOUT",
     "inline_flush_timeout_s", "0.5", 0.5),
    ("WSGISCOPE_EXIT_FLUSH_TIMEOUT_SECONDS", "WSGISCOPE_EXIT_FLUSH_TIMEOUT", "exit_flush_timeout_s",
     "4", 4.0),
    ("WSGISCOPE_CAPACITY_THREADS", "WSGISCOPE_CAPACITY", "capacity_threads", "8", 8),
    ("WSGISCOPE_CAPACITY_PROCESSES", "WSGISCOPE_PROCESSES", "capacity_processes", "3", 3),
]


@pytest.mark.parametrize(("new", "old", "attribute", "raw", "expected"), UNIT_RENAMES)
def test_variable_with_its_unit_is_read(new: str, old: str, attribute: str, raw: str,
                                        expected: Any) -> None:
    config, messages = load_quietly({new: raw})
    assert messages == [] and getattr(config, attribute) == expected


@pytest.mark.parametrize(("new", "old", "attribute", "raw", "expected"), UNIT_RENAMES)
def test_old_name_without_the_unit_still_works(new: str, old: str, attribute: str, raw: str,
                                               expected: Any) -> None:
    config, messages = load_quietly({old: raw})
    assert messages == [] and getattr(config, attribute) == expected


@pytest.mark.parametrize(("new", "old", "attribute", "raw", "expected"), UNIT_RENAMES)
def test_new_name_wins_over_its_alias_whatever_the_order(new: str, old: str, attribute: str,
                                                        raw: str, expected: Any) -> None:
    for env in ({old: "bad", new: raw}, {new: raw, old: "bad"}):
        config, messages = load_quietly(env)
        assert messages == [] and getattr(config, attribute) == expected


def test_bad_value_under_an_alias_names_the_alias() -> None:
    config, messages = load_quietly({"WSGISCOPE_FLUSH_INTERVAL": "soon"})
    assert config.flush_interval_s == 1.0
    assert len(messages) == 1
    assert "environment variable WSGISCOPE_FLUSH_INTERVAL='soon'" in messages[0]


def test_every_duration_variable_names_its_unit() -> None:
    for option in OPTIONS:
        if option.name.endswith("_s"):
            assert option.env.endswith("_SECONDS"), option.env


def test_help_lists_the_new_name_with_its_alias() -> None:
    out = subprocess.run([sys.executable, "-m", "wsgiscope", "--help"], capture_output=True,
                         text=True, check=True).stdout
    for new, old, attribute, _, _ in UNIT_RENAMES:
        line = next(row for row in out.splitlines() if row.startswith(attribute + " "))
        assert new in line and f"(alias: {old})" in line


def test_readme_option_table_is_the_help_output() -> None:
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    start = readme.index("```\noption ") + len("```\n")
    assert readme[start:readme.index("```", start)].rstrip("\n") == describe_options()


def test_bad_keyword_value_warns_instead_of_raising() -> None:
    config, messages = load_quietly({}, flush_interval_s="x")
    assert config.flush_interval_s == 1.0
    assert len(messages) == 1 and "option flush_interval_s" in messages[0]


def test_unknown_keyword_gives_one_clear_warning() -> None:
    _, messages = load_quietly({}, flush_interval=2)
    assert len(messages) == 1 and "'flush_interval'" in messages[0]
    assert "flush_interval_s" in messages[0]


def test_token_is_not_shown_in_repr() -> None:
    config, _ = load_quietly({"WSGISCOPE_TOKEN": "secret"})
    assert "secret" not in repr(config)


def test_help_prints_every_option_and_variable() -> None:
    out = subprocess.run([sys.executable, "-m", "wsgiscope", "--help"], capture_output=True,
                         text=True, check=True).stdout
    for option in OPTIONS:
        assert option.name in out and option.env in out


def test_check_exits_2_with_a_sentence_on_bad_environment() -> None:
    run = subprocess.run([sys.executable, "-m", "wsgiscope", "check"], capture_output=True,
                         check=False, text=True, env={"WSGISCOPE_CAPACITY": "lots"})
    assert run.returncode == 2 and "WSGISCOPE_CAPACITY='lots' is invalid" in run.stderr
