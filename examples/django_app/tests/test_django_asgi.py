"""What only the ASGI entry point (``lambda_handler_asgi``) has to get right with Django.

Every behaviour the two entry points share -- links under a mount point, the CSRF form and
session, cookies in both header modes, client address, scheme, health checks, 404, unknown hosts,
split Cookie headers -- runs through both in test_django_example.py. Here: Django's refusal of
the ASGI lifespan protocol, the one event loop, and leaving the process's loop state clean.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

import pytest

from alb_adapter import ASGIHandler, LifespanError
from alb_adapter.testing import LambdaContext, make_event, read_response

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from asgiref.typing import ASGI3Application, ASGIReceiveCallable, ASGISendCallable, Scope

    MakeHandler = Callable[..., ASGIHandler]


@pytest.fixture
def django_app(asgi_handlers: dict[str, ASGIHandler]) -> ASGI3Application:
    """The Django ASGI application of ``lambda_handler_asgi``."""
    return asgi_handlers[""].app


@pytest.fixture
def make_handler(django_app: ASGI3Application) -> Iterator[MakeHandler]:
    """Build ASGIHandlers (over the Django app unless given another), all closed afterwards."""
    made: list[ASGIHandler] = []

    def make(app: ASGI3Application | None = None, **options: Any) -> ASGIHandler:
        handler = ASGIHandler(app or django_app, **options)
        made.append(handler)
        return handler

    yield make
    for handler in made:
        handler.close()


def test_module_handler_is_configured_for_alb(asgi_handlers: dict[str, ASGIHandler]) -> None:
    from django_example import lambda_handler_asgi

    handler = lambda_handler_asgi.handler
    assert handler is asgi_handlers[""]
    assert isinstance(handler, ASGIHandler)
    assert handler.app is lambda_handler_asgi.application
    assert handler.config.health_check_path == "/health"
    assert handler.config.base_path == ""  # ALB_BASE_PATH unset (conftest)
    assert "lifespan='auto'" in repr(handler)


def test_lifespan_auto_notes_djangos_refusal_at_debug_only(
    make_handler: MakeHandler, caplog: pytest.LogCaptureFixture
) -> None:
    """Django raises ValueError for a lifespan scope; in "auto" that is normal, not a problem
    worth a warning in every cold start's logs."""
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="alb_adapter")
    handler = make_handler(lifespan="auto")
    notes = [r for r in caplog.records if r.name == "alb_adapter"]
    assert [r.levelno for r in notes] == [logging.DEBUG]
    assert "does not support ASGI lifespan" in notes[0].getMessage()
    assert "Django can only handle ASGI/HTTP connections, not lifespan." in notes[0].getMessage()

    # ...and the handler serves as usual, still without a warning.
    response = handler(make_event("GET", "/api/notes"), LambdaContext())
    assert read_response(response).body == b'{"notes": []}'
    loud = [
        (r.name, r.levelname, r.getMessage())
        for r in caplog.records
        if r.levelno >= logging.WARNING
    ]
    assert loud == []


def test_lifespan_on_refuses_django(make_handler: MakeHandler) -> None:
    # "on" is for apps whose startup must run; Django has none, so deploying it so fails at init.
    with pytest.raises(LifespanError, match="does not support the lifespan protocol"):
        make_handler(lifespan="on")


def test_lifespan_off_does_not_call_django(
    make_handler: MakeHandler, django_app: ASGI3Application
) -> None:
    scopes: list[str] = []

    async def recording(scope: Scope, receive: ASGIReceiveCallable, send: ASGISendCallable) -> None:
        scopes.append(scope["type"])
        await django_app(scope, receive, send)

    handler = make_handler(recording, lifespan="off")
    handler(make_event("GET", "/api/notes"), LambdaContext())
    assert scopes == ["http"]


def test_every_invocation_runs_on_the_handlers_one_loop(
    make_handler: MakeHandler, django_app: ASGI3Application
) -> None:
    """The loop is made once per handler and reused: what Django or a library ties to it at
    the first request (connections, locks) stays usable in the next invocations."""
    loops: list[asyncio.AbstractEventLoop] = []

    async def recording(scope: Scope, receive: ASGIReceiveCallable, send: ASGISendCallable) -> None:
        if scope["type"] == "http":
            loops.append(asyncio.get_running_loop())
        await django_app(scope, receive, send)

    handler = make_handler(recording)
    statuses = [
        handler(make_event("GET", path), LambdaContext())["statusCode"]
        for path in ("/", "/api/notes", "/no/such/page")
    ]
    assert statuses == [200, 200, 404]
    assert loops == [handler.loop] * 3
    assert not handler.loop.is_closed()


def test_deployed_handler_keeps_its_loop(asgi_handlers: dict[str, ASGIHandler]) -> None:
    handler = asgi_handlers[""]
    loop = handler.loop
    for _ in range(2):
        assert handler(make_event("GET", "/api/notes"), LambdaContext())["statusCode"] == 200
    assert handler.loop is loop
    assert not loop.is_closed()
