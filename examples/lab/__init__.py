"""The lab: run WSGI/ASGI servers x scenarios under load, and report what the shim and the client saw.

    npm run lab -- --servers gunicorn_sync,gunicorn_gthread --scenarios hello,sleep --duration 4

See docs/lab.md.
"""
