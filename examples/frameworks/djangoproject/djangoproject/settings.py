"""Settings of the example Django project (no database: views only)."""

SECRET_KEY = "wsgiscope-example-not-secret"
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost", "[::1]"]
ROOT_URLCONF = "djangoproject.urls"
WSGI_APPLICATION = "djangoproject.wsgi.application"
INSTALLED_APPS: list[str] = []
MIDDLEWARE: list[str] = []
DATABASES: dict[str, object] = {}
USE_TZ = True
DATA_UPLOAD_MAX_MEMORY_SIZE = 64 * 1024 * 1024
