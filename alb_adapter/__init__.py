"""Run WSGI and ASGI applications as AWS Lambda functions behind an Application Load Balancer.

    from alb_adapter import WSGIHandler
    handler = WSGIHandler(app)          # Lambda handler setting: "module.handler"

Importing this package stays cheap (no asyncio, logging, email or frameworks): it is paid in every
Lambda cold start.
"""

from __future__ import annotations

from .config import Config
from .errors import (
    AdapterError,
    AppError,
    InvalidBody,
    InvalidEvent,
    InvalidResponse,
    LifespanError,
    ResponseTooLarge,
    UnsupportedEvent,
)
from .wsgi import WSGIHandler

__all__ = [
    "AdapterError",
    "AppError",
    "Config",
    "InvalidBody",
    "InvalidEvent",
    "InvalidResponse",
    "LifespanError",
    "ResponseTooLarge",
    "UnsupportedEvent",
    "WSGIHandler",
]

__version__ = "0.1.0"
