"""Test helpers: the events a real ALB would send, a realistic Lambda context, and a client that
sends requests through a handler exactly as ALB does.

    from alb_adapter.testing import make_event, read_response, LambdaContext
    event = make_event("POST", "/account/login", form={"user": "ada"})
    answer = read_response(handler(event, LambdaContext()))   # judged as ALB would
    assert answer.status == 302 and answer.header("Location") == "/account/"

    from alb_adapter.testing import ALBClient                  # needs the `local` extra (httpx)
    with ALBClient(handler, multi_value_headers=True) as client:
        assert client.get("/account/profile").json()["user"] == "ada"

    from werkzeug.test import Client                           # any WSGI test tool or server
    client = Client(ALBWSGIApp(handler))

Your framework's own test client through the same path, changed in one place:
``alb_adapter.testing.flask`` (``use_alb(app)``), ``alb_adapter.testing.django``
(``ALBDjangoClient`` as ``client_class``), ``alb_adapter.testing.starlette`` (a ``TestClient``);
and a pytest plugin (``alb_adapter/testing/pytest_plugin.py``: ``alb_client``, ``alb_event``...).
``AsyncALBClient`` is ``ALBClient`` for tests running in an event loop.

``ALBClient`` is an ``httpx.Client``: each request becomes the event ALB builds, the answer is
judged as ALB judges it (a 502 wherever ALB would answer 502, the reason in the
``x-alb-emulator-error`` header), and cookies, redirects and JSON work as with any httpx client.
Its default base URL is ``https://alb-adapter.test`` (a reserved name: nothing resolves it); httpx
logs every request at INFO on the ``httpx`` logger, which tests can quiet with
``logging.getLogger("httpx").setLevel(logging.WARNING)``.

Nothing inside ``alb_adapter`` imports this package: it is a public face over ALB's own side
(``alb_adapter/sources/alb/balancer.py``) and the local invocation (``alb_adapter/emulator/``).
"""

from __future__ import annotations

from ..emulator.invocation import LambdaContext
from ..sources.alb.balancer import new_trace_id
from .events import ClientResponse, make_event, make_health_check_event, read_response
from .wsgi_app import ALBWSGIApp

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing

if TYPE_CHECKING:
    from .client import ALBClient, AsyncALBClient

__all__ = [
    "ALBClient",
    "ALBWSGIApp",
    "AsyncALBClient",
    "ClientResponse",
    "LambdaContext",
    "make_event",
    "make_health_check_event",
    "new_trace_id",
    "read_response",
]


def __getattr__(name: str) -> object:
    # The clients are httpx clients: only tests that use them need httpx (alb-adapter[local]).
    if name in ("ALBClient", "AsyncALBClient"):
        from . import client

        return getattr(client, name)
    raise AttributeError(f"module 'alb_adapter.testing' has no attribute {name!r}")
