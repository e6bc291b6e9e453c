"""``python -m wsgiscope --help`` (the options) and ``python -m wsgiscope check`` (the env)."""

from __future__ import annotations

import sys
import warnings
from typing import Optional, Sequence

from ._version import __version__
from .config import Config, describe_options

USAGE = f"""wsgiscope {__version__}: measures the requests of a WSGI server.

usage: python -m wsgiscope [--help | check]

  wrap your app:   application = wsgiscope.wrap(application, service_name="shop")
  gunicorn:        gunicorn -c python:wsgiscope.gunicorn app:app
  check:           validate the WSGISCOPE_* variables of this environment (exit 2 if bad)

Options are keyword arguments of wrap() or environment variables (keywords win):
"""


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in ("-h", "--help", "help"):
        print(USAGE)
        print(describe_options())
        return 0
    if args[0] == "check":
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            config = Config.load()
        if caught:
            for warning in caught:
                print(str(warning.message), file=sys.stderr)
            return 2
        print(f"wsgiscope configuration is valid: {config!r}")
        return 0
    print(f"wsgiscope: unknown command {args[0]!r}; try --help", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
