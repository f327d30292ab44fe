"""The same Flask example behind every front door Lambda has: ALB, API Gateway (REST API, HTTP API
with payload 1.0 and 2.0, each through a custom domain and on its execute-api URL under a stage),
a Function URL and VPC Lattice (V1 and V2).

Written in Flask's idiom: ``use_alb(app, source=..., stage=...)`` in the ``app`` fixture is the
only thing that changes from one front door to the next, and every test asks for the URL a
browser of that front door would use (``door.url("/login")``: ``https://shop.example.com/login``
through a custom domain, ``https://<api-id>.execute-api.<region>.amazonaws.com/prod/login`` under
the ``prod`` stage). The app never knows which door it is behind; what must hold everywhere is
that every URL it builds (``url_for``: links, the canonical URL, redirects, cookie paths) is one
the client can follow: under a stage, ``/prod`` is the app's mount point (``SCRIPT_NAME``).

The oracle for whole pages is Flask's own client, called directly at the same URL: through any
front door the app must answer what it answers there.
"""

from __future__ import annotations

from typing import NamedTuple
from urllib.parse import urlsplit

import flask_example
import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from alb_adapter.testing.flask import use_alb

# The services' example hosts (alb_adapter/sources/service_side.py, apigateway_v2/service.py).
EXECUTE_API = "https://a1b2c3d4e5.execute-api.us-east-1.amazonaws.com"
FUNCTION_URL = "https://abcdefghijklmnopqrstuvwxyz234567.lambda-url.us-east-1.on.aws"
CUSTOM_DOMAIN = "https://shop.example.com"  # an ALB's DNS alias, or a service's custom domain
HTML = "text/html; charset=utf-8"
JSON = "application/json"


class FrontDoor(NamedTuple):
    """A front door, and the base of the URLs its clients use."""

    source: str
    stage: str | None = None

    @property
    def site(self) -> str:
        """What a client's URLs start with: the API's invoke URL under a stage, a Function URL's
        own domain (it has no custom domains), else the custom domain."""
        if self.stage:
            return f"{EXECUTE_API}/{self.stage}"
        return FUNCTION_URL if self.source == "function-url" else CUSTOM_DOMAIN

    @property
    def mount(self) -> str:
        """Where the app is mounted, as the app sees it (``SCRIPT_NAME``): the stage, or the root."""
        return f"/{self.stage}" if self.stage else ""

    def url(self, path: str) -> str:
        return self.site + path

    @property
    def cookies_after_headers(self) -> bool:
        """Payload 2.0 answers carry Set-Cookie in a list of their own, delivered after the
        other headers (alb_adapter/sources/apigateway_v2/)."""
        return self.source in ("apigw-http-v2", "function-url")


DOORS = [
    FrontDoor("alb"),
    FrontDoor("apigw-rest"),
    FrontDoor("apigw-rest", "prod"),
    FrontDoor("apigw-http-v1"),
    FrontDoor("apigw-http-v1", "prod"),
    FrontDoor("apigw-http-v2"),
    FrontDoor("apigw-http-v2", "prod"),
    FrontDoor("function-url"),
    FrontDoor("vpc-lattice-v2"),
    FrontDoor("vpc-lattice-v1"),
]


@pytest.fixture(params=DOORS, ids=[f"{d.source}-{d.stage}" if d.stage else d.source for d in DOORS])
def door(request: pytest.FixtureRequest) -> FrontDoor:
    value: FrontDoor = request.param
    return value


@pytest.fixture
def app(door: FrontDoor) -> Flask:
    """The example app, its test client sent through ``door``: the one setting."""
    app = flask_example.create_app(secret_key="test-secret", secure_cookies=True)
    app.testing = True
    use_alb(app, source=door.source, stage=door.stage, health_check_path="/health")
    return app


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def headers_of(response: TestResponse) -> list[tuple[str, str]]:
    return response.headers.to_wsgi_list()


def direct(app: Flask, door: FrontDoor, path: str) -> TestResponse:
    """The oracle: Flask's own client calling the app directly at the URL a client of ``door``
    uses (werkzeug makes a base URL's path, the stage, the app's mount point, as the front door
    does)."""
    return FlaskClient(app).get(path, base_url=door.site)


def log_in(client: FlaskClient, door: FrontDoor, theme: str = "dark") -> TestResponse:
    return client.post(door.url("/login"), data={"user": "ada", "password": "x", "theme": theme})


def masked(cookie: str) -> str:
    """A Set-Cookie with its time-dependent parts (the signed value, the expiry date) masked."""
    name = cookie.partition("=")[0]
    attributes = [
        "Expires=…" if part.startswith("Expires=") else part for part in cookie.split("; ")[1:]
    ]
    return "; ".join([f"{name}=…", *attributes])


def test_the_home_page_links_to_the_urls_the_client_uses(
    app: Flask, client: FlaskClient, door: FrontDoor
) -> None:
    response = client.get(door.url("/"))

    assert response.status_code == 200
    assert headers_of(response) == [
        ("content-type", HTML),
        ("vary", "Cookie"),  # the page reads the session
        ("content-length", str(len(response.data))),
    ]
    page = response.get_data(as_text=True)
    assert f'<link rel="canonical" href="{door.url("/")}">' in page
    assert f'<a href="{door.mount}/login">Sign in</a>' in page
    assert f'<img src="{door.mount}/logo.png"' in page
    assert response.data == direct(app, door, "/").data


def test_the_login_sets_both_cookies_under_the_mount_point_and_redirects_inside_it(
    client: FlaskClient, door: FrontDoor
) -> None:
    response = log_in(client, door)

    assert response.status_code == 302
    path = door.mount or "/"
    cookies = [
        (
            "set-cookie",
            f"theme=…; Expires=…; Max-Age=2592000; Secure; Path={path}; SameSite=Lax",
        ),
        ("set-cookie", f"session=…; Secure; HttpOnly; Path={path}; SameSite=Lax"),
    ]
    vary = [("vary", "Cookie")]
    assert [
        (name, masked(v) if name == "set-cookie" else v) for name, v in headers_of(response)
    ] == [
        ("content-type", HTML),
        ("location", f"{door.mount}/"),
        *(vary + cookies if door.cookies_after_headers else cookies + vary),
        ("content-length", str(len(response.data))),
    ]
    # Both cookies went into the jar, and come back with the next request to the same site.
    profile = client.get(door.url("/account/profile"))
    assert (profile.status_code, profile.get_json()) == (
        200,
        {"user": "ada", "theme": "dark", "notes": 0},
    )


def test_a_redirect_is_followed_to_the_signed_in_page(client: FlaskClient, door: FrontDoor) -> None:
    response = client.post(
        door.url("/login"),
        data={"user": "ada", "password": "x", "theme": "dark"},
        follow_redirects=True,
    )

    assert [(page.status_code, page.location) for page in response.history] == [
        (302, f"{door.mount}/")
    ]
    assert response.request.url == door.url("/")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "Signed in as <strong>ada</strong>" in page
    assert '<body class="theme-dark">' in page


def test_the_api_answers_json_with_links_inside_the_mount_point(
    client: FlaskClient, door: FrontDoor
) -> None:
    anonymous = client.get(door.url("/account/profile"))

    assert anonymous.status_code == 401
    body = b'{"error":"login required","login":"' + door.mount.encode() + b'/login"}\n'
    assert headers_of(anonymous) == [
        ("content-type", JSON),
        ("vary", "Cookie"),
        ("content-length", str(len(body))),
    ]
    assert anonymous.data == body

    log_in(client, door)
    created = client.post(
        door.url("/account/notes"), data={"text": "buy tea"}, headers={"Accept": JSON}
    )
    assert created.status_code == 201
    assert created.headers["Location"] == f"{door.mount}/account/notes"
    assert created.get_json() == {"notes": ["buy tea"]}


def test_the_logo_arrives_as_the_same_bytes(
    app: Flask, client: FlaskClient, door: FrontDoor
) -> None:
    """A binary body: base64 in the function's answer, bytes again for the client (a REST API
    decodes it when the request's Accept matches its binaryMediaTypes, which the emulator
    assumes configured: docs/sources/apigateway_v1.md)."""
    response = client.get(door.url("/logo.png"))

    assert response.status_code == 200
    etag = direct(app, door, "/logo.png").headers["ETag"]
    # Date is the time of the request: left out.
    assert [(n, v) for n, v in headers_of(response) if n != "date"] == [
        ("content-type", "image/png"),
        ("cache-control", "public, max-age=86400"),
        ("etag", etag),
        ("content-length", str(len(flask_example.LOGO_PNG))),
    ]
    assert response.data == flask_example.LOGO_PNG
    cached = client.get(door.url("/logo.png"), headers={"If-None-Match": etag})
    assert (cached.status_code, cached.data) == (304, b"")


def test_the_logout_deletes_both_cookies(client: FlaskClient, door: FrontDoor) -> None:
    log_in(client, door)
    path = door.mount or "/"
    domain = urlsplit(door.site).hostname or ""
    assert client.get_cookie("session", domain=domain, path=path) is not None

    response = client.get(door.url("/logout"))

    assert response.status_code == 302
    assert response.location == f"{door.mount}/"
    assert sorted(masked(value) for value in response.headers.getlist("Set-Cookie")) == [
        f"session=…; Expires=…; Max-Age=0; Secure; HttpOnly; Path={path}; SameSite=Lax",
        f"theme=…; Expires=…; Max-Age=0; Secure; Path={path}; SameSite=Lax",
    ]
    assert client.get_cookie("session", domain=domain, path=path) is None
    assert client.get(door.url("/account/profile")).status_code == 401


def test_the_query_is_decoded_as_the_browser_meant_it(client: FlaskClient, door: FrontDoor) -> None:
    """ALB, a Function URL and Lattice pass the query raw; API Gateway's payload 1.0 decodes it
    and the adapter encodes it again as a form does (docs/sources/apigateway_v1.md), so the raw
    string differs there, and only there, while the decoded value is the same everywhere."""
    response = client.get(door.url("/search?q=a+b%2Bc%20d"))

    payload_1 = door.source in ("apigw-rest", "apigw-http-v1")
    assert response.get_json() == {
        "q": "a b+c d",
        "args": {"q": ["a b+c d"]},
        "query_string": "q=a+b%2Bc+d" if payload_1 else "q=a+b%2Bc%20d",
    }
