"""The same FastAPI example behind every front door Lambda has: ALB, API Gateway (REST API, HTTP
API with payload 1.0 and 2.0, each through a custom domain and on its execute-api URL under a
stage), a Function URL and VPC Lattice (V1 and V2).

Written as FastAPI's documentation writes tests, ``with TestClient(app) as client:``, with the
``TestClient`` of ``alb_adapter.testing.starlette``, whose ``source=`` and ``stage=`` are the only
things that change from one front door to the next. The client's base URL is the one a browser of
that door uses: under a stage, the API's invoke URL
``https://<api-id>.execute-api.<region>.amazonaws.com/prod``, so the tests' paths are the app's
own (``/login``) and the stage is in front of them on the wire, as it is in the browser. The app
sees the stage as its ``root_path``, and every URL it builds with ``request.url_for`` (links,
redirects, ``Location``) is then one the client can follow; cookies are scoped to it.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Iterator
from typing import NamedTuple

import fastapi_example
import pytest
from fastapi import FastAPI

from alb_adapter.testing.starlette import TestClient

# The services' example hosts (alb_adapter/sources/service_side.py, apigateway_v2/service.py).
EXECUTE_API = "https://a1b2c3d4e5.execute-api.us-east-1.amazonaws.com"
FUNCTION_URL = "https://abcdefghijklmnopqrstuvwxyz234567.lambda-url.us-east-1.on.aws"
CUSTOM_DOMAIN = "https://shop.example.com"  # an ALB's DNS alias, or a service's custom domain
JSON = "application/json"
TOKEN = fastapi_example.sign("ada", "test-secret")  # the session cookie of user ada
# An upload that is not text: a PNG signature, then bytes of every value.
PICTURE = b"\x89PNG\r\n\x1a\n" + random.Random(5).randbytes(3000)


class FrontDoor(NamedTuple):
    """A front door, and the base URL its clients use."""

    source: str
    stage: str | None = None

    @property
    def site(self) -> str:
        """The API's invoke URL under a stage, a Function URL's own domain (it has no custom
        domains), else the custom domain."""
        if self.stage:
            return f"{EXECUTE_API}/{self.stage}"
        return FUNCTION_URL if self.source == "function-url" else CUSTOM_DOMAIN

    @property
    def cookie_path(self) -> str:
        """The app scopes its cookies to its mount point, the stage."""
        return f"/{self.stage}" if self.stage else "/"

    @property
    def labels_empty_answers(self) -> bool:
        """A REST API gives an answer without a Content-Type one (``application/json``:
        docs/sources/apigateway_v1.md)."""
        return self.source == "apigw-rest"


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
DOOR_IDS = [f"{d.source}-{d.stage}" if d.stage else d.source for d in DOORS]


@pytest.fixture(params=DOORS, ids=DOOR_IDS)
def door(request: pytest.FixtureRequest) -> FrontDoor:
    value: FrontDoor = request.param
    return value


@pytest.fixture
def app() -> FastAPI:
    """The example app with a database of its own (opened by the lifespan, in memory)."""
    return fastapi_example.create_app(":memory:", secret_key="test-secret", secure_cookies=True)


@pytest.fixture
def client(app: FastAPI, door: FrontDoor) -> Iterator[TestClient]:
    """``with TestClient(app) as client:``, through ``door``: the lifespan opens the database."""
    with TestClient(app, base_url=door.site, source=door.source, stage=door.stage) as client:
        yield client


def log_in(client: TestClient) -> None:
    response = client.post("/login", data={"username": "ada", "password": "x", "theme": "dark"})
    assert response.status_code == 200  # the notes, after the redirect


def test_the_index_links_are_the_urls_the_client_uses(client: TestClient, door: FrontDoor) -> None:
    client.cookies.set("theme", "dark")

    response = client.get("/")

    body = (
        '{"theme":"dark","links":{'
        f'"login":"{door.site}/login",'
        f'"list_notes":"{door.site}/account/notes",'
        f'"upload_file":"{door.site}/account/files",'
        f'"events":"{door.site}/events",'
        f'"search":"{door.site}/search"'
        "}}"
    ).encode()
    assert response.status_code == 200
    assert response.headers.multi_items() == [
        ("content-type", JSON),
        ("content-length", str(len(body))),
    ]
    assert response.content == body


def test_the_login_sets_both_cookies_and_redirects_to_a_url_of_the_site(
    client: TestClient, door: FrontDoor
) -> None:
    response = client.post(
        "/login",
        data={"username": "ada", "password": "x", "theme": "dark"},
        follow_redirects=False,
    )

    path = door.cookie_path
    assert response.status_code == 303
    assert response.headers.multi_items() == [
        ("location", f"{door.site}/account/notes"),
        ("set-cookie", f"session={TOKEN}; HttpOnly; Path={path}; SameSite=lax; Secure"),
        ("set-cookie", f"theme=dark; Max-Age=2592000; Path={path}; SameSite=lax; Secure"),
        *([("content-type", JSON)] if door.labels_empty_answers else []),
        ("content-length", "0"),
    ]
    # The redirect is followed to the site it names, with both cookies.
    notes = client.get(response.headers["location"])
    assert (notes.status_code, notes.json()) == (200, {"notes": []})
    assert dict(client.cookies) == {"session": TOKEN, "theme": "dark"}


def test_a_created_note_is_found_at_its_location(client: TestClient, door: FrontDoor) -> None:
    log_in(client)

    created = client.post("/account/notes", json={"title": "Tea", "body": "green"})

    body = b'{"id":1,"title":"Tea","body":"green"}'
    assert created.status_code == 201
    assert created.headers.multi_items() == [
        ("content-type", JSON),
        ("location", f"{door.site}/account/notes/1"),
        ("content-length", str(len(body))),
    ]
    assert created.content == body
    assert client.get(created.headers["location"]).content == body


@pytest.mark.parametrize("door", DOORS, ids=DOOR_IDS)
def test_a_binary_upload_comes_back_as_the_same_bytes(client: TestClient, door: FrontDoor) -> None:
    log_in(client)
    digest = hashlib.sha256(PICTURE).hexdigest()

    uploaded = client.post("/account/files", files={"file": ("café.png", PICTURE, "image/png")})

    assert uploaded.status_code == 201
    assert uploaded.json() == {
        "id": 1,
        "name": "café.png",
        "content_type": "image/png",
        "size": len(PICTURE),
        "sha256": digest,
        "url": f"{door.site}/account/files/1",
    }
    download = client.get(uploaded.json()["url"])
    assert download.status_code == 200
    assert download.headers.multi_items() == [
        ("content-type", "image/png"),
        (
            "content-disposition",
            "attachment; filename=\"caf_.png\"; filename*=UTF-8''caf%C3%A9.png",
        ),
        ("x-content-type-options", "nosniff"),
        ("etag", f'"{digest}"'),
        ("content-length", str(len(PICTURE))),
    ]
    assert download.content == PICTURE


def test_the_logout_deletes_both_cookies_where_they_were_set(
    client: TestClient, door: FrontDoor
) -> None:
    log_in(client)

    response = client.post("/logout", follow_redirects=False)

    path = door.cookie_path
    gone = (
        f"expires=Thu, 01 Jan 1970 00:00:00 GMT; {{}}Max-Age=0; Path={path}; SameSite=lax; Secure"
    )
    assert response.status_code == 303
    assert response.headers.multi_items() == [
        ("location", f"{door.site}/"),
        ("set-cookie", 'session=""; ' + gone.format("HttpOnly; ")),
        ("set-cookie", 'theme=""; ' + gone.format("")),
        *([("content-type", JSON)] if door.labels_empty_answers else []),
        ("content-length", "0"),
    ]
    assert dict(client.cookies) == {}
    assert client.get("/account/notes").status_code == 401
