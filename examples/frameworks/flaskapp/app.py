"""A Flask app, instrumented with the README's one line (``application = wsgiscope.wrap(...)``).

    gunicorn -k gthread -w 2 --threads 4 app:application
"""

from __future__ import annotations

import os
import time
from typing import Iterator, Union

import wsgiscope
from flask import Flask, Response, request, send_file

app = Flask(__name__)


@app.route("/")
def hello() -> str:
    return "Hello from Flask"


@app.route("/sleep")
def sleep() -> str:
    time.sleep(int(request.args.get("ms", "100")) / 1000)
    return "slept"


@app.route("/stream")
def stream() -> Response:
    chunks, ms = int(request.args.get("chunks", "10")), int(request.args.get("ms", "50"))

    def generate() -> Iterator[bytes]:
        for number in range(chunks):
            time.sleep(ms / 1000)  # the body is produced while the response is streamed
            yield f"chunk {number}\n".encode()

    return Response(generate(), mimetype="text/plain")


@app.route("/file")
def file() -> Union[Response, tuple[str, int]]:
    path = os.environ.get("EXAMPLE_DOWNLOAD_FILE")
    if not path:
        return "set EXAMPLE_DOWNLOAD_FILE to the file to serve\n", 404
    return send_file(path, mimetype="application/octet-stream")


@app.route("/items/<int:item_id>")
def item(item_id: int) -> str:
    return f"item {item_id}"


@app.route("/upload", methods=["POST"])
def upload() -> str:
    return str(len(request.get_data()))


application = wsgiscope.wrap(app, service_name="flaskapp")
