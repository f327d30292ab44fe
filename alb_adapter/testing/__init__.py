"""Test helpers: the events a real ALB would send, a realistic Lambda context, and a client that
sends requests through a handler exactly as ALB does.

    from alb_adapter.testing import make_event, LambdaContext
    response = handler(make_event("POST", "/account/login", form={"user": "ada"}), LambdaContext())

Nothing inside ``alb_adapter`` imports this package: it is a public face over ALB's own side
(``alb_adapter/sources/alb/balancer.py``) and the local invocation (``alb_adapter/emulator/``).
"""

from __future__ import annotations

from ..emulator.invocation import LambdaContext
from ..sources.alb.balancer import new_trace_id
from .events import make_event, make_health_check_event, read_response

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing

if TYPE_CHECKING:
    from .client import ALBClient

__all__ = [
    "ALBClient",
    "LambdaContext",
    "make_event",
    "make_health_check_event",
    "new_trace_id",
    "read_response",
]


def __getattr__(name: str) -> object:
    # ALBClient is an httpx.Client: only tests that use it need httpx (alb-adapter[local]).
    if name == "ALBClient":
        from .client import ALBClient

        return ALBClient
    raise AttributeError(f"module 'alb_adapter.testing' has no attribute {name!r}")
