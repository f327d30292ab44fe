"""The adapter's exceptions: one base class, so callers can catch everything we raise at once."""

from __future__ import annotations

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (cold start)

if TYPE_CHECKING:
    from .model import Request


class AdapterError(Exception):
    """Base class of every error alb_adapter raises on purpose."""


class UnsupportedEvent(AdapterError):
    """The Lambda event is not from a source this adapter handles (for now: only ALB)."""


class InvalidEvent(AdapterError):
    """The event has the shape of a source's events but a field is missing or of the wrong type.

    ``field`` names the offending field (``"httpMethod"``, ``"multiValueHeaders['accept'][0]"``);
    ``source`` is the source's label (``"ALB"``), set by the handler once it knows which source
    was reading: the field readers in ``alb_adapter/sources/fields.py`` are shared by all.
    """

    def __init__(self, field: str, problem: str, source: str = "") -> None:
        super().__init__(field, problem)
        self.field = field
        self.problem = problem
        self.source = source

    def __str__(self) -> str:
        event = f"{self.source} event" if self.source else "event"
        return f"invalid {event}: {self.field} {self.problem}"


class InvalidBody(InvalidEvent):
    """The body cannot be decoded; the handler answers 400 without calling the app.

    ``request`` is the rest of the request, parsed, so the 400 can be rendered in the header mode
    the load balancer expects.
    """

    def __init__(self, problem: str, request: Request | None = None) -> None:
        super().__init__("body", problem)
        self.request = request  # set by parse_event before the error leaves it


class AppError(AdapterError):
    """The app broke its protocol (PEP 3333 / ASGI) or answered something ALB would reject."""


class HandlerClosed(AdapterError, RuntimeError):
    """The handler was closed (``close()``, or the end of a ``with`` block): build a new one."""


class LifespanError(AdapterError):
    """ASGI lifespan startup failed where it was required to succeed."""


class ResponseTooLarge(AdapterError):
    """The response is over one of ALB's limits (ALB would answer an unexplained 502): the JSON
    over ``max_response_bytes`` even after compression, or the headers over 32 KB."""

    def __init__(self, size: int, limit: int, why: str, part: str = "response JSON") -> None:
        super().__init__(f"{part} is {size} bytes ({why}); the limit is {limit}")
        self.size = size
        self.limit = limit
        self.why = why
        self.part = part


class InvalidResponse(AdapterError):
    """A Lambda answer that a real ALB would turn into a 502 (``LambdaInvalidResponse``)."""
