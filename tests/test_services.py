"""Every front door through one shape (alb_adapter/emulator/services.py): make_event(source=),
read_response(source=), and the test clients' source= and stage=."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask, jsonify, request, url_for

from alb_adapter import InvalidResponse, WSGIHandler
from alb_adapter.emulator.services import SERVICES, find_service
from alb_adapter.testing import ALBClient, ALBWSGIApp, LambdaContext, make_event, read_response

SOURCES = list(SERVICES)
API_GATEWAY = [name for name in SOURCES if name.startswith("apigw-")]
# The service's own answer when the function fails: (status, content type, body).
ERRORS: dict[str, tuple[int, str | None, bytes]] = {
    "alb": (502, "text/html", b"<center><h1>502 Bad Gateway</h1></center>"),
    "apigw-rest": (502, "application/json", b'{"message": "Internal server error"}'),
    "apigw-http-v1": (500, "application/json", b'{"message":"Internal Server Error"}'),
    "apigw-http-v2": (500, "application/json", b'{"message":"Internal Server Error"}'),
    "function-url": (502, "text/plain", b"Internal Server Error"),
    "vpc-lattice-v2": (502, None, b""),
    "vpc-lattice-v1": (502, None, b""),
}


def echo_app() -> Flask:
    app = Flask(__name__)

    @app.route("/items/<name>", methods=["GET", "POST"])
    def item(name: str) -> Any:
        response = jsonify(
            name=name,
            query=request.args.getlist("q"),
            client=request.remote_addr,
            script_root=request.script_root,
            url=url_for("item", name="x", _external=True),
            cookies=dict(request.cookies),
            body=request.get_data(as_text=True),
        )
        response.set_cookie("a", "1")
        response.set_cookie("b", "2")
        return response

    @app.get("/fail")
    def fail() -> Any:
        return {"not": "reached"}

    return app


HANDLER = WSGIHandler(echo_app())


@pytest.mark.parametrize("source", SOURCES)
def test_make_event_and_read_response_for_each_front_door(source: str) -> None:
    event = make_event(
        "POST",
        "/items/a%20b?q=1&q=2",
        headers={"cookie": "s=1; t=2"},
        body="hello",
        host="shop.example.com",
        client_ip="203.0.113.9",
        source=source,
    )
    answer = read_response(HANDLER(event, LambdaContext()), source=source)
    # Single-value ALB keeps the last of a repeated query key, as ALB does (rule 3); VPC Lattice
    # V1 too. The others keep both.
    last_only = source in ("alb", "vpc-lattice-v1")
    host = "shop.example.com"
    if source == "function-url":
        host = find_service(source).event("GET", "/")["requestContext"]["domainName"]
    assert answer.status == 200
    assert answer.header_values("set-cookie") == ["a=1; Path=/", "b=2; Path=/"]
    assert answer.json() == {
        "name": "a b",
        "query": ["2"] if last_only else ["1", "2"],
        "client": "203.0.113.9",
        "script_root": "",
        "url": f"https://{host}/items/x",
        "cookies": {"s": "1", "t": "2"},
        "body": "hello",
    }


@pytest.mark.parametrize("source", API_GATEWAY)
def test_a_stage_is_the_apps_script_root_on_the_execute_api_url(source: str) -> None:
    event = make_event("GET", "/prod/items/x", source=source, stage="prod")
    answer = read_response(HANDLER(event, LambdaContext()), source=source)
    domain = "a1b2c3d4e5.execute-api.us-east-1.amazonaws.com"
    assert (answer.json()["script_root"], answer.json()["url"]) == (
        "/prod",
        f"https://{domain}/prod/items/x",
    )


@pytest.mark.parametrize("source", SOURCES)
def test_the_client_goes_through_each_front_door_and_keeps_cookies(source: str) -> None:
    with ALBClient(HANDLER, source=source, base_url="https://shop.example.com") as client:
        first = client.get("/items/one")
        second = client.get("/items/two")
    assert (first.status_code, second.status_code) == (200, 200)
    assert second.json()["cookies"] == {"a": "1", "b": "2"}


@pytest.mark.parametrize("source", API_GATEWAY)
def test_the_client_with_a_stage_sends_to_the_execute_api_url(source: str) -> None:
    with ALBClient(HANDLER, source=source, stage="prod") as client:
        answer = client.get("/prod/items/x")
    assert (answer.status_code, answer.json()["script_root"]) == (200, "/prod")


@pytest.mark.parametrize("source", SOURCES)
def test_a_failing_function_gets_the_services_own_answer(source: str) -> None:
    def broken(event: object, context: object) -> dict[str, object]:
        raise RuntimeError("boom")

    with ALBClient(broken, source=source, base_url="https://shop.example.com") as client:
        answer = client.get("/")
    status, content_type, body = ERRORS[source]
    assert (answer.status_code, answer.headers.get("content-type")) == (status, content_type)
    if source == "alb":  # ALB's own HTML page (emulator/invocation.py's alb_error)
        assert body in answer.content
    else:
        assert answer.content == body
    assert answer.headers["x-alb-emulator-error"] == "LambdaUnhandled: RuntimeError: boom"


@pytest.mark.parametrize("source", [name for name in SOURCES if name != "alb"])
def test_an_answer_the_service_cannot_read_is_refused_with_the_reason(source: str) -> None:
    with pytest.raises(InvalidResponse) as caught:
        read_response({"statusCode": "200", "body": 7}, source=source)
    assert str(caught.value).startswith("malformed Lambda response: ")


def test_settings_a_front_door_does_not_have_are_refused() -> None:
    with pytest.raises(ValueError, match=r"^no front door called 'nlb'; the front doors are: alb,"):
        ALBClient(HANDLER, source="nlb")
    with pytest.raises(ValueError, match="multi_value_headers is ALB's target-group setting"):
        ALBWSGIApp(HANDLER, source="apigw-rest", multi_value_headers=True)
    with pytest.raises(ValueError, match="stage= is an API Gateway setting; ALB has no stages"):
        make_event("GET", "/", stage="prod")
    with pytest.raises(ValueError, match="trace_id= is for ALB's events"):
        make_event("GET", "/", source="apigw-http-v2", trace_id="Root=1-2-3")
