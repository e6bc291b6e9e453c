# The lab's example app under gunicorn (gthread), instrumented by the wsgiscope
# shim through its gunicorn config module (context: the repo root).
FROM python:3.12.8-slim-bookworm
WORKDIR /app
COPY python-hooks python-hooks
COPY examples examples
RUN pip install --no-cache-dir ./python-hooks gunicorn==23.0.0
USER nobody
EXPOSE 8000
CMD ["gunicorn", "-c", "python:wsgiscope.gunicorn", \
     "--bind", "0.0.0.0:8000", "--worker-class", "gthread", "--workers", "2", "--threads", "4", \
     "examples.app.wsgi:application"]
