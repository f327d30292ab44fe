"""ASGI entry point for an ASGI server (uvicorn, daphne). The Lambda entry point is WSGI
(``lambda_handler.handler``): these views are synchronous, so WSGI has less overhead."""

from __future__ import annotations

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "django_example.settings")

application = get_asgi_application()
