"""Checked by mypy --strict in .ci/run (not a test module): the handlers accept the apps users
actually have, typed as their frameworks type them."""

from __future__ import annotations

from fastapi import FastAPI
from flask import Flask
from starlette.applications import Starlette

from alb_adapter import ASGIHandler, WSGIHandler
from alb_adapter.testing import ALBClient, LambdaContext, make_event


async def raw_asgi(scope: dict[str, object], receive: object, send: object) -> None:
    return None


def lambda_handler_results() -> list[dict[str, object]]:
    context = LambdaContext()
    event = make_event("GET", "/")
    return [
        WSGIHandler(Flask(__name__))(event, context),
        ASGIHandler(FastAPI(), lifespan="off")(event, context),
        ASGIHandler(Starlette(), base_path="/shop")(event, context),
        ASGIHandler(raw_asgi)(event, context),
    ]


def client_status() -> int:
    with ALBClient(WSGIHandler(Flask(__name__)), multi_value_headers=True) as client:
        return client.get("/").status_code
