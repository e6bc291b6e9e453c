"""The WSGI example app served by an ASGI server through a WSGI-to-ASGI adapter (a2wsgi).

    uvicorn examples.app.wsgi_adapter:application             # WSGI app in the shim, then a2wsgi
    uvicorn examples.app.wsgi_adapter:plain_application       # without the shim

a2wsgi runs each WSGI call on a thread pool of ``EXAMPLE_ADAPTER_THREADS`` threads (default 10):
the shim sits *inside* the adapter, so it sees real threads (CPU per request is attributable) and
capacity is that pool (the launcher sets ``WSGISCOPE_CAPACITY`` to it).
"""

from __future__ import annotations

import os

from a2wsgi import WSGIMiddleware

from examples.app.instrumented import application as instrumented_wsgi
from examples.app.wsgi import application as plain_wsgi

THREADS = max(1, int(os.environ.get("EXAMPLE_ADAPTER_THREADS", "10")))

# a2wsgi types environ as a TypedDict, which a plain-dict WSGI app (PEP 3333) cannot match.
application = WSGIMiddleware(instrumented_wsgi, workers=THREADS)  # type: ignore[arg-type]
plain_application = WSGIMiddleware(plain_wsgi, workers=THREADS)  # type: ignore[arg-type]
