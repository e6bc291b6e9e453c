"""Serve any app (named by ``EXAMPLES_LAUNCH_APP``, ``module:callable``) wrapped in the shim.

``launch.py`` sets the variable; servers without a native hook load
``examples.servers._shimmed:application`` when a custom ``--app`` is given.
"""

from __future__ import annotations

import importlib
import os
from typing import Any

import wsgiscope


def _load(spec: str) -> Any:
    module_name, _, attr = spec.partition(":")
    target: Any = importlib.import_module(module_name)
    for part in (attr or "application").split("."):
        target = getattr(target, part)
    return target


application = wsgiscope.wrap(_load(os.environ.get("EXAMPLES_LAUNCH_APP", "examples.app.wsgi:application")))
