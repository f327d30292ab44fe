"""alb_adapter.testing.flask: Flask's own test client with every request sent through ALB.

Each behaviour is checked against what the request really went through (the event ALB built is in
``flask.request.environ["aws.event"]``), in both header modes, and, where Flask's own client is the
oracle (statuses, bodies, propagated exceptions), against ``FlaskClient`` run directly. The tests
at the end are the failures only the ALB path catches.
"""

from __future__ import annotations

import gzip
import logging
import re
import subprocess
import sys
from collections.abc import Callable, Iterable, Iterator
from typing import Any, NamedTuple

import flask
import pytest
from flask import Flask, jsonify, redirect, request, session, stream_with_context, url_for
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from alb_adapter import WSGIHandler
from alb_adapter.errors import AppError
from alb_adapter.testing.flask import ALBFlaskClient, use_alb
from tests.support import logged_above_debug

Environ = dict[str, Any]
StartResponse = Any

JSON = "application/json"
HTML = "text/html; charset=utf-8"
ONE_MEGABYTE_AND_MORE = 1_100_000


def make_app() -> Flask:
    """A small app with one route per behaviour under test; TESTING on, as in a test suite."""
    app = Flask(__name__)
    app.config.update(SECRET_KEY="test-secret", TESTING=True)

    @app.route("/echo", methods=["GET", "POST"])
    def echo() -> Any:
        event = request.environ.get("aws.event", {})
        field = "multiValueHeaders" if "multiValueHeaders" in event else "headers"
        return jsonify(
            method=request.method,
            path=request.path,
            script_root=request.script_root,
            query=request.query_string.decode(),
            remote_addr=request.remote_addr,
            user=session.get("user"),
            body=request.get_data(as_text=True),
            event_header_field=field if event else None,
            forwarded_for=request.headers.get("X-Forwarded-For"),
            link=url_for("echo", _external=True),
        )

    @app.post("/login")
    def login() -> Any:
        session["user"] = request.form["user"]
        response = redirect(url_for("echo"))
        response.set_cookie("theme", request.form.get("theme", "light"))
        return response

    @app.get("/boom")
    def boom() -> Any:
        raise ZeroDivisionError("the view divided by zero")

    @app.get("/stream-fails")
    def stream_fails() -> Any:
        def chunks() -> Iterator[str]:
            yield "first chunk\n"
            raise LookupError("the stream broke halfway")

        return app.response_class(stream_with_context(chunks()), mimetype="text/plain")

    @app.get("/three-cookies")
    def three_cookies() -> Any:
        response = jsonify(cookies=3)
        for name in ("a", "b", "c"):
            response.set_cookie(name, name.upper())
        return response

    @app.get("/report")
    def report() -> Any:
        return app.response_class("x" * ONE_MEGABYTE_AND_MORE, mimetype="text/plain")

    @app.get("/items")
    def items() -> Any:
        return jsonify(items=["tea"], link=url_for("items"))

    @app.get("/items-by-hand")
    def items_by_hand() -> Any:
        return redirect("/items")  # the defect: a path written by hand ignores the mount point

    @app.get("/items-by-url-for")
    def items_by_url_for() -> Any:
        return redirect(url_for("items"))

    return app


def alb_client(app: Flask, **options: Any) -> ALBFlaskClient:
    """``app.test_client(**options)``, through ALB (with ALB's defaults unless use_alb ran)."""
    if app.test_client_class is None:
        app.test_client_class = ALBFlaskClient
    client = app.test_client(**options)
    assert isinstance(client, ALBFlaskClient)
    return client


@pytest.fixture
def app() -> Flask:
    return make_app()


@pytest.fixture
def client(app: Flask, multi: bool) -> ALBFlaskClient:
    use_alb(app, multi_value_headers=multi)
    return alb_client(app)


def headers_of(response: TestResponse) -> list[tuple[str, str]]:
    return response.headers.to_wsgi_list()


# --------------------------------------------------------------------------- the one setting


def test_app_test_client_sends_every_request_through_alb(
    client: ALBFlaskClient, multi: bool
) -> None:
    response = client.post("/echo?q=a+b%2B", data=b"hello", content_type="text/plain")

    assert response.status_code == 200
    assert headers_of(response) == [
        ("content-type", JSON),
        ("vary", "Cookie"),
        ("content-length", str(len(response.data))),
    ]
    assert response.get_json() == {
        "method": "POST",
        "path": "/echo",
        "script_root": "",
        "query": "q=a+b%2B",  # raw, as the client sent it
        "remote_addr": "127.0.0.1",  # FlaskClient's REMOTE_ADDR, appended by ALB
        "user": None,
        "body": "hello",
        "event_header_field": "multiValueHeaders" if multi else "headers",
        "forwarded_for": "127.0.0.1",
        "link": "http://localhost/echo",
    }
    assert client.multi_value_headers is multi
    assert isinstance(client.handler, WSGIHandler)


def test_use_alb_sets_the_client_class_and_test_client_overrides_its_defaults(app: Flask) -> None:
    client_class = use_alb(app, multi_value_headers=True, base_path="/shop")

    assert app.test_client_class is client_class
    assert issubclass(client_class, ALBFlaskClient)
    assert client_class.__name__ == "ALBFlaskClient"
    defaults = alb_client(app)
    assert defaults.multi_value_headers is True
    assert defaults.get("/shop/echo").get_json()["script_root"] == "/shop"
    overridden = alb_client(app, multi_value_headers=False, base_path="/store")
    assert overridden.multi_value_headers is False
    assert overridden.get("/store/echo").get_json()["event_header_field"] == "headers"
    assert (
        repr(overridden)
        == "<ALBFlaskClient <Flask 'tests.test_testing_flask'> through ALB, single-value headers>"
    )

    app.test_client_class = None  # Flask's own client again
    assert type(app.test_client()) is FlaskClient


def test_the_class_alone_gives_albs_defaults(app: Flask) -> None:
    app.test_client_class = ALBFlaskClient
    client = alb_client(app)

    assert client.multi_value_headers is False
    assert client.get("/echo").get_json()["event_header_field"] == "headers"


def test_a_ready_made_handler_is_used_as_it_is(app: Flask, multi: bool) -> None:
    handler = WSGIHandler(app, base_path="/shop")
    client = alb_client(app, handler=handler, multi_value_headers=multi)

    assert client.handler is handler
    response = client.get("/shop/echo")
    assert response.status_code == 200
    assert response.get_json()["script_root"] == "/shop"
    assert response.get_json()["event_header_field"] == (
        "multiValueHeaders" if multi else "headers"
    )


# --------------------------------------------------------------------------- Flask's idioms


def test_cookies_redirects_and_the_session(client: ALBFlaskClient) -> None:
    response = client.post("/login", data={"user": "ada", "theme": "dark"}, follow_redirects=True)

    assert response.status_code == 200
    assert response.get_json()["user"] == "ada"
    assert response.request.path == "/echo"
    [login] = response.history
    assert login.status_code == 302
    # Both Set-Cookie arrive in either header mode (in single-value mode the handler sends them
    # under case variants of the key, which ALB delivers as separate headers).
    [(_, session_cookie)] = [(n, v) for n, v in headers_of(login) if v.startswith("session=")]
    assert re.fullmatch(r"session=[\w.-]+; HttpOnly; Path=/", session_cookie)
    assert headers_of(login) == [
        ("content-type", HTML),
        ("location", "/echo"),
        ("set-cookie", "theme=dark; Path=/"),
        ("set-cookie", session_cookie),
        ("vary", "Cookie"),
        ("content-length", str(len(login.data))),
    ]
    theme = client.get_cookie("theme")
    assert theme is not None
    assert theme.value == "dark"
    assert client.get("/echo").get_json()["user"] == "ada"


def test_session_transaction_reads_and_writes_the_clients_session(client: ALBFlaskClient) -> None:
    with client.session_transaction() as flask_session:
        flask_session["user"] = "grace"

    assert client.get("/echo").get_json()["user"] == "grace"
    client.post("/login", data={"user": "ada"})
    with client.session_transaction() as flask_session:
        assert dict(flask_session) == {"user": "ada"}


def test_with_client_keeps_the_request_context_the_handler_built(
    client: ALBFlaskClient, multi: bool
) -> None:
    with client:
        client.post("/login", data={"user": "ada"})
        response = client.get("/echo?q=1")

        assert response.status_code == 200
        assert flask.request.path == "/echo"
        assert flask.request.args["q"] == "1"
        assert flask.session["user"] == "ada"
        # The environ is the one the handler built from ALB's event, not the test client's.
        event = flask.request.environ["aws.event"]
        assert event["path"] == "/echo"
        assert ("multiValueHeaders" in event) is multi
    assert not flask.has_request_context()


def test_with_client_outside_a_block_keeps_nothing(client: ALBFlaskClient) -> None:
    client.get("/echo")

    assert not flask.has_request_context()


def test_with_client_and_a_ready_made_handler_keeps_no_context(app: Flask) -> None:
    """The client cannot reach the app inside someone else's handler: the block still works
    (a fixture's ``with app.test_client() as client``), but no context is kept."""
    client = alb_client(app, handler=WSGIHandler(app))
    with client:
        assert client.get("/echo").status_code == 200
        assert not flask.has_request_context()


# --------------------------------------------------------------------------- the app's exceptions


def test_an_exception_flask_propagates_reaches_the_test(
    client: ALBFlaskClient, caplog: pytest.LogCaptureFixture
) -> None:
    with pytest.raises(ZeroDivisionError, match="the view divided by zero"):
        client.get("/boom")

    # The handler did what it does in production on the way: logged it and answered 500.
    [record] = [r for r in caplog.records if r.name == "alb_adapter"]
    assert record.getMessage() == "GET /boom: the application failed; answering 500"
    assert record.exc_info is not None
    assert isinstance(record.exc_info[1], ZeroDivisionError)
    # The client is not left in a broken state.
    assert client.get("/echo").status_code == 200


def test_the_same_exception_reaches_the_test_as_with_flasks_own_client(app: Flask) -> None:
    with pytest.raises(ZeroDivisionError) as direct:
        FlaskClient(app).get("/boom")
    with pytest.raises(ZeroDivisionError) as through_alb:
        alb_client(app).get("/boom")

    assert str(through_alb.value) == str(direct.value)
    assert through_alb.traceback[-1].name == direct.traceback[-1].name == "boom"


def test_an_exception_flask_handles_is_its_own_500_page(app: Flask, multi: bool) -> None:
    app.config["PROPAGATE_EXCEPTIONS"] = False
    direct = FlaskClient(app).get("/boom")
    response = ALBFlaskClient(app, multi_value_headers=multi).get("/boom")

    assert response.status_code == direct.status_code == 500
    assert response.data == direct.data
    assert headers_of(response) == [("content-type", HTML), ("content-length", "265")]


def test_an_exception_in_a_streamed_body_reaches_the_test(client: ALBFlaskClient) -> None:
    with pytest.raises(LookupError, match="the stream broke halfway"):
        client.get("/stream-fails")


def test_handler_errors_reach_the_test_unless_asked_for_albs_502(app: Flask, multi: bool) -> None:
    """A handler that raises (here a ready-made one with raise_app_exceptions=True): the test sees
    the exception by default, ALB's 502 with ``raise_handler_errors=False``."""
    handler = WSGIHandler(app, raise_app_exceptions=True)
    with pytest.raises(ZeroDivisionError):
        ALBFlaskClient(app, handler=handler, multi_value_headers=multi).get("/boom")

    quiet = ALBFlaskClient(
        app, handler=handler, multi_value_headers=multi, raise_handler_errors=False
    )
    response = quiet.get("/boom")
    assert response.status_code == 502
    assert headers_of(response) == [
        ("server", "awselb/2.0"),
        ("content-type", "text/html"),
        ("content-length", "122"),
        ("x-alb-emulator-error", "LambdaUnhandled: ZeroDivisionError: the view divided by zero"),
    ]
    assert response.data == (
        b"<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
        b"<center><h1>502 Bad Gateway</h1></center>\r\n</body>\r\n</html>\r\n"
    )


# --------------------------------------------------------------------------- misuse


def test_unknown_options_are_refused_with_the_list(app: Flask) -> None:
    app.test_client_class = ALBFlaskClient
    with pytest.raises(TypeError) as error:
        app.test_client(bas_path="/shop")

    prefix = (
        "ALBFlaskClient: unknown option 'bas_path'; the options are multi_value_headers, "
        "handler, client_ip, timeout, raise_handler_errors, source, stage, and the handler's: "
    )
    message = str(error.value)
    assert message.startswith(prefix)
    # Every option of alb_adapter/config.py is listed (new ones join the list by themselves).
    assert set(message.removeprefix(prefix).split(", ")) >= {
        "base_path",
        "text_content_types",
        "multi_cookie",
        "trusted_hops",
        "default_host",
        "health_check_path",
        "max_response_bytes",
        "raise_app_exceptions",
    }


def test_use_alb_checks_the_options_at_once(app: Flask) -> None:
    with pytest.raises(ValueError, match="base_path must start with '/', got 'shop'"):
        use_alb(app, base_path="shop")
    with pytest.raises(TypeError, match="multi_value_headers must be True or False, got 'yes'"):
        use_alb(app, multi_value_headers="yes")  # type: ignore[arg-type]
    assert app.test_client_class is None


def test_a_handler_and_handler_options_together_are_refused(app: Flask) -> None:
    with pytest.raises(TypeError) as error:
        use_alb(app, handler=WSGIHandler(app), base_path="/shop")

    assert str(error.value) == (
        "use_alb(): handler= is a ready-made handler, built with its own options; give either "
        "handler= or the options to build one (base_path), not both"
    )


def test_use_alb_needs_a_flask_app() -> None:
    def wsgi_app(environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        return []

    with pytest.raises(
        TypeError, match=r"use_alb\(\) needs a Flask app, got function; .*ALBWSGIApp"
    ):
        use_alb(wsgi_app)  # type: ignore[arg-type]


def test_importing_the_testing_package_does_not_import_flask() -> None:
    code = "import sys, alb_adapter.testing; print('flask' in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "False"


# --------------------------------------------------------------------------- only through ALB


def test_a_response_over_one_megabyte_is_the_handlers_explained_502(
    app: Flask, multi: bool, caplog: pytest.LogCaptureFixture
) -> None:
    assert FlaskClient(app).get("/report").status_code == 200  # directly: nothing wrong

    response = ALBFlaskClient(app, multi_value_headers=multi).get("/report")

    assert response.status_code == 502
    size = 1_100_158 if multi else 1_100_146
    body = (
        "Bad Gateway: the response is larger than ALB accepts "
        f"(response JSON: {size} bytes, limit 1000000).\n"
    ).encode()
    assert headers_of(response) == [
        ("content-type", "text/plain; charset=utf-8"),
        ("content-length", str(len(body))),
    ]
    assert response.data == body
    assert [r.levelname for r in caplog.records if r.name == "alb_adapter"] == ["ERROR"]


def test_a_response_over_one_megabyte_past_a_raised_limit_is_albs_own_502(
    app: Flask, multi: bool
) -> None:
    """A handler told it may send more than ALB takes: ALB answers its unexplained 502, and the
    client says why in the emulator's header."""
    client = ALBFlaskClient(app, multi_value_headers=multi, max_response_bytes=2_000_000)

    response = client.get("/report")

    size = 1_100_158 if multi else 1_100_146
    assert response.status_code == 502
    assert headers_of(response) == [
        ("server", "awselb/2.0"),
        ("content-type", "text/html"),
        ("content-length", "122"),
        (
            "x-alb-emulator-error",
            f"LambdaInvalidResponse: the response JSON is {size} bytes, over ALB's limit of "
            "1000000 (LambdaResponseTooLarge)",
        ),
    ]


def test_a_large_response_to_a_gzip_client_is_compressed_to_fit(app: Flask, multi: bool) -> None:
    response = ALBFlaskClient(app, multi_value_headers=multi).get(
        "/report", headers={"Accept-Encoding": "gzip"}
    )

    assert response.status_code == 200
    assert headers_of(response) == [
        ("content-type", "text/plain; charset=utf-8"),
        ("content-encoding", "gzip"),
        ("vary", "Accept-Encoding"),
        ("content-length", str(len(response.data))),
    ]
    assert gzip.decompress(response.data) == b"x" * ONE_MEGABYTE_AND_MORE


def cookie_pairs(response: TestResponse) -> list[str]:
    return [value for name, value in headers_of(response) if name == "set-cookie"]


def test_three_cookies_all_arrive_by_default_in_both_modes(app: Flask, multi: bool) -> None:
    """In single-value mode the handler sends them under case variants of the key
    (alb_adapter/sources/alb/response.py), which ALB delivers as three headers."""
    response = ALBFlaskClient(app, multi_value_headers=multi).get("/three-cookies")

    assert response.status_code == 200
    assert cookie_pairs(response) == ["a=A; Path=/", "b=B; Path=/", "c=C; Path=/"]
    assert response.get_json() == {"cookies": 3}


def test_three_cookies_with_multi_cookie_last_keep_only_the_last_in_single_value_mode(
    app: Flask, multi: bool, caplog: pytest.LogCaptureFixture
) -> None:
    response = ALBFlaskClient(app, multi_value_headers=multi, multi_cookie="last").get(
        "/three-cookies"
    )

    assert response.status_code == 200
    if multi:
        assert cookie_pairs(response) == ["a=A; Path=/", "b=B; Path=/", "c=C; Path=/"]
        assert logged_above_debug(caplog.records) == []
    else:
        assert cookie_pairs(response) == ["c=C; Path=/"]
        assert logged_above_debug(caplog.records) == [
            "3 Set-Cookie headers in single-value mode: only the last is sent "
            "(multi_cookie='last'); enable lambda.multi_value_headers.enabled on the target "
            "group to send them all. Warned once."
        ]


def test_three_cookies_with_multi_cookie_error_are_a_500_in_single_value_mode(
    app: Flask, multi: bool
) -> None:
    response = ALBFlaskClient(app, multi_value_headers=multi, multi_cookie="error").get(
        "/three-cookies"
    )

    if multi:
        assert response.status_code == 200
        assert len(cookie_pairs(response)) == 3
    else:
        assert response.status_code == 500
        assert headers_of(response) == [
            ("content-type", "text/plain; charset=utf-8"),
            ("content-length", "22"),
        ]
        assert response.data == b"Internal Server Error\n"


def with_timing_header(app: Flask) -> None:
    """A WSGI middleware of the kind apps grow: it adds a header whose value is a number."""
    inner = app.wsgi_app

    def timed(environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        def start(status: str, headers: list[tuple[str, Any]], exc_info: Any = None) -> Any:
            return start_response(status, [*headers, ("X-Elapsed-Ms", 3)], exc_info)

        return inner(environ, start)

    app.wsgi_app = timed  # type: ignore[method-assign]


def test_a_header_value_that_is_not_a_string_is_a_500(
    app: Flask, multi: bool, caplog: pytest.LogCaptureFixture
) -> None:
    with_timing_header(app)
    direct = FlaskClient(app).get("/items")
    assert direct.status_code == 200  # werkzeug turns the 3 into "3"
    assert direct.headers["X-Elapsed-Ms"] == "3"

    response = ALBFlaskClient(app, multi_value_headers=multi).get("/items")

    # Never raised in the test (Flask did not raise anything): the answer production gives.
    assert response.status_code == 500
    assert headers_of(response) == [
        ("content-type", "text/plain; charset=utf-8"),
        ("content-length", "22"),
    ]
    assert response.data == b"Internal Server Error\n"
    [record] = [r for r in caplog.records if r.name == "alb_adapter"]
    assert record.exc_info is not None
    assert (
        str(record.exc_info[1]) == "each response header must be a (str, str) tuple, got (str, int)"
    )


def test_raise_app_exceptions_shows_the_adapters_verdict_as_an_exception(
    app: Flask, multi: bool
) -> None:
    """The handler option for those who prefer the exception to the 500 production answers."""
    with_timing_header(app)
    client = ALBFlaskClient(app, multi_value_headers=multi, raise_app_exceptions=True)

    with pytest.raises(AppError, match=r"got \(str, int\)$"):
        client.get("/items")


def test_a_path_under_a_base_path_reaches_the_apps_route(app: Flask, multi: bool) -> None:
    assert FlaskClient(app).get("/shop/items").status_code == 404  # directly: no such route

    client = ALBFlaskClient(app, multi_value_headers=multi, base_path="/shop")
    response = client.get("/shop/items")

    assert response.status_code == 200
    assert response.get_json() == {"items": ["tea"], "link": "/shop/items"}
    assert client.get("/shop/echo").get_json()["link"] == "http://localhost/shop/echo"


def test_a_redirect_written_by_hand_leaves_the_base_path(app: Flask, multi: bool) -> None:
    """Directly both redirects say ``/items``; under ``/shop`` only ``url_for`` stays inside the
    prefix, and ALB's listener rule would send ``/items`` to another target."""
    direct = FlaskClient(app)
    assert direct.get("/items-by-hand").location == direct.get("/items-by-url-for").location

    client = ALBFlaskClient(app, multi_value_headers=multi, base_path="/shop")

    assert client.get("/shop/items-by-url-for").location == "/shop/items"
    assert client.get("/shop/items-by-hand").location == "/items"


def test_albs_front_door_refuses_what_alb_refuses(client: ALBFlaskClient) -> None:
    trace = client.open("/echo", method="TRACE")
    too_big = client.post("/echo", data=b"x" * 1_000_001)

    assert (trace.status_code, too_big.status_code) == (405, 413)
    assert headers_of(trace)[-1] == ("x-alb-emulator-error", "TRACE is not allowed by ALB")
    assert headers_of(too_big) == [
        ("server", "awselb/2.0"),
        ("content-type", "text/html"),
        ("content-length", str(len(too_big.data))),
        (
            "x-alb-emulator-error",
            "the request body of 1,000,001 bytes is over ALB's limit of 1,000,000 bytes",
        ),
    ]


def test_nothing_is_logged_above_debug_for_a_login(
    client: ALBFlaskClient, caplog: pytest.LogCaptureFixture
) -> None:
    """Cookies, form bodies and the session never reach the logs (docs/alb-behaviour.md,
    rule 15): here nothing at all is logged above DEBUG."""
    caplog.set_level(logging.DEBUG)
    response = client.post(
        "/login", data={"user": "ada", "password": "hunter2"}, follow_redirects=True
    )

    assert response.status_code == 200
    assert logged_above_debug(caplog.records) == []


# --------------------------------------------------------------------------- other front doors

EXECUTE_API = "a1b2c3d4e5.execute-api.us-east-1.amazonaws.com"  # the services' example API


class FrontDoor(NamedTuple):
    """One way to reach the function, and what tells its event apart from the others'."""

    source: str
    stage: str | None
    event_is_its_own: Callable[[dict[str, Any]], bool]

    @property
    def prefix(self) -> str:
        """What the client's paths start with: the stage, on the execute-api URL."""
        return f"/{self.stage}" if self.stage else ""

    @property
    def payload_2(self) -> bool:
        """The answer format with a ``cookies`` list, sent after the other headers."""
        return self.source in ("apigw-http-v2", "function-url")


FRONT_DOORS = [
    FrontDoor("apigw-rest", "prod", lambda event: event["requestContext"]["stage"] == "prod"),
    FrontDoor("apigw-http-v1", None, lambda event: event["version"] == "1.0"),
    FrontDoor("apigw-http-v2", "prod", lambda event: event["rawPath"] == "/prod/echo"),
    FrontDoor(
        "function-url",
        None,
        lambda event: event["requestContext"]["domainName"].endswith(
            ".lambda-url.us-east-1.on.aws"
        ),
    ),
    FrontDoor("vpc-lattice-v2", None, lambda event: "serviceNetworkArn" in event["requestContext"]),
    FrontDoor("vpc-lattice-v1", None, lambda event: event["raw_path"] == "/echo"),
]
FRONT_DOOR_IDS = [
    f"{door.source}-{door.stage}" if door.stage else door.source for door in FRONT_DOORS
]


@pytest.fixture(params=FRONT_DOORS, ids=FRONT_DOOR_IDS)
def door(request: pytest.FixtureRequest) -> FrontDoor:
    value: FrontDoor = request.param
    return value


def test_source_sends_every_request_through_that_front_door(app: Flask, door: FrontDoor) -> None:
    use_alb(app, source=door.source, stage=door.stage)
    client = alb_client(app)

    with client:
        response = client.post(
            f"{door.prefix}/echo?q=a+b%2B", data=b"hello", content_type="text/plain"
        )
        assert door.event_is_its_own(flask.request.environ["aws.event"])

    assert (client.source, client.stage) == (door.source, door.stage)
    assert response.status_code == 200
    assert headers_of(response) == [
        ("content-type", JSON),
        ("vary", "Cookie"),
        ("content-length", str(len(response.data))),
    ]
    # Under a stage the app is on the execute-api host with the stage as its mount point, so
    # url_for gives the execute-api URL; a Function URL's event names its own domain, whatever
    # host the client used; elsewhere the client's host. Lattice's event has no scheme
    # (alb_adapter/sources/lattice/request.py): the app takes https.
    if door.stage:
        link = f"http://{EXECUTE_API}/prod/echo"
    elif door.source == "function-url":
        link = "http://abcdefghijklmnopqrstuvwxyz234567.lambda-url.us-east-1.on.aws/echo"
    elif door.source.startswith("vpc-lattice"):
        link = "https://localhost/echo"
    else:
        link = "http://localhost/echo"
    assert response.get_json() == {
        "method": "POST",
        "path": "/echo",
        "script_root": door.prefix,
        "query": "q=a+b%2B",
        "remote_addr": "127.0.0.1",  # the service's source IP: FlaskClient's REMOTE_ADDR
        "user": None,
        "body": "hello",
        "event_header_field": (
            "multiValueHeaders" if door.source in ("apigw-rest", "apigw-http-v1") else "headers"
        ),
        "forwarded_for": "127.0.0.1",
        "link": link,
    }


def test_every_front_door_delivers_every_cookie_and_the_redirect(
    app: Flask, door: FrontDoor
) -> None:
    client = alb_client(app, source=door.source, stage=door.stage)

    response = client.post(
        f"{door.prefix}/login", data={"user": "ada", "theme": "dark"}, follow_redirects=True
    )

    assert response.status_code == 200
    assert response.request.path == f"{door.prefix}/echo"
    assert response.get_json()["user"] == "ada"
    [login] = response.history
    assert login.status_code == 302
    [session_cookie] = [v for n, v in headers_of(login) if v.startswith("session=")]
    assert re.fullmatch(r"session=[\w.-]+; HttpOnly; Path=/", session_cookie)
    cookies = [("set-cookie", "theme=dark; Path=/"), ("set-cookie", session_cookie)]
    vary = [("vary", "Cookie")]
    assert headers_of(login) == [
        ("content-type", HTML),
        ("location", f"{door.prefix}/echo"),
        *(vary + cookies if door.payload_2 else cookies + vary),
        ("content-length", str(len(login.data))),
    ]
    assert client.get(f"{door.prefix}/three-cookies").headers.getlist("Set-Cookie") == [
        "a=A; Path=/",
        "b=B; Path=/",
        "c=C; Path=/",
    ]


@pytest.mark.parametrize(
    ("source", "status", "content_type", "body"),
    [
        ("apigw-rest", 502, [("content-type", JSON)], b'{"message": "Internal server error"}'),
        ("apigw-http-v1", 500, [("content-type", JSON)], b'{"message":"Internal Server Error"}'),
        ("apigw-http-v2", 500, [("content-type", JSON)], b'{"message":"Internal Server Error"}'),
        ("function-url", 502, [("content-type", "text/plain")], b"Internal Server Error"),
        ("vpc-lattice-v2", 502, [], b""),  # an empty body, and no type for it
    ],
)
def test_a_function_that_fails_gets_the_front_doors_own_error(
    app: Flask, source: str, status: int, content_type: list[tuple[str, str]], body: bytes
) -> None:
    handler = WSGIHandler(app, raise_app_exceptions=True)
    client = alb_client(app, handler=handler, source=source, raise_handler_errors=False)

    response = client.get("/boom")

    assert response.status_code == status
    assert headers_of(response) == [
        *content_type,
        ("content-length", str(len(body))),
        ("x-alb-emulator-error", "LambdaUnhandled: ZeroDivisionError: the view divided by zero"),
    ]
    assert response.data == body


def test_the_repr_names_the_front_door(app: Flask) -> None:
    flask_app = "<Flask 'tests.test_testing_flask'>"

    assert repr(alb_client(app, source="apigw-rest", stage="prod")) == (
        f"<ALBFlaskClient {flask_app} through API Gateway REST API, stage 'prod'>"
    )
    assert repr(alb_client(app, source="function-url")) == (
        f"<ALBFlaskClient {flask_app} through Lambda Function URL>"
    )


@pytest.mark.parametrize(
    ("options", "error", "message"),
    [
        (
            {"source": "function-url", "stage": "prod"},
            ValueError,
            "use_alb(): stage= is an API Gateway setting; Lambda Function URL has no stages",
        ),
        (
            {"stage": "prod"},
            ValueError,
            "use_alb(): stage= is an API Gateway setting; ALB has no stages",
        ),
        (
            {"source": "apigw-http-v2", "multi_value_headers": True},
            ValueError,
            "use_alb(): multi_value_headers is ALB's target-group setting; API Gateway HTTP API "
            "(payload 2.0) has one event format",
        ),
        (
            {"source": "cloudfront"},
            ValueError,
            "use_alb(): no front door called 'cloudfront'; the front doors are: alb, apigw-rest, "
            "apigw-http-v1, apigw-http-v2, function-url, vpc-lattice-v2, vpc-lattice-v1",
        ),
        (
            {"source": "apigw-rest", "stage": 1},
            TypeError,
            "use_alb(): stage must be a stage name or None, got 1",
        ),
    ],
)
def test_settings_a_front_door_does_not_have_are_refused_when_set(
    app: Flask, options: dict[str, Any], error: type[Exception], message: str
) -> None:
    with pytest.raises(error) as raised:
        use_alb(app, **options)

    assert str(raised.value) == message
    assert app.test_client_class is None
    app.test_client_class = ALBFlaskClient
    with pytest.raises(error) as per_client:
        app.test_client(**options)
    assert str(per_client.value) == message.replace("use_alb()", "ALBFlaskClient")
