"""Read the generated Grafana dashboards the way Grafana would: panel queries and variables.

Template variables are substituted with concrete values so that each query can be sent to
Prometheus' HTTP API as Grafana would send it.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Iterator, List, Mapping

REPO_ROOT = Path(__file__).resolve().parents[2]
DASHBOARDS_DIR = REPO_ROOT / "grafana" / "dashboards"

#: Grafana's built-in interval variables, as they resolve with a 1 s scrape interval and a
#: time range a few minutes long (the rate window spans the whole short load).
BUILTINS: Mapping[str, str] = {"__rate_interval": "1m", "__interval": "1s", "__range": "5m"}

_VARIABLE = re.compile(r"\$(?:\{(\w+)\}|(\w+))")
_LABEL_VALUES = re.compile(r"^label_values\((?:(?P<selector>.+),\s*)?(?P<label>\w+)\)$")


@dataclass(frozen=True)
class PanelQuery:
    dashboard: str
    panel: str
    ref_id: str
    expr: str

    @property
    def id(self) -> str:
        return f"{self.dashboard}:{self.panel}:{self.ref_id}"


@dataclass(frozen=True)
class LabelValuesVariable:
    dashboard: str
    name: str
    selector: str
    label: str


def load_dashboards() -> Dict[str, dict]:
    """Every generated dashboard by uid."""
    dashboards = {}
    for path in sorted(DASHBOARDS_DIR.glob("*.json")):
        dashboard = json.loads(path.read_text())
        dashboards[dashboard["uid"]] = dashboard
    return dashboards


def _panels(dashboard: dict) -> Iterator[dict]:
    for panel in dashboard.get("panels", []):
        yield panel
        yield from panel.get("panels", [])  # panels inside collapsed rows


def panel_queries(dashboards: Mapping[str, dict]) -> List[PanelQuery]:
    return [
        PanelQuery(uid, panel["title"], target["refId"], target["expr"])
        for uid, dashboard in dashboards.items()
        for panel in _panels(dashboard)
        for target in panel.get("targets", [])
        if "expr" in target
    ]


def label_values_variables(dashboards: Mapping[str, dict]) -> List[LabelValuesVariable]:
    """The query variables, each a Prometheus ``label_values(selector, label)``."""
    variables = []
    for uid, dashboard in dashboards.items():
        for variable in dashboard["templating"]["list"]:
            if variable["type"] != "query":
                continue
            match = _LABEL_VALUES.match(variable["query"])
            if match is None:
                raise AssertionError(f"{uid}: variable {variable['name']} is not label_values(): {variable['query']!r}")
            variables.append(LabelValuesVariable(uid, variable["name"], match["selector"] or "", match["label"]))
    return variables


def substitute(expr: str, values: Mapping[str, str]) -> str:
    """Replace ``$name`` / ``${name}`` with ``values`` or Grafana's builtins; unknown names fail."""

    def replace(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(2)
        if name in values:
            return values[name]
        if name in BUILTINS:
            return BUILTINS[name]
        raise KeyError(f"no value for ${name} in {expr!r}")

    return _VARIABLE.sub(replace, expr)


def as_regex(values: List[str]) -> str:
    """What Grafana puts in a ``=~`` matcher for a multi-value selection."""
    escaped = [re.sub(r"([\\.+*?()\[\]{}|^$])", r"\\\\\1", v) for v in values]
    return escaped[0] if len(escaped) == 1 else "(" + "|".join(escaped) + ")"
