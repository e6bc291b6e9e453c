"""One config object: kwargs over WSGISCOPE_* over defaults; bad values warn once."""

from __future__ import annotations

import subprocess
import sys
import warnings
from typing import Any

import pytest

from wsgiscope.config import OPTIONS, Config, WsgiscopeConfigWarning


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
