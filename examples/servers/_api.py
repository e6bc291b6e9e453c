"""The contract between ``launch.py`` and the server-mode modules (see README.md)."""

from __future__ import annotations

import importlib.util
import os
from dataclasses import dataclass, field
from typing import Dict, List, Optional

DEFAULT_APP = "examples.app.wsgi:application"
SHIMMED_WRAPPER = "examples.servers._shimmed:application"
INSTRUMENTED_DEFAULT_APP = "examples.app.instrumented:application"


@dataclass(frozen=True)
class LaunchOptions:
    """What the user asked for; every mode module reads it, none changes it."""

    host: str
    port: int
    workers: Optional[int]
    threads: Optional[int]
    app: str
    shim: bool
    python: str
    repo_root: str

    @property
    def bin_dir(self) -> str:
        return os.path.dirname(self.python)

    @property
    def app_module(self) -> str:
        return self.app.split(":", 1)[0]

    @property
    def app_callable(self) -> str:
        parts = self.app.split(":", 1)
        return parts[1] if len(parts) == 2 else "application"

    def bin(self, name: str) -> str:
        return os.path.join(self.bin_dir, name)

    def workers_or(self, default: int) -> int:
        return self.workers if self.workers is not None else default

    def threads_or(self, default: int) -> int:
        return self.threads if self.threads is not None else default

    def shimmed_app(self) -> str:
        """The app spec for a server without a native hook: the app wrapped when the shim is on."""
        if not self.shim:
            return self.app
        if self.app == DEFAULT_APP:
            return INSTRUMENTED_DEFAULT_APP
        return SHIMMED_WRAPPER


@dataclass(frozen=True)
class Launch:
    """How to run one server in the foreground: argv, extra environment, working directory."""

    argv: List[str]
    env: Dict[str, str] = field(default_factory=dict)
    cwd: Optional[str] = None


def module_available(name: str) -> bool:
    """True when ``name`` can be imported by the interpreter running the launcher."""
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False
