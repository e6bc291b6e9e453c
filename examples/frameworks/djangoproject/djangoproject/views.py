"""The example views: hello, sleep, a streamed body, a file download, an upload."""

from __future__ import annotations

import os
import time
from typing import Iterator, Union

from django.http import (
    FileResponse,
    HttpRequest,
    HttpResponse,
    HttpResponseNotFound,
    StreamingHttpResponse,
)


def hello(request: HttpRequest) -> HttpResponse:
    return HttpResponse("Hello from Django")


def sleep(request: HttpRequest) -> HttpResponse:
    time.sleep(int(request.GET.get("ms", "100")) / 1000)
    return HttpResponse("slept")


def stream(request: HttpRequest) -> StreamingHttpResponse:
    chunks, ms = int(request.GET.get("chunks", "10")), int(request.GET.get("ms", "50"))

    def generate() -> Iterator[bytes]:
        for number in range(chunks):
            time.sleep(ms / 1000)  # the body is produced while the response is streamed
            yield f"chunk {number}\n".encode()

    return StreamingHttpResponse(generate(), content_type="text/plain")


def file(request: HttpRequest) -> Union[FileResponse, HttpResponseNotFound]:
    path = os.environ.get("EXAMPLE_DOWNLOAD_FILE")
    if not path:
        return HttpResponseNotFound("set EXAMPLE_DOWNLOAD_FILE to the file to serve\n")
    return FileResponse(open(path, "rb"),
                        content_type="application/octet-stream")


def item(request: HttpRequest, item_id: int) -> HttpResponse:
    return HttpResponse(f"item {item_id}")


def upload(request: HttpRequest) -> HttpResponse:
    return HttpResponse(str(len(request.body)))
