"""WSGI entry point for a WSGI server (gunicorn, ``manage.py runserver``); Lambda uses
``lambda_handler.handler``, which wraps the same application."""

from __future__ import annotations

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "django_example.settings")

application = get_wsgi_application()
