"""The Lambda entry point. Handler setting: ``django_example.lambda_handler.handler``.

Django is set up here, at import, during Lambda's init phase (billed apart, with more CPU), not in
the first request. ALB health checks to ``/health`` are answered by the adapter without calling
Django: they carry no Host header, which Django's ALLOWED_HOSTS check would refuse (400).
``ALB_BASE_PATH`` is the prefix of the listener rule (``/account`` for ``/account/*``), if any.
"""

from __future__ import annotations

import os

from django.core.wsgi import get_wsgi_application

from alb_adapter import WSGIHandler

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "django_example.settings")

application = get_wsgi_application()

handler = WSGIHandler(
    application,
    health_check_path="/health",
    base_path=os.environ.get("ALB_BASE_PATH", ""),
)
