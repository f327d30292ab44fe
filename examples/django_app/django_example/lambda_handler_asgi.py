"""The Lambda entry point over ASGI. Handler setting: ``django_example.lambda_handler_asgi.handler``.

The same project as ``lambda_handler`` (WSGI), served through Django's ASGI handler instead.

WSGI or ASGI for Django on Lambda?

- **WSGI** (``lambda_handler``) when the views are synchronous, as in this project and most Django
  projects: Django calls the view directly, with no event loop and no thread in between. It is the
  simpler and faster choice.
- **ASGI** (this module) when the project has ``async def`` views, for instance one that awaits
  several HTTP or database calls at once (``asyncio.gather``). Under ASGI every *sync* view and
  sync middleware still works, but runs through asgiref's ``sync_to_async`` in a worker thread,
  which costs a thread hop per request. Lambda gives each instance one request at a time, so ASGI
  brings concurrency only *within* a request, and ALB cannot stream, so streaming responses are
  buffered whole either way.

Django does not speak the ASGI lifespan protocol (it raises at once); ``lifespan="auto"`` (the
default) notes that at DEBUG and carries on. Django is set up here at import, during Lambda's init
phase, as with WSGI. The handler's event loop is created once and reused by every invocation.
"""

from __future__ import annotations

import os

from django.core.asgi import get_asgi_application

from alb_adapter import ASGIHandler

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "django_example.settings")

application = get_asgi_application()

handler = ASGIHandler(
    application,
    health_check_path="/health",
    base_path=os.environ.get("ALB_BASE_PATH", ""),
)
