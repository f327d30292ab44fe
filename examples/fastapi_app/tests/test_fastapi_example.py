"""The FastAPI example driven through the real handler, with the events ALB sends.

Every behaviour that involves headers runs in both header modes of the target group
(``lambda.multi_value_headers.enabled`` false and true). Responses are read back with
``read_response`` (which fails wherever a real ALB would answer 502), normalised into one shape
(``Answer``) so one expected value covers both modes, and compared whole.

The last part is a differential test: the same requests through Starlette's TestClient (the
oracle: an ASGI server that hands the app its scope directly) and through ASGIHandler must give
the same status, headers and body.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import os
import sqlite3
import subprocess
import sys
from collections.abc import Callable, Iterator, Mapping
from contextlib import closing
from pathlib import Path
from typing import Any, NamedTuple

import fastapi_example
import pytest
from fastapi import FastAPI, Request
from starlette.testclient import TestClient

from alb_adapter import ASGIHandler
from alb_adapter.testing import LambdaContext, make_event, make_health_check_event, read_response

EXAMPLE_DIR = Path(fastapi_example.__file__).resolve().parent
REPO_ROOT = EXAMPLE_DIR.parent.parent

SECRET = "test-secret"
TOKEN = fastapi_example.sign("ada", SECRET)
JSON = "application/json"
ALL_BYTES = bytes(range(256)) * 3 + b"\r\n--XyZ\r\n--XyZ--\r\n\x00"  # boundary look-alikes too
BOUNDARY = "alb-adapter-0123456789"


class Answer(NamedTuple):
    """An ALB response in mode-neutral form: headers as ordered (lowercase name, value) pairs."""

    status: int
    description: str
    headers: list[tuple[str, str]]
    body: bytes
    base64: bool


def normalise(response: dict[str, object], *, multi: bool) -> Answer:
    """Check the response has exactly ALB's shape for the mode, then flatten it.

    In single-value mode several Set-Cookie arrive under case variants of the key
    (``set-cookie``, ``Set-cookie``...); ``read_response`` turns them into ``set-cookie`` pairs.
    """
    field = "multiValueHeaders" if multi else "headers"
    assert set(response) == {"statusCode", "statusDescription", "isBase64Encoded", "body", field}
    answer = read_response(response, multi_value_headers=multi)
    description, encoded = response["statusDescription"], response["isBase64Encoded"]
    assert isinstance(description, str)
    assert isinstance(encoded, bool)
    return Answer(answer.status, description, list(answer.headers), answer.body, encoded)


def json_answer(status: int, description: str, body: object, **headers: str) -> Answer:
    """The expected answer of a JSON route (FastAPI's compact encoding)."""
    encoded = json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()
    pairs = [("content-type", JSON), *((name.replace("_", "-"), v) for name, v in headers.items())]
    return Answer(status, description, pairs, encoded, False)


def new_app(db_path: Path) -> FastAPI:
    """The example app with fixed settings, independent of the developer's environment."""
    return fastapi_example.create_app(str(db_path), secret_key=SECRET, secure_cookies=True)


MakeHandler = Callable[..., ASGIHandler]


@pytest.fixture(params=[False, True], ids=["single-value", "multi-value"])
def multi(request: pytest.FixtureRequest) -> bool:
    """The target group's lambda.multi_value_headers.enabled."""
    value: bool = request.param
    return value


@pytest.fixture(params=["", "/shop"], ids=["root", "base-path"])
def base(request: pytest.FixtureRequest) -> str:
    """Where ALB forwards to the function: its own paths, or everything under /shop."""
    value: str = request.param
    return value


@pytest.fixture
def make_handler(tmp_path: Path) -> Iterator[MakeHandler]:
    """Build handlers as fastapi_example does, each app with its own database file, and run
    their lifespan shutdown at the end (Lambda does that when the environment ends)."""
    handlers: list[ASGIHandler] = []

    def make(app: Any = None, **options: Any) -> ASGIHandler:
        options.setdefault("health_check_path", "/health")
        app = app or new_app(tmp_path / f"notes-{len(handlers)}.sqlite3")
        handler = ASGIHandler(app, **options)
        handlers.append(handler)
        return handler

    yield make
    for handler in handlers:
        handler.close()


def call(
    handler: ASGIHandler,
    method: str,
    path: str,
    *,
    multi: bool,
    headers: Mapping[str, str] | None = None,
    **body: Any,
) -> Answer:
    """One request through the handler, as ALB would send it in the given header mode."""
    event = make_event(method, path, headers=headers, multi_value_headers=multi, **body)
    return normalise(handler(event, LambdaContext()), multi=multi)


def session(token: str = TOKEN, **more: str) -> dict[str, str]:
    """A Cookie header carrying the session (and any other cookies)."""
    cookies = {"session": token, **more}
    return {"cookie": "; ".join(f"{name}={value}" for name, value in cookies.items())}


def multipart(
    filename: str, content_type: str, data: bytes, *, logged_in: bool = True
) -> tuple[bytes, dict[str, str]]:
    """A multipart/form-data body with one file field, as a browser builds it, and the request
    headers to send it with (the session cookie too, unless ``logged_in`` is false)."""
    head = (
        f"--{BOUNDARY}\r\n"
        f'Content-Disposition: form-data; name="file"; filename="{filename}"\r\n'
        f"Content-Type: {content_type}\r\n\r\n"
    )
    body = head.encode() + data + f"\r\n--{BOUNDARY}--\r\n".encode()
    headers = {"content-type": f"multipart/form-data; boundary={BOUNDARY}"}
    return body, {**headers, **session()} if logged_in else headers


# --------------------------------------------------------------------------- url_for, root_path


def test_index_links_follow_the_base_path(
    make_handler: MakeHandler, multi: bool, base: str
) -> None:
    handler = make_handler(base_path=base)

    answer = call(handler, "GET", f"{base}/", multi=multi, headers={"cookie": "theme=dark"})

    site = f"https://example.com{base}"
    assert answer == json_answer(
        200,
        "200 OK",
        {
            "theme": "dark",
            "links": {
                "login": f"{site}/login",
                "list_notes": f"{site}/account/notes",
                "upload_file": f"{site}/account/files",
                "events": f"{site}/events",
                "search": f"{site}/search",
            },
        },
    )


def test_scheme_and_host_come_from_the_forwarded_headers(make_handler: MakeHandler) -> None:
    """ALB terminates TLS; X-Forwarded-Proto and Host give the URL the client used."""
    event = make_event("GET", "/", scheme="http", host="notes.example.org")
    answer = normalise(make_handler()(event, LambdaContext()), multi=False)

    assert json.loads(answer.body)["links"]["login"] == "http://notes.example.org/login"


def test_openapi_and_docs_know_the_mount_point(make_handler: MakeHandler, multi: bool) -> None:
    """FastAPI reads ``root_path`` for its docs: the page loads /shop/openapi.json."""
    handler = make_handler(base_path="/shop")

    schema = call(handler, "GET", "/shop/openapi.json", multi=multi)
    docs = call(handler, "GET", "/shop/docs", multi=multi)

    assert schema[:3] == (200, "200 OK", [("content-type", JSON)])
    document = json.loads(schema.body)
    assert document["servers"] == [{"url": "/shop"}]
    assert set(document["paths"]) >= {"/account/notes", "/account/files/{file_id}", "/login"}
    assert docs[:3] == (200, "200 OK", [("content-type", "text/html; charset=utf-8")])
    assert b"url: '/shop/openapi.json'" in docs.body


def test_a_path_merely_starting_like_the_base_is_not_under_it(make_handler: MakeHandler) -> None:
    answer = call(make_handler(base_path="/shop"), "GET", "/shopping/search", multi=False)

    assert answer == json_answer(404, "404 Not Found", {"detail": "Not Found"})


# --------------------------------------------------------------------------- login and cookies


def test_login_sets_both_cookies_and_redirects(
    make_handler: MakeHandler, multi: bool, base: str
) -> None:
    handler = make_handler(base_path=base)

    answer = call(
        handler,
        "POST",
        f"{base}/login",
        multi=multi,
        form={"username": "ada", "password": "correct horse", "theme": "dark"},
    )

    path = base or "/"
    assert answer == Answer(
        303,
        "303 See Other",
        [
            ("location", f"https://example.com{base}/account/notes"),
            ("set-cookie", f"session={TOKEN}; HttpOnly; Path={path}; SameSite=lax; Secure"),
            ("set-cookie", f"theme=dark; Max-Age=2592000; Path={path}; SameSite=lax; Secure"),
        ],
        b"",
        False,
    )


def test_login_cookies_under_their_own_keys_in_single_value_mode(
    make_handler: MakeHandler,
) -> None:
    """What ALB receives: one JSON key per cookie, which ALB emits as separate headers."""
    event = make_event("POST", "/login", form={"username": "ada", "password": "x"})
    response = make_handler()(event, LambdaContext())

    assert response["headers"] == {
        "location": "https://example.com/account/notes",
        "set-cookie": f"session={TOKEN}; HttpOnly; Path=/; SameSite=lax; Secure",
        "Set-cookie": "theme=light; Max-Age=2592000; Path=/; SameSite=lax; Secure",
    }


def test_login_cookies_as_a_list_in_multi_value_mode(make_handler: MakeHandler) -> None:
    event = make_event(
        "POST", "/login", form={"username": "ada", "password": "x"}, multi_value_headers=True
    )
    response = make_handler()(event, LambdaContext())

    assert response["multiValueHeaders"] == {
        "location": ["https://example.com/account/notes"],
        "set-cookie": [
            f"session={TOKEN}; HttpOnly; Path=/; SameSite=lax; Secure",
            "theme=light; Max-Age=2592000; Path=/; SameSite=lax; Secure",
        ],
    }


def test_the_cookies_of_a_login_grant_access(
    make_handler: MakeHandler, multi: bool, base: str
) -> None:
    """Follow the redirect with what a browser keeps from the two Set-Cookie headers."""
    handler = make_handler(base_path=base)
    login = call(
        handler,
        "POST",
        f"{base}/login",
        multi=multi,
        form={"username": "ada", "password": "x", "theme": "dark"},
    )
    jar = "; ".join(value.split(";")[0] for name, value in login.headers if name == "set-cookie")
    [location] = [value for name, value in login.headers if name == "location"]

    notes = call(
        handler,
        "GET",
        location.removeprefix("https://example.com"),
        multi=multi,
        headers={"cookie": jar},
    )
    index = call(handler, "GET", f"{base}/", multi=multi, headers={"cookie": jar})

    assert notes == json_answer(200, "200 OK", {"notes": []})
    assert json.loads(index.body)["theme"] == "dark"


def test_account_without_the_session_is_a_json_401(
    make_handler: MakeHandler, multi: bool, base: str
) -> None:
    handler = make_handler(base_path=base)
    forged = fastapi_example.sign("ada", "another-secret")

    for headers in (None, {"cookie": "theme=dark"}, session(forged), session("ada")):
        answer = call(handler, "GET", f"{base}/account/notes", multi=multi, headers=headers)
        assert answer == json_answer(401, "401 Unauthorized", {"detail": "login required"})


@pytest.mark.parametrize(
    ("form", "field"),
    [
        ({"username": "ada"}, "password"),
        ({"username": "a b", "password": "x"}, "username"),
        ({"username": "ada", "password": "x", "theme": "pink"}, "theme"),
    ],
)
def test_a_bad_login_form_is_a_422(
    make_handler: MakeHandler, multi: bool, form: dict[str, str], field: str
) -> None:
    answer = call(make_handler(), "POST", "/login", multi=multi, form=form)

    assert answer[:3] == (422, "422 Unprocessable Content", [("content-type", JSON)])
    [error] = json.loads(answer.body)["detail"]
    assert error["loc"] == ["body", field]


def test_logout_deletes_both_cookies(make_handler: MakeHandler, multi: bool, base: str) -> None:
    answer = call(
        make_handler(base_path=base), "POST", f"{base}/logout", multi=multi, headers=session()
    )

    epoch, path = "expires=Thu, 01 Jan 1970 00:00:00 GMT", f"Path={base or '/'}"
    assert answer == Answer(
        303,
        "303 See Other",
        [
            ("location", f"https://example.com{base}/"),
            (
                "set-cookie",
                f'session=""; {epoch}; HttpOnly; Max-Age=0; {path}; SameSite=lax; Secure',
            ),
            ("set-cookie", f'theme=""; {epoch}; Max-Age=0; {path}; SameSite=lax; Secure'),
        ],
        b"",
        False,
    )


def test_secure_cookies_can_be_turned_off(
    make_handler: MakeHandler, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SESSION_COOKIE_SECURE", "0")
    app = fastapi_example.create_app(str(tmp_path / "plain.sqlite3"), secret_key=SECRET)

    answer = call(
        make_handler(app),
        "POST",
        "/login",
        multi=True,
        scheme="http",
        form={"username": "ada", "password": "x"},
    )

    cookies = [value for name, value in answer.headers if name == "set-cookie"]
    assert len(cookies) == 2
    assert not any("Secure" in cookie for cookie in cookies)


# --------------------------------------------------------------------------- notes (JSON CRUD)


def test_notes_crud_round_trip(make_handler: MakeHandler, multi: bool, base: str) -> None:
    handler = make_handler(base_path=base)
    notes = f"{base}/account/notes"

    def send(method: str, path: str, **body: Any) -> Answer:
        return call(handler, method, path, multi=multi, headers=session(), **body)

    created = send("POST", notes, json={"title": "café", "body": "1 + 1 = 2 & more"})
    assert created == json_answer(
        201,
        "201 Created",
        {"id": 1, "title": "café", "body": "1 + 1 = 2 & more"},
        location=f"https://example.com{notes}/1",
    )
    second = send("POST", notes, json={"title": "untitled body defaults to empty"})
    assert json.loads(second.body) == {
        "id": 2,
        "title": "untitled body defaults to empty",
        "body": "",
    }

    assert send("GET", f"{notes}/1") == json_answer(
        200, "200 OK", {"id": 1, "title": "café", "body": "1 + 1 = 2 & more"}
    )
    assert send("PUT", f"{notes}/1", json={"title": "tea", "body": "green"}) == json_answer(
        200, "200 OK", {"id": 1, "title": "tea", "body": "green"}
    )
    assert send("GET", notes) == json_answer(
        200,
        "200 OK",
        {
            "notes": [
                {"id": 1, "title": "tea", "body": "green"},
                {"id": 2, "title": "untitled body defaults to empty", "body": ""},
            ]
        },
    )
    assert send("DELETE", f"{notes}/1") == Answer(204, "204 No Content", [], b"", False)
    assert send("GET", f"{notes}/1") == json_answer(
        404, "404 Not Found", {"detail": "note not found"}
    )
    assert send("PUT", f"{notes}/1", json={"title": "x"}).status == 404
    assert send("DELETE", f"{notes}/1").status == 404
    assert [note["id"] for note in json.loads(send("GET", notes).body)["notes"]] == [2]


def test_another_users_notes_are_not_found(make_handler: MakeHandler, multi: bool) -> None:
    handler = make_handler()
    call(handler, "POST", "/account/notes", multi=multi, headers=session(), json={"title": "mine"})
    grace = session(fastapi_example.sign("grace", SECRET))

    assert call(handler, "GET", "/account/notes/1", multi=multi, headers=grace) == json_answer(
        404, "404 Not Found", {"detail": "note not found"}
    )
    assert call(handler, "GET", "/account/notes", multi=multi, headers=grace).body == (
        b'{"notes":[]}'
    )


@pytest.mark.parametrize(
    ("method", "path", "body", "error"),
    [
        ("POST", "/account/notes", {"json": {"body": "no title"}}, ("missing", ["body", "title"])),
        (
            "POST",
            "/account/notes",
            {"json": {"title": ""}},
            ("string_too_short", ["body", "title"]),
        ),
        (
            "POST",
            "/account/notes",
            {"json": {"title": "x", "owner": "root"}},
            ("extra_forbidden", ["body", "owner"]),
        ),
        (
            "POST",
            "/account/notes",
            {"body": '{"title": ', "headers": {"content-type": JSON}},
            ("json_invalid", ["body", 10]),
        ),
        ("PUT", "/account/notes/1", {"json": {"title": 7}}, ("string_type", ["body", "title"])),
        ("GET", "/account/notes/one", {}, ("int_parsing", ["path", "note_id"])),
        ("GET", "/events?count=0", {}, ("greater_than_equal", ["query", "count"])),
    ],
)
def test_invalid_input_is_a_422(
    make_handler: MakeHandler,
    multi: bool,
    method: str,
    path: str,
    body: dict[str, Any],
    error: tuple[str, list[object]],
) -> None:
    body = dict(body)  # the parameters are shared by both header modes
    headers = {**session(), **body.pop("headers", {})}

    answer = call(make_handler(), method, path, multi=multi, headers=headers, **body)

    assert answer[:3] == (422, "422 Unprocessable Content", [("content-type", JSON)])
    assert answer.base64 is False
    [detail] = json.loads(answer.body)["detail"]
    assert (detail["type"], detail["loc"]) == error


def test_unknown_routes_and_methods(make_handler: MakeHandler, multi: bool) -> None:
    handler = make_handler()

    assert call(handler, "GET", "/nope", multi=multi) == json_answer(
        404, "404 Not Found", {"detail": "Not Found"}
    )
    assert call(handler, "DELETE", "/search", multi=multi) == Answer(
        405,
        "405 Method Not Allowed",
        [("allow", "GET"), ("content-type", JSON)],
        b'{"detail":"Method Not Allowed"}',
        False,
    )


# --------------------------------------------------------------------------- files (binary)


def test_upload_then_download_gives_the_identical_bytes(
    make_handler: MakeHandler, multi: bool, base: str
) -> None:
    handler = make_handler(base_path=base)
    body, headers = multipart("données.bin", "application/octet-stream", ALL_BYTES)
    event = make_event(
        "POST",
        f"{base}/account/files",
        body=body,
        multi_value_headers=multi,
        headers=headers,
    )
    assert event["isBase64Encoded"] is True  # ALB sends a multipart body base64-encoded

    upload = normalise(handler(event, LambdaContext()), multi=multi)

    digest = hashlib.sha256(ALL_BYTES).hexdigest()
    url = f"https://example.com{base}/account/files/1"
    info = {
        "id": 1,
        "name": "données.bin",
        "content_type": "application/octet-stream",
        "size": len(ALL_BYTES),
        "sha256": digest,
        "url": url,
    }
    assert upload == json_answer(201, "201 Created", info, location=url)

    raw = handler(
        make_event("GET", f"{base}/account/files/1", headers=session(), multi_value_headers=multi),
        LambdaContext(),
    )
    assert raw["isBase64Encoded"] is True
    assert raw["body"] == base64.b64encode(ALL_BYTES).decode("ascii")
    assert normalise(raw, multi=multi) == Answer(
        200,
        "200 OK",
        [
            ("content-type", "application/octet-stream"),
            (
                "content-disposition",
                "attachment; filename=\"donn_es.bin\"; filename*=UTF-8''donn%C3%A9es.bin",
            ),
            ("x-content-type-options", "nosniff"),
            ("etag", f'"{digest}"'),
        ],
        ALL_BYTES,
        True,
    )


def test_a_text_file_comes_back_as_text(make_handler: MakeHandler, multi: bool) -> None:
    """UTF-8 text under a text type needs no base64: the ALB answer stays readable."""
    handler = make_handler()
    text = "héllo, wörld\n".encode()
    body, headers = multipart("hello.txt", "text/plain; charset=utf-8", text)
    call(handler, "POST", "/account/files", multi=multi, body=body, headers=headers)

    answer = call(handler, "GET", "/account/files/1", multi=multi, headers=session())

    assert answer[:2] == (200, "200 OK")
    assert answer.headers[0] == ("content-type", "text/plain; charset=utf-8")
    assert (answer.body, answer.base64) == (text, False)


def test_files_need_the_session_and_belong_to_their_owner(
    make_handler: MakeHandler, multi: bool
) -> None:
    handler = make_handler()
    body, headers = multipart("a.bin", "application/octet-stream", b"\x00\x01", logged_in=False)

    refused = call(handler, "POST", "/account/files", multi=multi, body=body, headers=headers)
    body, headers = multipart("a.bin", "application/octet-stream", b"\x00\x01")
    call(handler, "POST", "/account/files", multi=multi, body=body, headers=headers)
    grace = session(fastapi_example.sign("grace", SECRET))

    assert refused == json_answer(401, "401 Unauthorized", {"detail": "login required"})
    assert call(handler, "GET", "/account/files/1", multi=multi, headers=grace) == json_answer(
        404, "404 Not Found", {"detail": "file not found"}
    )


def test_an_upload_too_large_to_download_is_refused(make_handler: MakeHandler) -> None:
    """A stored file must fit in a 1 MB ALB response once base64-encoded."""
    handler = make_handler()
    data = b"\xff" * (fastapi_example.MAX_UPLOAD_BYTES + 1)
    body, headers = multipart("big.bin", "application/octet-stream", data)

    answer = call(handler, "POST", "/account/files", multi=True, body=body, headers=headers)

    assert answer == json_answer(413, "413 Content Too Large", {"detail": "at most 700000 bytes"})
    # The largest allowed file does come back through ALB (under 1 MB of JSON).
    body, headers = multipart("max.bin", "application/octet-stream", data[:-1])
    call(handler, "POST", "/account/files", multi=True, body=body, headers=headers)
    download = call(handler, "GET", "/account/files/1", multi=True, headers=session())
    assert (download.status, download.body) == (200, data[:-1])


# --------------------------------------------------------------------------- streaming


def test_server_sent_events_arrive_whole(make_handler: MakeHandler, multi: bool) -> None:
    """ALB cannot stream: the adapter collects the StreamingResponse into one body."""
    answer = call(make_handler(), "GET", "/events?count=3", multi=multi)

    assert answer == Answer(
        200,
        "200 OK",
        [("cache-control", "no-cache"), ("content-type", "text/event-stream; charset=utf-8")],
        b'id: 1\nevent: tick\ndata: {"n": 1}\n\n'
        b'id: 2\nevent: tick\ndata: {"n": 2}\n\n'
        b'id: 3\nevent: tick\ndata: {"n": 3}\n\n'
        b"event: done\ndata: {}\n\n",
        False,
    )


# --------------------------------------------------------------------------- background tasks


def test_background_task_has_finished_when_the_handler_returns(
    make_handler: MakeHandler, monkeypatch: pytest.MonkeyPatch, multi: bool
) -> None:
    """Lambda freezes the process as soon as the handler returns, so a task still pending then
    would run (if ever) during some later invocation. The audit task is slowed down here; its
    row must nevertheless be in the database when the handler returns."""
    finished: list[str] = []
    original = fastapi_example.record_audit

    async def slow_audit(db: sqlite3.Connection, user: str, action: str, note_id: int) -> None:
        await asyncio.sleep(0.05)
        await original(db, user, action, note_id)
        finished.append(action)

    monkeypatch.setattr(fastapi_example, "record_audit", slow_audit)
    handler = make_handler()

    created = call(
        handler, "POST", "/account/notes", multi=multi, headers=session(), json={"title": "audited"}
    )

    assert created.status == 201
    assert finished == ["create"]
    db: sqlite3.Connection = handler.state["db"]
    rows = db.execute("SELECT user, action, note_id FROM audit").fetchall()
    assert [tuple(row) for row in rows] == [("ada", "create", 1)]
    # And the app's own view of it.
    call(handler, "DELETE", "/account/notes/1", multi=multi, headers=session())
    assert call(handler, "GET", "/account/audit", multi=multi, headers=session()) == json_answer(
        200,
        "200 OK",
        [
            {"user": "ada", "action": "create", "note_id": 1},
            {"user": "ada", "action": "delete", "note_id": 1},
        ],
    )


# --------------------------------------------------------------------------- lifespan


def test_lifespan_runs_once_across_100_invocations(
    make_handler: MakeHandler, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Startup runs when the handler is built (Lambda's init phase), not per invocation, and
    every request sees the very connection it opened."""
    opened: list[sqlite3.Connection] = []
    original = fastapi_example.connect

    def counting_connect(path: str) -> sqlite3.Connection:
        opened.append(original(path))
        return opened[-1]

    monkeypatch.setattr(fastapi_example, "connect", counting_connect)
    app = new_app(tmp_path / "lifespan.sqlite3")
    seen: list[sqlite3.Connection] = []

    @app.get("/test/db")
    async def probe(request: Request) -> dict[str, str]:
        seen.append(request.state.db)
        instance: str = request.state.instance
        return {"instance": instance}

    handler = make_handler(app)
    assert len(opened) == 1  # at construction, before any invocation
    instances = set()
    for number in range(100):
        multi = number % 2 == 1
        answer = call(handler, "GET", "/test/db", multi=multi)
        assert answer.status == 200
        instances.add(json.loads(answer.body)["instance"])
        if number % 10 == 0:  # real routes in between use the same connection
            call(
                handler,
                "POST",
                "/account/notes",
                multi=multi,
                headers=session(),
                json={"title": f"note {number}"},
            )

    assert len(opened) == 1
    assert len(seen) == 100
    assert seen[0] is seen[99] is opened[0] is handler.state["db"]
    assert instances == {handler.state["instance"]}
    assert call(handler, "GET", "/instance", multi=False).body == (
        f'{{"instance":"{handler.state["instance"]}"}}'.encode()
    )
    assert opened[0].execute("SELECT count(*) FROM notes").fetchone()[0] == 10

    handler.close()  # lifespan shutdown closes the connection
    with pytest.raises(sqlite3.ProgrammingError, match="closed"):
        opened[0].execute("SELECT 1")
    assert len(opened) == 1


def test_each_request_gets_its_own_copy_of_the_state(make_handler: MakeHandler) -> None:
    """``scope["state"]`` is a shallow copy: a request may add to it without leaking into the
    next one, and still shares the lifespan's objects."""
    app = new_app(Path(":memory:"))
    leaked: list[bool] = []

    @app.get("/test/state")
    async def probe(request: Request) -> dict[str, bool]:
        leaked.append(hasattr(request.state, "scratch"))
        request.state.scratch = True
        return {"ok": True}

    handler = make_handler(app)
    call(handler, "GET", "/test/state", multi=False)
    call(handler, "GET", "/test/state", multi=False)

    assert leaked == [False, False]
    assert "scratch" not in handler.state


def test_a_new_handler_is_a_new_instance(make_handler: MakeHandler) -> None:
    """A cold start: another handler runs its own lifespan."""
    first, second = make_handler(), make_handler()

    ids = [call(h, "GET", "/instance", multi=False).body for h in (first, first, second)]

    assert ids[0] == ids[1] != ids[2]
    assert first.state["db"] is not second.state["db"]


# --------------------------------------------------------------------------- health checks, query


def test_health_check_is_answered_without_the_app(make_handler: MakeHandler, multi: bool) -> None:
    app = new_app(Path(":memory:"))
    calls: list[str] = []

    async def spy(scope: Any, receive: Any, send: Any) -> None:
        calls.append(scope["type"] + ":" + scope.get("path", ""))
        await app(scope, receive, send)

    handler = make_handler(spy)
    answer = normalise(
        handler(make_health_check_event("/health", multi_value_headers=multi), LambdaContext()),
        multi=multi,
    )

    assert answer == Answer(
        200, "200 OK", [("content-type", "text/plain; charset=utf-8")], b"OK\n", False
    )
    assert calls == ["lifespan:"]
    # The same path from a browser is the app's business (which has no such route).
    assert call(handler, "GET", "/health", multi=multi).status == 404
    assert calls == ["lifespan:", "http:/health"]


@pytest.mark.parametrize(
    ("query", "q"),
    [
        ("q=a+b%2Bc", "a b+c"),
        ("q=a%20b", "a b"),
        ("q=rock%26roll", "rock&roll"),
        ("q=caf%C3%A9+%3D+coffee", "café = coffee"),
    ],
)
def test_search_decodes_the_raw_query_as_the_browser_meant(
    make_handler: MakeHandler, multi: bool, query: str, q: str
) -> None:
    answer = call(make_handler(), "GET", f"/search?{query}", multi=multi)

    assert answer == json_answer(200, "200 OK", {"q": q, "query_string": query})


# --------------------------------------------------------------------------- the module's handler


def test_module_handler_is_configured_for_lambda() -> None:
    handler = fastapi_example.handler
    assert isinstance(handler, ASGIHandler)
    assert handler.app is fastapi_example.app
    assert handler.config.health_check_path == "/health"
    assert handler.config.base_path == os.environ.get("ALB_BASE_PATH", "").rstrip("/")
    assert isinstance(handler.state["db"], sqlite3.Connection)  # the lifespan ran at import

    answer = normalise(handler(make_event("GET", "/search?q=a+b"), LambdaContext()), multi=False)
    assert answer.body == b'{"q":"a b","query_string":"q=a+b"}'


def test_secret_key_is_required_on_lambda(monkeypatch: pytest.MonkeyPatch) -> None:
    def secret() -> str:
        settings: fastapi_example.Settings = fastapi_example.create_app(":memory:").state.settings
        return settings.secret_key

    monkeypatch.delenv("SECRET_KEY", raising=False)
    assert secret() == fastapi_example.DEV_SECRET_KEY

    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "fastapi-example")
    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        secret()

    monkeypatch.setenv("SECRET_KEY", "from-the-environment")
    assert secret() == "from-the-environment"


def test_invoke_script_prints_the_alb_response(tmp_path: Path) -> None:
    """Run as a user would, from the repository root, mounted under /shop."""
    env = {**os.environ, "ALB_BASE_PATH": "/shop", "NOTES_DB": str(tmp_path / "cli.sqlite3")}
    env.pop("AWS_LAMBDA_FUNCTION_NAME", None)
    result = subprocess.run(
        [sys.executable, "examples/fastapi_app/invoke_fastapi.py", "/shop/search?q=a+b%2Bc"],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {
        "statusCode": 200,
        "statusDescription": "200 OK",
        "isBase64Encoded": False,
        "body": '{"q":"a b+c","query_string":"q=a+b%2Bc"}',
        "headers": {"content-type": "application/json"},
    }
    assert (tmp_path / "cli.sqlite3").exists()  # NOTES_DB was opened by the lifespan


# --------------------------------------------------------------------------- differential test


class Step(NamedTuple):
    """One request, given once and sent through both the oracle and the adapter."""

    method: str
    target: str  # path and raw query, below the mount point
    headers: dict[str, str]
    body: bytes = b""


def form(**fields: str) -> tuple[dict[str, str], bytes]:
    from urllib.parse import urlencode

    return {"content-type": "application/x-www-form-urlencoded"}, urlencode(fields).encode()


def json_body(value: object) -> tuple[dict[str, str], bytes]:
    return {"content-type": JSON}, json.dumps(value).encode()


def scenario() -> list[Step]:
    """A session's worth of requests: every route, method and kind of body the example has."""
    cookie = session()
    upload, upload_headers = multipart("données.bin", "application/octet-stream", ALL_BYTES)
    text, text_headers = multipart("hello.txt", "text/plain; charset=utf-8", "héllo\n".encode())
    login_headers, login_body = form(username="ada", password="correct horse", theme="dark")
    bad_headers, bad_body = form(username="a b", password="x")
    note_headers, note_body = json_body({"title": "café", "body": "1 + 1 = 2"})
    put_headers, put_body = json_body({"title": "tea", "body": "green"})
    extra_headers, extra_body = json_body({"title": "x", "owner": "root"})
    return [
        Step("GET", "/", {"cookie": "theme=dark"}),
        Step("GET", "/search?q=a+b%2Bc&r=x%20y", {}),
        Step("GET", "/search?q=caf%C3%A9%26", {}),
        Step("GET", "/account/notes", {}),  # 401
        Step("POST", "/login", login_headers, login_body),  # 303 + two cookies
        Step("POST", "/login", bad_headers, bad_body),  # 422
        Step("POST", "/account/notes", {**cookie, **note_headers}, note_body),  # 201
        Step("POST", "/account/notes", {**cookie, **extra_headers}, extra_body),  # 422
        Step("POST", "/account/notes", {**cookie, "content-type": JSON}, b'{"title": '),  # 422
        Step("GET", "/account/notes/1", cookie),
        Step("PUT", "/account/notes/1", {**cookie, **put_headers}, put_body),
        Step("GET", "/account/notes", cookie),
        Step("GET", "/account/notes/99", cookie),  # 404
        Step("GET", "/account/notes/one", cookie),  # 422
        Step("POST", "/account/files", upload_headers, upload),  # multipart
        Step("GET", "/account/files/1", cookie),  # binary
        Step("POST", "/account/files", text_headers, text),
        Step("GET", "/account/files/2", cookie),  # text
        Step("GET", "/events?count=4", {}),  # streaming
        Step("GET", "/events?count=99", {}),  # 422
        Step("DELETE", "/account/notes/1", cookie),  # 204
        Step("GET", "/account/notes/1", cookie),  # 404
        Step("GET", "/account/audit", cookie),  # background tasks' rows
        Step("DELETE", "/search", {}),  # 405
        Step("GET", "/nope", {}),  # 404
        Step("POST", "/logout", cookie),  # 303 + two deleting cookies
        Step("GET", "/openapi.json", {}),
    ]


# Dropped by the adapter by design (docs/alb-behaviour.md, rule 10): ALB computes Content-Length
# itself, and hop-by-hop headers describe a connection ALB does not have with the function.
NOT_SENT_TO_ALB = {
    "content-length",
    "connection",
    "keep-alive",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
}


def as_alb_sends(headers: list[tuple[str, str]], *, multi: bool) -> list[tuple[str, str]]:
    """The oracle's headers, as they can travel through ALB's response format.

    * content-length and hop-by-hop headers are dropped (see NOT_SENT_TO_ALB);
    * the response carries headers as a JSON object keyed by name, so repeated headers come out
      grouped under their first position (their order among themselves is kept);
    * in single-value mode, repeated headers other than Set-Cookie are joined with ", " (one
      string per key; Set-Cookie travels under case-variant keys instead).
    """
    grouped: dict[str, list[str]] = {}
    for name, value in headers:
        if name in NOT_SENT_TO_ALB or name.startswith("proxy-"):
            continue
        grouped.setdefault(name, []).append(value)
    pairs: list[tuple[str, str]] = []
    for name, values in grouped.items():
        if multi or name == "set-cookie":
            pairs.extend((name, value) for value in values)
        else:
            pairs.append((name, ", ".join(values)))
    return pairs


@pytest.mark.parametrize("mount", ["", "/shop"], ids=["root", "base-path"])
def test_same_answers_as_starlettes_test_client(
    make_handler: MakeHandler, tmp_path: Path, multi: bool, mount: str
) -> None:
    """The same requests, in the same order, to two apps built alike (each with its own new
    database): one behind Starlette's TestClient, one behind ASGIHandler via ALB events."""
    handler = make_handler(new_app(tmp_path / "adapter.sqlite3"), base_path=mount)
    oracle_app = new_app(tmp_path / "oracle.sqlite3")
    steps = scenario()
    assert len(steps) >= 10

    with TestClient(
        oracle_app, base_url="https://example.com", root_path=mount, follow_redirects=False
    ) as client:
        for step in steps:
            target = mount + step.target
            expected = client.request(step.method, target, headers=step.headers, content=step.body)
            # The client keeps a cookie jar; each step sends exactly the cookies it lists.
            client.cookies.clear()

            event = make_event(
                step.method, target, headers=step.headers, body=step.body, multi_value_headers=multi
            )
            actual = read_response(handler(event, LambdaContext()), multi_value_headers=multi)

            where = f"{step.method} {target}"
            assert actual.status == expected.status_code, where
            # The reason phrase is not compared: the adapter uses the IANA registry's
            # ("Unprocessable Content"), httpx an older list ("Unprocessable Entity").
            assert list(actual.headers) == as_alb_sends(
                expected.headers.multi_items(), multi=multi
            ), where
            assert actual.body == expected.content, where

    # Both sides ran the same sequence to the same end: the audit trail matches too.
    query = "SELECT user, action, note_id FROM audit ORDER BY id"
    with closing(sqlite3.connect(tmp_path / "oracle.sqlite3")) as oracle_db:
        oracle_rows = list(map(tuple, oracle_db.execute(query)))
    adapter_rows = list(map(tuple, handler.state["db"].execute(query)))
    assert (
        oracle_rows
        == adapter_rows
        == [
            ("ada", "create", 1),
            ("ada", "update", 1),
            ("ada", "delete", 1),
        ]
    )
