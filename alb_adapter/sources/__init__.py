"""The event sources a handler serves, and which one an event belongs to.

One package per wire format (``alb/``), each the only place that knows its JSON. ``all_sources()``
is the registry: the sources are tried in this order and the first whose ``matches`` accepts the
event serves it. A new front door is a sibling package of ``alb/`` and one line here.

Only ALB's package loads with alb_adapter: it is tried first, and a function behind ALB never
needs the others. The other packages load with the first event that is not ALB's (their
``detect`` modules; their parsers load on the first event of their kind: sources/base.py).
"""

from __future__ import annotations

from ..errors import UnsupportedEvent
from .alb import ALB
from .base import Source

_all_sources: tuple[Source, ...] = ()


def all_sources() -> tuple[Source, ...]:
    """Every source, in the order they are tried; each test is exact, so the order only matters
    for speed."""
    global _all_sources  # noqa: PLW0603 (filled once, on the first event that is not ALB's)
    if not _all_sources:
        from .apigateway_v1 import API_GATEWAY_HTTP_V1, API_GATEWAY_REST
        from .apigateway_v2 import API_GATEWAY_HTTP_V2, FUNCTION_URL
        from .lattice import VPC_LATTICE_V1, VPC_LATTICE_V2

        _all_sources = (
            ALB,
            API_GATEWAY_HTTP_V2,
            FUNCTION_URL,
            VPC_LATTICE_V2,
            VPC_LATTICE_V1,
            API_GATEWAY_HTTP_V1,
            API_GATEWAY_REST,
        )
    return _all_sources


def find_source(event: object) -> Source:
    """The source whose events look like ``event``, or UnsupportedEvent saying what it saw."""
    if ALB.matches(event):
        return ALB
    for source in all_sources():
        if source.matches(event):
            return source
    raise UnsupportedEvent(describe_unsupported(event))


def describe_unsupported(event: object) -> str:
    """What the event looks like, for the error: its keys and those of its requestContext (never
    its values, which may hold secrets)."""
    served = ", ".join(source.label for source in all_sources())
    misuse = describe_misuse(event)
    if misuse:
        return misuse
    from .other import describe_non_http  # only when an event is refused

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
    for source in all_sources():
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


__all__ = ["Source", "all_sources", "describe_misuse", "describe_unsupported", "find_source"]
