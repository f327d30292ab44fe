"""The FastAPI example tested the way FastAPI's documentation tests an app, run three ways.

The tests below are written as any FastAPI project writes them: ``client = TestClient(app)``,
``with TestClient(app) as client:`` where the lifespan (the database) is needed,
``response.json()``, and ``app.dependency_overrides`` to stand in for the login. The ``TestClient``
fixture is the one setting a project changes (in its own suite, one import line):

* ``starlette``: Starlette's TestClient, imported as FastAPI's docs import it
  (``fastapi.testclient``): the app is called directly, in-process;
* ``alb-single-value`` / ``alb-multi-value``: ``alb_adapter.testing.starlette.TestClient``, which
  sends every request through ``ASGIHandler(app)`` and ALB, in either header mode of the target
  group.

Every test passes all three ways, except the last, which shows a defect only the ALB path
catches and asserts what each way sees.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from functools import partial
from typing import NamedTuple

import fastapi_example
import httpx2
import pytest
from fastapi.testclient import TestClient as StarletteTestClient  # Starlette's, re-exported
from fastapi_example import MAX_UPLOAD_BYTES, app, current_user

from alb_adapter.testing.starlette import TestClient as ALBTestClient

ClientFactory = Callable[..., httpx2.Client]
SITE = "https://testserver"  # the example's cookies are Secure: an https listener, as in production


class Setting(NamedTuple):
    """Which TestClient the tests use, and whether it goes through ALB."""

    TestClient: ClientFactory
    behind_alb: bool


@pytest.fixture(
    params=[
        Setting(StarletteTestClient, behind_alb=False),
        Setting(partial(ALBTestClient, multi_value_headers=False), behind_alb=True),
        Setting(partial(ALBTestClient, multi_value_headers=True), behind_alb=True),
    ],
    ids=["starlette", "alb-single-value", "alb-multi-value"],
)
def setting(request: pytest.FixtureRequest) -> Setting:
    value: Setting = request.param
    return value


@pytest.fixture
def TestClient(setting: Setting) -> ClientFactory:
    """The one setting: the tests call ``TestClient(app)`` as FastAPI's docs do."""
    return setting.TestClient


@pytest.fixture(autouse=True)
def no_overrides() -> Iterator[None]:
    """``app`` is the module's: whatever a test overrides is put back after it."""
    yield
    app.dependency_overrides.clear()


def logged_in_as(user: str) -> None:
    """Stand in for the session cookie, as FastAPI's docs override an auth dependency."""
    app.dependency_overrides[current_user] = lambda: user


# --------------------------------------------------------------------------- without lifespan


def test_read_index(TestClient: ClientFactory) -> None:
    client = TestClient(app, cookies={"theme": "dark"})

    response = client.get("/")

    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {
        "theme": "dark",
        "links": {
            "login": "http://testserver/login",
            "list_notes": "http://testserver/account/notes",
            "upload_file": "http://testserver/account/files",
            "events": "http://testserver/events",
            "search": "http://testserver/search",
        },
    }


def test_search_decodes_the_query(TestClient: ClientFactory) -> None:
    client = TestClient(app)

    response = client.get("/search", params={"q": "café + 1"})

    assert response.status_code == 200
    assert response.json() == {"q": "café + 1", "query_string": "q=caf%C3%A9+%2B+1"}


def test_notes_need_a_login(TestClient: ClientFactory) -> None:
    client = TestClient(app)

    response = client.get("/account/notes")

    assert response.status_code == 401
    assert response.json() == {"detail": "login required"}


def test_events_are_one_whole_stream(TestClient: ClientFactory) -> None:
    client = TestClient(app)

    response = client.get("/events", params={"count": 2})

    assert response.status_code == 200
    assert response.headers["content-type"] == "text/event-stream; charset=utf-8"
    assert response.text == (
        'id: 1\nevent: tick\ndata: {"n": 1}\n\n'
        'id: 2\nevent: tick\ndata: {"n": 2}\n\n'
        "event: done\ndata: {}\n\n"
    )


# --------------------------------------------------------------------------- with lifespan


def test_login_then_notes(TestClient: ClientFactory) -> None:
    with TestClient(app, base_url=SITE) as client:
        login = client.post("/login", data={"username": "ada", "password": "pw", "theme": "dark"})
        assert login.status_code == 200  # the 303 to the notes was followed
        assert [r.status_code for r in login.history] == [303]
        assert login.json() == {"notes": []}
        assert sorted(client.cookies) == ["session", "theme"]

        created = client.post("/account/notes", json={"title": "café", "body": "1 + 1"})
        assert created.status_code == 201
        assert created.headers["location"] == f"{SITE}/account/notes/1"
        assert created.json() == {"id": 1, "title": "café", "body": "1 + 1"}

        updated = client.put("/account/notes/1", json={"title": "tea", "body": "green"})
        assert updated.json() == {"id": 1, "title": "tea", "body": "green"}
        assert client.get("/account/notes").json() == {
            "notes": [{"id": 1, "title": "tea", "body": "green"}]
        }
        deleted = client.delete("/account/notes/1")
        assert (deleted.status_code, deleted.content) == (204, b"")
        assert client.get("/account/notes/1").json() == {"detail": "note not found"}
        assert client.get("/account/audit").json() == [
            {"user": "ada", "action": "create", "note_id": 1},
            {"user": "ada", "action": "update", "note_id": 1},
            {"user": "ada", "action": "delete", "note_id": 1},
        ]

        logout = client.post("/logout", follow_redirects=False)
        assert logout.status_code == 303
        assert logout.headers["location"] == f"{SITE}/"
        assert len(logout.headers.get_list("set-cookie")) == 2
        assert dict(client.cookies) == {}


def test_unknown_fields_are_refused(TestClient: ClientFactory) -> None:
    logged_in_as("ada")
    with TestClient(app) as client:
        response = client.post("/account/notes", json={"title": "x", "owner": "root"})

    assert response.status_code == 422
    assert [(error["type"], error["loc"]) for error in response.json()["detail"]] == [
        ("extra_forbidden", ["body", "owner"])
    ]


def test_upload_and_download(TestClient: ClientFactory) -> None:
    logged_in_as("ada")
    data = bytes(range(256)) * 4
    with TestClient(app) as client:
        uploaded = client.post(
            "/account/files", files={"file": ("données.bin", data, "application/octet-stream")}
        )
        downloaded = client.get("/account/files/1")

    assert uploaded.status_code == 201
    assert uploaded.json() == {
        "id": 1,
        "name": "données.bin",
        "content_type": "application/octet-stream",
        "size": 1024,
        "sha256": hashlib.sha256(data).hexdigest(),
        "url": "http://testserver/account/files/1",
    }
    assert downloaded.status_code == 200
    assert downloaded.content == data
    assert downloaded.headers["content-disposition"] == (
        "attachment; filename=\"donn_es.bin\"; filename*=UTF-8''donn%C3%A9es.bin"
    )


def test_each_with_block_is_one_lifespan(TestClient: ClientFactory) -> None:
    with TestClient(app) as client:
        first = client.get("/instance").json()
        assert client.get("/instance").json() == first
    with TestClient(app) as client:
        assert client.get("/instance").json() != first


def test_someone_elses_note_is_not_found(TestClient: ClientFactory) -> None:
    with TestClient(app) as client:
        logged_in_as("ada")
        note = client.post("/account/notes", json={"title": "mine"}).json()
        logged_in_as("grace")
        response = client.get(f"/account/notes/{note['id']}")

    assert response.status_code == 404
    assert response.json() == {"detail": "note not found"}


# --------------------------------------------------------------------------- only behind ALB


def test_an_upload_over_1_mb_gets_the_apps_413(setting: Setting) -> None:
    """The upload route promises a JSON 413 for files over its limit, and the test written
    against Starlette's client confirms it. Behind ALB, a body over 1 MB never reaches the
    function: ALB answers its own 413 page, which a JSON client cannot read. The app's limit
    (700,000 bytes) holds only for bodies between it and ALB's."""
    logged_in_as("ada")
    data = b"\x00" * 1_000_001
    with setting.TestClient(app) as client:
        response = client.post(
            "/account/files", files={"file": ("big.bin", data, "application/octet-stream")}
        )

    assert response.status_code == 413
    if not setting.behind_alb:
        assert response.json() == {"detail": f"at most {MAX_UPLOAD_BYTES} bytes"}
        return
    sent = len(response.request.content)  # the file and its multipart framing
    page = (
        b"<html>\r\n<head><title>413 Request Entity Too Large</title></head>\r\n<body>\r\n"
        b"<center><h1>413 Request Entity Too Large</h1></center>\r\n</body>\r\n</html>\r\n"
    )
    assert response.headers.multi_items() == [
        ("server", "awselb/2.0"),
        ("content-type", "text/html"),
        ("content-length", str(len(page))),
        (
            "x-alb-emulator-error",
            f"the request body of {sent:,} bytes is over ALB's limit of 1,000,000 bytes",
        ),
    ]
    assert response.content == page
    with pytest.raises(ValueError, match="Expecting value"):
        response.json()


def test_the_module_handler_is_not_used() -> None:
    """The clients build their own handler around ``app``; the module's stays as Lambda built
    it (its lifespan ran once, at import)."""
    with ALBTestClient(app) as client:
        assert client.handler is not fastapi_example.handler
        assert client.handler is not None
        assert client.handler.app is app
    assert not fastapi_example.handler.closed
