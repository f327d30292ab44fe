"""Events that are not HTTP requests: the error says what they are, and ``non_http_handler``
answers them without the app (alb_adapter/sources/other.py, Config.non_http_handler)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from alb_adapter import ASGIHandler, Config, UnsupportedEvent, WSGIHandler
from alb_adapter.testing import LambdaContext, make_event
from tests.support import LAMBDA_EVENTS, simple_app

CORPUS = LAMBDA_EVENTS

EXPECTED_KIND = {
    "scheduled": "an EventBridge scheduled event",
    "eventbridge": "an EventBridge event",
    "sqs": "an SQS message batch",
    "warmer": "a warmer ping (serverless-plugin-warmup)",
    "apigw-websocket": None,  # two shapes: a WebSocket message and an authorizer request
}

HAND_MADE = [
    ({"Records": [{"EventSource": "aws:sns", "Sns": {}}]}, "an SNS notification"),
    ({"Records": [{"eventSource": "aws:s3", "s3": {}}]}, "an S3 event notification"),
    ({"Records": [{"cf": {"request": {}}}]}, "a CloudFront (Lambda@Edge) event"),
    ({"Records": [{"eventSource": "aws:other"}]}, "a batch of records (Records[])"),
    (
        {"requestContext": {"routeKey": "$connect", "eventType": "CONNECT", "connectionId": "c"}},
        "an API Gateway WebSocket event",
    ),
    (
        {"type": "REQUEST", "methodArn": "arn:aws:execute-api:...", "headers": {}},
        "an API Gateway Lambda authorizer request",
    ),
    ({"source": "aws.events"}, "an EventBridge scheduled event"),
]


def served() -> str:
    from alb_adapter.sources import all_sources

    return ", ".join(source.label for source in all_sources())


def message(kind: str) -> str:
    return (
        f"not an HTTP request: this is {kind}, and alb_adapter serves HTTP requests only "
        f"({served()}). To handle such events in the same function, give the handler "
        "non_http_handler=<a function (event, context) -> result>"
    )


def corpus_events() -> list[tuple[str, str, dict[str, Any]]]:
    if not CORPUS.is_dir():
        return []
    index = json.loads((CORPUS / "index.json").read_text())
    return [
        (entry["file"], entry["type"], json.loads((CORPUS / entry["file"]).read_text()))
        for entry in index
        if entry["kind"] == "non-http" and entry["type"] in EXPECTED_KIND
    ]


APP_CALLS: list[str] = []


def handlers(**options: Any) -> list[WSGIHandler | ASGIHandler]:
    """Both handler kinds around apps that answer 200 "hello" and count their calls."""
    wsgi_app = simple_app()

    def counted_wsgi_app(environ: Any, start_response: Any) -> Any:
        APP_CALLS.append("wsgi")
        return wsgi_app(environ, start_response)

    async def asgi_app(scope: Any, receive: Any, send: Any) -> None:
        APP_CALLS.append("asgi")
        headers = [(b"content-type", b"text/plain")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": b"hello"})

    return [
        WSGIHandler(counted_wsgi_app, **options),
        ASGIHandler(asgi_app, lifespan="off", **options),
    ]


@pytest.mark.skipif(not CORPUS.is_dir(), reason=f"the event corpus is not at {CORPUS}")
@pytest.mark.parametrize(("name", "kind", "event"), corpus_events())
def test_corpus_non_http_events_are_named(name: str, kind: str, event: dict[str, Any]) -> None:
    expected = EXPECTED_KIND[kind]
    if expected is None:  # a $connect authorizer request, or a WebSocket message
        is_authorizer = event.get("type") == "REQUEST"
        expected = (
            "an API Gateway Lambda authorizer request"
            if is_authorizer
            else "an API Gateway WebSocket event"
        )
    APP_CALLS.clear()
    for handler in handlers():
        with handler, pytest.raises(UnsupportedEvent) as caught:
            handler(event, LambdaContext())
        assert str(caught.value) == message(expected), name
    assert APP_CALLS == []


@pytest.mark.parametrize(("event", "kind"), HAND_MADE)
def test_hand_made_non_http_events_are_named(event: dict[str, Any], kind: str) -> None:
    for handler in handlers():
        with handler, pytest.raises(UnsupportedEvent) as caught:
            handler(event, LambdaContext())
        assert str(caught.value) == message(kind)


def test_an_unknown_event_names_the_closest_source_never_a_value() -> None:
    event = {"version": "distant-future", "secret": "s3cr3t-token"}
    for handler in handlers():
        with handler, pytest.raises(UnsupportedEvent) as caught:
            handler(event, None)
        assert str(caught.value) == (
            "not an event from a source alb_adapter serves: it looks most like API Gateway HTTP "
            "API (payload 2.0), but lacks rawPath, rawQueryString, requestContext.http (API "
            "Gateway HTTP API, payload 2.0 (version 2.0 with requestContext.http, any domain but "
            "*.lambda-url.*)); the event has: secret, version"
        )


def test_an_event_like_no_source_lists_its_keys() -> None:
    event = {"kind": "ping", "token": "s3cr3t-token"}
    for handler in handlers():
        with handler, pytest.raises(UnsupportedEvent) as caught:
            handler(event, None)
        assert str(caught.value) == (
            f"not an event from a source alb_adapter serves ({served()}): "
            "the event has: kind, token"
        )


def test_non_http_handler_answers_without_the_app() -> None:
    seen: list[tuple[object, object]] = []

    def on_other_event(event: Any, context: Any) -> dict[str, object]:
        seen.append((event, context))
        return {"warmed": True}

    warmer = {"source": "serverless-plugin-warmup"}
    context = LambdaContext()
    APP_CALLS.clear()
    for handler in handlers(non_http_handler=on_other_event):
        with handler:
            assert handler(warmer, context) == {"warmed": True}
            # HTTP requests still go to the app, never to the hook.
            answer = handler(make_event("GET", "/"), context)
            assert (answer["statusCode"], answer["body"]) == (200, "hello")
    assert seen == [(warmer, context), (warmer, context)]
    assert APP_CALLS == ["wsgi", "asgi"]


def test_non_http_handler_must_be_callable() -> None:
    with pytest.raises(TypeError) as caught:
        Config(non_http_handler="warm")  # type: ignore[arg-type]
    assert str(caught.value) == (
        "non_http_handler must be a function (event, context) -> result, got str"
    )
