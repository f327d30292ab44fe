"""The event sources a handler serves, and which one an event belongs to.

One package per wire format (``alb/``), each the only place that knows its JSON. ``SOURCES`` is
the registry: the sources are tried in this order and the first whose ``matches`` accepts the event
serves it. A new front door is a sibling package of ``alb/`` and one line here.
"""

from __future__ import annotations

from ..errors import UnsupportedEvent
from .alb import ALB
from .apigateway_v1 import API_GATEWAY_HTTP_V1, API_GATEWAY_REST
from .apigateway_v2 import API_GATEWAY_HTTP_V2, FUNCTION_URL
from .base import Source
from .lattice import VPC_LATTICE_V1, VPC_LATTICE_V2
from .other import describe_non_http

# In the order they are tried; each test is exact, so the order only matters for speed.
SOURCES: tuple[Source, ...] = (
    ALB,
    API_GATEWAY_HTTP_V2,
    FUNCTION_URL,
    VPC_LATTICE_V2,
    VPC_LATTICE_V1,
    API_GATEWAY_HTTP_V1,
    API_GATEWAY_REST,
)


def find_source(event: object) -> Source:
    """The source whose events look like ``event``, or UnsupportedEvent saying what it saw."""
    for source in SOURCES:
        if source.matches(event):
            return source
    raise UnsupportedEvent(describe_unsupported(event))


def describe_unsupported(event: object) -> str:
    """What the event looks like, for the error: its keys and those of its requestContext (never
    its values, which may hold secrets)."""
    served = ", ".join(source.label for source in SOURCES)
    misuse = describe_misuse(event)
    if misuse:
        return misuse
    kind = describe_non_http(event)
    if kind:
        return (
            f"not an HTTP request: this is {kind}, and alb_adapter serves HTTP requests only "
            f"({served}). To handle such events in the same function, give the handler "
            "non_http_handler=<a function (event, context) -> result>"
        )
    if not isinstance(event, dict):
        return f"expected an event (a JSON object) from {served}, got {type(event).__name__}"
    seen = ", ".join(sorted(map(str, event))) or "no keys"
    request_context = event.get("requestContext")
    inner = ""
    if isinstance(request_context, dict):
        keys = ", ".join(sorted(map(str, request_context))) or "no keys"
        inner = f"; requestContext has: {keys}"
    closest = _closest_source(event)
    if closest is None:
        return (
            f"not an event from a source alb_adapter serves ({served}): "
            f"the event has: {seen}{inner}"
        )
    source, missing = closest
    lacks = f"lacks {', '.join(missing)}" if missing else "its values do not fit"
    return (
        f"not an event from a source alb_adapter serves: it looks most like {source.label}, "
        f"but {lacks} ({source.description}); the event has: {seen}{inner}"
    )


def _closest_source(event: dict[object, object]) -> tuple[Source, list[str]] | None:
    """The source whose identifying keys the event has most of (the first on a tie, in the
    registry's order), and those it lacks; None when it has none of any source's."""
    best: tuple[Source, list[str]] | None = None
    best_count = 0
    for source in SOURCES:
        missing = [key for key in source.known_by if not _has(event, key)]
        count = len(source.known_by) - len(missing)
        if count > best_count:
            best, best_count = (source, missing), count
    return best


def _has(event: dict[object, object], dotted: str) -> bool:
    node: object = event
    for part in dotted.split("."):
        if not isinstance(node, dict) or node.get(part) is None:
            return False
        node = node[part]
    return True


def describe_misuse(event: object) -> str | None:
    """When ``event`` is a WSGI environ or an ASGI scope, the handler was given to a WSGI/ASGI
    server or test client as if it were the app: say so, and what to use instead."""
    if not isinstance(event, dict):
        return None
    if "wsgi.version" in event or ("REQUEST_METHOD" in event and "PATH_INFO" in event):
        return (
            "this is a WSGI environ, not a Lambda event: a Lambda handler is not a WSGI app. "
            "Give the WSGI app itself to a WSGI server or test client, or, to test through ALB, "
            "wrap the handler: werkzeug.test.Client(alb_adapter.testing.ALBWSGIApp(handler)); "
            "Flask, Django and Starlette clients: see alb_adapter.testing.flask, .django, "
            ".starlette"
        )
    if event.get("type") in ("http", "websocket", "lifespan") and "requestContext" not in event:
        return (
            "this is an ASGI scope, not a Lambda event: a Lambda handler is not an ASGI app. "
            "Give the ASGI app itself to an ASGI server or test client, or, to test through ALB, "
            "use alb_adapter.testing.starlette.TestClient(app) or "
            "alb_adapter.testing.ALBClient(handler)"
        )
    return None


__all__ = ["SOURCES", "Source", "describe_misuse", "describe_unsupported", "find_source"]
