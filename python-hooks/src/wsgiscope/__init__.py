"""wsgiscope: see inside any WSGI server.

    import wsgiscope
    application = wsgiscope.wrap(application)          # WSGI
    application = wsgiscope.wrap_asgi(application)     # ASGI (e.g. under uvicorn)

Run ``python -m wsgiscope --help`` for the options and their ``WSGISCOPE_*`` variables.
"""

from ._version import __version__
from .asgi import wrap as wrap_asgi
from .config import Config, WsgiscopeConfigWarning
from .detect import ServerInfo, detect
from .middleware import wrap

__all__ = ["Config", "ServerInfo", "WsgiscopeConfigWarning", "__version__", "detect", "wrap",
           "wrap_asgi"]
