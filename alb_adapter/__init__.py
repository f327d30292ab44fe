"""Run WSGI and ASGI applications as AWS Lambda functions behind an Application Load Balancer.

    from alb_adapter import WSGIHandler, ASGIHandler
    handler = WSGIHandler(flask_app)    # Lambda handler setting: "module.handler"
    handler = ASGIHandler(fastapi_app)

Importing this package stays cheap (no asyncio, logging, email or frameworks): it is paid in every
Lambda cold start.
"""

from __future__ import annotations

from .config import DEFAULT_TEXT_CONTENT_TYPES, Config
from .errors import (
    AdapterError,
    AppError,
    HandlerClosed,
    InvalidBody,
    InvalidEvent,
    InvalidResponse,
    LifespanError,
    ResponseTooLarge,
    UnsupportedEvent,
)
from .wsgi import WSGIHandler

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (cold start)

if TYPE_CHECKING:
    from .asgi import ASGIHandler

__all__ = [
    "DEFAULT_TEXT_CONTENT_TYPES",
    "ASGIHandler",
    "AdapterError",
    "AppError",
    "Config",
    "HandlerClosed",
    "InvalidBody",
    "InvalidEvent",
    "InvalidResponse",
    "LifespanError",
    "ResponseTooLarge",
    "UnsupportedEvent",
    "WSGIHandler",
]

__version__ = "0.1.0"


def __getattr__(name: str) -> object:
    # ASGIHandler needs asyncio, which a WSGI function should not pay for at cold start.
    if name == "ASGIHandler":
        from .asgi import ASGIHandler

        return ASGIHandler
    raise AttributeError(f"module 'alb_adapter' has no attribute {name!r}")
