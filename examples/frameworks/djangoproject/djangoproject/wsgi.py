"""WSGI config for djangoproject: Django's own file, plus the README's one line.

It exposes the WSGI callable as a module-level variable named ``application``.
"""

import os

import wsgiscope
from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "djangoproject.settings")

application = get_wsgi_application()
application = wsgiscope.wrap(application, service_name="djangoproject")
