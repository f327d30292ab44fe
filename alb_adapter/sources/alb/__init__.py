"""Application Load Balancer: the only package that knows ALB's JSON.

``request`` (event -> Request) and ``response`` (Response -> dict) run in every invocation;
``balancer`` is ALB's own side (building events, judging answers, forwarded headers), used by the
local ALB and the test helpers, never inside Lambda.
"""

from __future__ import annotations

from ..base import Source
from .request import is_alb_event, parse_event
from .response import render_response

ALB = Source(
    name="alb",
    label="ALB",
    description="Application Load Balancer (requestContext.elb)",
    matches=is_alb_event,
    # Loaded with the package: ALB is the front door this library is for, and its parsers are
    # better imported in the init phase (which SnapStart and provisioned concurrency run ahead of
    # time) than in the first request.
    codec=lambda: (parse_event, render_response),
    known_by=("httpMethod", "path", "requestContext.elb"),
)

__all__ = ["ALB"]
