"""What the example processes share: loading an app by spec and a clean exit on SIGTERM.

The launchers' foreground servers and the lab's slow back end all stop on SIGTERM (or Ctrl-C)
by closing their server and exiting 0, so the wsgiscope shim's exit flush runs.
"""

from __future__ import annotations

import importlib
import signal
from types import FrameType
from typing import Any, Callable, Optional


def load_app(spec: str) -> Any:
    """``"package.module:attr.sub"`` (attr defaults to ``application``) to the object it names."""
    module_name, _, attr = spec.partition(":")
    target: Any = importlib.import_module(module_name)
    for part in (attr or "application").split("."):
        target = getattr(target, part)
    return target


def _interrupt(signum: int, frame: Optional[FrameType]) -> None:
    raise KeyboardInterrupt


def run_until_terminated(serve: Callable[[], object], close: Callable[[], object],
                         ready: str) -> None:
    """Print ``ready`` (what tests wait for), call the blocking ``serve()`` until SIGTERM or
    Ctrl-C, then ``close()``; never raises KeyboardInterrupt. The handler is in place before
    ``ready`` is printed, so a SIGTERM sent on reading it is handled."""
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        print(ready, flush=True)
        serve()
    except KeyboardInterrupt:
        pass
    finally:
        close()
