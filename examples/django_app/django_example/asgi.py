"""ASGI entry point for an ASGI server (uvicorn, daphne). On Lambda, ``lambda_handler`` (WSGI)
is the better fit for these synchronous views; ``lambda_handler_asgi`` serves them over ASGI."""

from __future__ import annotations

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "django_example.settings")

application = get_asgi_application()
