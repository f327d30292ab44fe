"""A small FastAPI notes service run as an AWS Lambda function behind an Application Load Balancer.

Lambda handler setting: ``fastapi_example.handler``. The app knows nothing about Lambda or ALB:
``ASGIHandler`` turns each ALB event into an ASGI scope (scheme, host and client address already
taken from the X-Forwarded-* headers) and the app's answer back into the ALB response format.

What it shows:

* a lifespan that opens a resource once (an SQLite database) and hands it to every request
  through the lifespan state (``request.state.db``). ``ASGIHandler`` runs the lifespan when it is
  constructed, i.e. during Lambda's init phase, so warm invocations reuse the same connection;
* a JSON CRUD API under ``/account/`` with Pydantic models (404, 422), guarded by a signed
  session cookie (401 without it);
* a form login that sets two cookies and answers a 303 redirect built with ``url_for``;
* a multipart upload stored as a BLOB and a binary download of the exact bytes (base64 to ALB);
* a ``StreamingResponse`` of server-sent events, which the adapter buffers (ALB cannot stream);
* a background task (an audit row) that has finished before the Lambda handler returns;
* ``request.url_for`` links that stay right under a base path (``root_path``).

Configuration (environment variables):

``NOTES_DB``
    The SQLite file (default: a file in the temp directory, ``/tmp`` on Lambda). ``/tmp`` belongs
    to one execution environment and disappears with it: SQLite here stands in for your real
    database (RDS, Aurora, DynamoDB), whose client you would open in the same lifespan.
``SECRET_KEY``
    Signs the session cookie. Every instance must share it, so it is configuration, not
    generated. Required on Lambda; a fixed development key is used elsewhere.
``ALB_BASE_PATH``
    The prefix the ALB listener rule forwards (``/shop`` for a rule ``/shop`` + ``/shop/*``).
``SESSION_COOKIE_SECURE``
    ``1`` (default): cookies carry ``Secure``. Set ``0`` only for plain-HTTP local tries.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import os
import sqlite3
import tempfile
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Annotated, Literal, TypedDict
from urllib.parse import quote

from fastapi import (
    APIRouter,
    BackgroundTasks,
    Cookie,
    Depends,
    FastAPI,
    Form,
    HTTPException,
    Query,
    Request,
    Response,
    UploadFile,
)
from fastapi.responses import RedirectResponse, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field

from alb_adapter import ASGIHandler

__all__ = ["Settings", "app", "connect", "create_app", "handler", "record_audit", "sign", "verify"]

logger = logging.getLogger("fastapi_example")

DEV_SECRET_KEY = "dev-only-secret-key-do-not-deploy"
DEFAULT_DB = os.path.join(tempfile.gettempdir(), "alb-adapter-fastapi-notes.sqlite3")
USER_PATTERN = r"^[A-Za-z0-9_.-]{1,32}$"
THEMES = ("light", "dark")
EPOCH = "Thu, 01 Jan 1970 00:00:00 GMT"
THEME_MAX_AGE = 30 * 24 * 3600  # a preference: kept for 30 days, unlike the login session
# ALB refuses request bodies over 1 MB, and the response JSON must stay under 1 MB, where a
# base64 body takes 4/3 of its size: a stored file must fit in a download.
MAX_UPLOAD_BYTES = 700_000

SCHEMA = """
CREATE TABLE IF NOT EXISTS notes (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    owner TEXT NOT NULL,
    title TEXT NOT NULL,
    body TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS files (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    owner TEXT NOT NULL,
    name TEXT NOT NULL,
    content_type TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    data BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS audit (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at REAL NOT NULL,
    user TEXT NOT NULL,
    action TEXT NOT NULL,
    note_id INTEGER NOT NULL
);
"""


class State(TypedDict):
    """The lifespan state: shallow-copied into every request's ``scope["state"]``."""

    db: sqlite3.Connection
    instance: str


# --------------------------------------------------------------------------- the database


def connect(path: str) -> sqlite3.Connection:
    """Open the database and create the tables.

    Every query runs in an ``async def`` route or task, on the event loop's thread, one at a
    time. ``check_same_thread=False`` is still needed because the thread that opens the
    connection (Lambda's init, a test client's portal) is not always the one that uses it.
    """
    db = sqlite3.connect(path, check_same_thread=False)
    db.row_factory = sqlite3.Row
    db.executescript(SCHEMA)
    return db


async def get_db(request: Request) -> sqlite3.Connection:
    """The connection the lifespan opened, from the request's copy of the lifespan state."""
    db: sqlite3.Connection = request.state.db
    return db


DB = Annotated[sqlite3.Connection, Depends(get_db)]


async def record_audit(db: sqlite3.Connection, user: str, action: str, note_id: int) -> None:
    """A background task: runs after the response is sent. On Lambda the process is frozen as
    soon as the handler returns, so ASGIHandler waits for it before returning."""
    with db:
        db.execute(
            "INSERT INTO audit (at, user, action, note_id) VALUES (?, ?, ?, ?)",
            (time.time(), user, action, note_id),
        )


# --------------------------------------------------------------------------- sessions


def sign(user: str, secret: str) -> str:
    """A session token any instance can check with the shared secret: no server-side store,
    so whichever Lambda instance ALB picks can serve the next request."""
    mac = hmac.new(secret.encode(), user.encode(), hashlib.sha256).hexdigest()
    return f"{user}.{mac}"


def verify(token: str, secret: str) -> str | None:
    """The user a token was signed for, or None when the signature does not match."""
    user = token.rpartition(".")[0]
    if not user or not hmac.compare_digest(sign(user, secret), token):
        return None
    return user


def cookie_path(request: Request) -> str:
    """The mount point: cookies of a function under ``/shop`` must not reach other targets of
    the same load balancer."""
    root: str = request.scope.get("root_path", "")
    return root or "/"


# --------------------------------------------------------------------------- models


class NoteIn(BaseModel):
    """What a client sends to create or replace a note; unknown fields are a 422, not ignored."""

    model_config = ConfigDict(extra="forbid")

    title: str = Field(min_length=1, max_length=200)
    body: str = Field(default="", max_length=10_000)


class Note(BaseModel):
    id: int
    title: str
    body: str


class NoteList(BaseModel):
    notes: list[Note]


class AuditEntry(BaseModel):
    user: str
    action: str
    note_id: int


class FileInfo(BaseModel):
    id: int
    name: str
    content_type: str
    size: int
    sha256: str
    url: str


def content_disposition(name: str) -> str:
    """``attachment`` (never rendered inline: the bytes are the user's), with an ASCII fallback
    name and the exact one in RFC 6266 ``filename*``."""
    fallback = "".join(c if c.isascii() and (c.isalnum() or c in "._-") else "_" for c in name)
    return f"attachment; filename=\"{fallback or 'download'}\"; filename*=UTF-8''{quote(name, safe='')}"


# --------------------------------------------------------------------------- settings


@dataclass(frozen=True)
class Settings:
    """What ``create_app`` was given, kept on ``app.state`` for the routes and the lifespan."""

    db_path: str
    secret_key: str
    secure_cookies: bool


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def current_user(request: Request, session: Annotated[str | None, Cookie()] = None) -> str:
    """Every /account/ route needs the session cookie; API clients get a JSON 401."""
    user = verify(session, get_settings(request).secret_key) if session else None
    if user is None:
        raise HTTPException(status_code=401, detail="login required")
    return user


User = Annotated[str, Depends(current_user)]


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[State]:
    """Open the database once per process and close it when the process ends. Whatever is
    yielded becomes the lifespan state, which every request sees as ``request.state``."""
    path = app.state.settings.db_path
    db = connect(path)
    instance = uuid.uuid4().hex
    logger.info("instance %s started with database %s", instance, path)
    try:
        yield {"db": db, "instance": instance}
    finally:
        db.close()
        logger.info("instance %s stopped", instance)


# --------------------------------------------------------------------------- public routes

public = APIRouter()


@public.get("/")
async def index(request: Request, theme: Annotated[str, Cookie()] = "light") -> dict[str, object]:
    """Links built with ``url_for``: absolute, and under ``root_path`` when mounted."""
    return {
        "theme": theme if theme in THEMES else "light",
        "links": {
            name: str(request.url_for(name))
            for name in ("login", "list_notes", "upload_file", "events", "search")
        },
    }


@public.post("/login")
async def login(
    request: Request,
    username: Annotated[str, Form(pattern=USER_PATTERN)],
    password: Annotated[str, Form(min_length=1)],
    theme: Annotated[Literal["light", "dark"], Form()] = "light",
) -> RedirectResponse:
    """Demo login: any well-formed user name with a non-empty password (plug a user store in
    here). Sets two cookies, the session and a ``theme`` preference, and sends the browser on
    with 303 See Other (GET the notes)."""
    settings = get_settings(request)
    response = RedirectResponse(request.url_for("list_notes"), status_code=303)
    where, secure = cookie_path(request), settings.secure_cookies
    token = sign(username, settings.secret_key)
    response.set_cookie("session", token, path=where, secure=secure, httponly=True)
    response.set_cookie("theme", theme, max_age=THEME_MAX_AGE, path=where, secure=secure)
    return response


@public.post("/logout")
async def logout(request: Request) -> RedirectResponse:
    """Delete both cookies (same path and flags as when they were set, or browsers keep them)."""
    response = RedirectResponse(request.url_for("index"), status_code=303)
    secure = get_settings(request).secure_cookies
    for name in ("session", "theme"):
        # Starlette's delete_cookie() stamps the current time as Expires; the epoch says the
        # same (gone) and keeps the answer identical from one second to the next.
        response.set_cookie(
            name,
            "",
            max_age=0,
            expires=EPOCH,
            path=cookie_path(request),
            secure=secure,
            httponly=name == "session",
        )
    return response


@public.get("/events")
async def events(count: Annotated[int, Query(ge=1, le=20)] = 3) -> StreamingResponse:
    """Server-sent events. ALB cannot stream a Lambda's answer: the adapter collects the whole
    stream and sends it as one response, so keep such streams short and finite."""

    async def ticks() -> AsyncIterator[str]:
        for n in range(1, count + 1):
            yield f"id: {n}\nevent: tick\ndata: {json.dumps({'n': n})}\n\n"
            await asyncio.sleep(0)  # a real feed would await its source here
        yield "event: done\ndata: {}\n\n"

    return StreamingResponse(
        ticks(), media_type="text/event-stream", headers={"cache-control": "no-cache"}
    )


@public.get("/search")
async def search(request: Request, q: str = "") -> dict[str, str]:
    """Echo the query: ALB passes it raw, so ``+`` and ``%20`` decode to a space and ``%2B`` to
    ``+`` exactly as the browser meant."""
    return {"q": q, "query_string": request.url.query}


@public.get("/instance")
async def instance(request: Request) -> dict[str, str]:
    """Which execution environment answered: the id is made once, in the lifespan, so it stays
    the same across warm invocations and changes with each cold start."""
    instance_id: str = request.state.instance
    return {"instance": instance_id}


# --------------------------------------------------------------------------- /account/ notes

account = APIRouter(prefix="/account", dependencies=[Depends(current_user)])


def find_note(db: sqlite3.Connection, user: str, note_id: int) -> Note:
    row = db.execute(
        "SELECT id, title, body FROM notes WHERE id = ? AND owner = ?", (note_id, user)
    ).fetchone()
    if row is None:  # someone else's note is as absent as a deleted one
        raise HTTPException(status_code=404, detail="note not found")
    return Note(id=row["id"], title=row["title"], body=row["body"])


@account.get("/notes")
async def list_notes(db: DB, user: User) -> NoteList:
    rows = db.execute(
        "SELECT id, title, body FROM notes WHERE owner = ? ORDER BY id", (user,)
    ).fetchall()
    return NoteList(notes=[Note(id=r["id"], title=r["title"], body=r["body"]) for r in rows])


@account.post("/notes", status_code=201)
async def create_note(
    request: Request,
    response: Response,
    note: NoteIn,
    db: DB,
    user: User,
    background: BackgroundTasks,
) -> Note:
    with db:
        cursor = db.execute(
            "INSERT INTO notes (owner, title, body) VALUES (?, ?, ?)",
            (user, note.title, note.body),
        )
    assert cursor.lastrowid is not None
    created = Note(id=cursor.lastrowid, title=note.title, body=note.body)
    response.headers["location"] = str(request.url_for("get_note", note_id=created.id))
    background.add_task(record_audit, db, user, "create", created.id)
    return created


@account.get("/notes/{note_id}")
async def get_note(note_id: int, db: DB, user: User) -> Note:
    return find_note(db, user, note_id)


@account.put("/notes/{note_id}")
async def update_note(
    note_id: int, note: NoteIn, db: DB, user: User, background: BackgroundTasks
) -> Note:
    find_note(db, user, note_id)
    with db:
        db.execute(
            "UPDATE notes SET title = ?, body = ? WHERE id = ?", (note.title, note.body, note_id)
        )
    background.add_task(record_audit, db, user, "update", note_id)
    return Note(id=note_id, title=note.title, body=note.body)


@account.delete("/notes/{note_id}", status_code=204)
async def delete_note(note_id: int, db: DB, user: User, background: BackgroundTasks) -> Response:
    """204 with no body: returned as a bare Response, or FastAPI would label the empty body
    ``application/json``."""
    find_note(db, user, note_id)
    with db:
        db.execute("DELETE FROM notes WHERE id = ?", (note_id,))
    background.add_task(record_audit, db, user, "delete", note_id)
    return Response(status_code=204)


@account.get("/audit")
async def audit(db: DB, user: User) -> list[AuditEntry]:
    """What the background tasks wrote."""
    rows = db.execute(
        "SELECT user, action, note_id FROM audit WHERE user = ? ORDER BY id", (user,)
    ).fetchall()
    return [AuditEntry(user=r["user"], action=r["action"], note_id=r["note_id"]) for r in rows]


# --------------------------------------------------------------------------- /account/ files


@account.post("/files", status_code=201)
async def upload_file(
    request: Request, response: Response, file: UploadFile, db: DB, user: User
) -> FileInfo:
    """A multipart upload, stored whole. ALB sends a binary body base64-encoded; the adapter
    decodes it, so the app reads the exact bytes the browser sent."""
    data = await file.read(MAX_UPLOAD_BYTES + 1)
    if len(data) > MAX_UPLOAD_BYTES:
        raise HTTPException(status_code=413, detail=f"at most {MAX_UPLOAD_BYTES} bytes")
    name = file.filename or "upload"
    content_type = file.content_type or "application/octet-stream"
    digest = hashlib.sha256(data).hexdigest()
    with db:
        cursor = db.execute(
            "INSERT INTO files (owner, name, content_type, sha256, data) VALUES (?, ?, ?, ?, ?)",
            (user, name, content_type, digest, data),
        )
    assert cursor.lastrowid is not None
    url = str(request.url_for("download_file", file_id=cursor.lastrowid))
    response.headers["location"] = url
    return FileInfo(
        id=cursor.lastrowid,
        name=name,
        content_type=content_type,
        size=len(data),
        sha256=digest,
        url=url,
    )


@account.get("/files/{file_id}")
async def download_file(file_id: int, db: DB, user: User) -> Response:
    """The stored bytes under their uploaded type (given as a header, so Starlette adds no
    charset); the adapter sends them base64 unless they are UTF-8 text."""
    row = db.execute(
        "SELECT name, content_type, sha256, data FROM files WHERE id = ? AND owner = ?",
        (file_id, user),
    ).fetchone()
    if row is None:
        raise HTTPException(status_code=404, detail="file not found")
    return Response(
        content=bytes(row["data"]),
        headers={
            "content-type": row["content_type"],
            "content-disposition": content_disposition(row["name"]),
            "x-content-type-options": "nosniff",  # browsers must not guess HTML in it
            "etag": f'"{row["sha256"]}"',
        },
    )


# --------------------------------------------------------------------------- the app


def create_app(
    db_path: str | None = None,
    *,
    secret_key: str | None = None,
    secure_cookies: bool | None = None,
) -> FastAPI:
    """Build the app; the arguments default to the environment (see the module docstring).

    On Lambda ``SECRET_KEY`` is required, so a deployment without it fails at init instead of
    signing sessions with a key published in this file.
    """
    secret = secret_key or os.environ.get("SECRET_KEY")
    if not secret:
        # On Lambda, not in the local ALB's environments (alb-adapter serve sets ALB_ADAPTER_LOCAL).
        if os.environ.get("AWS_LAMBDA_FUNCTION_NAME") and not os.environ.get("ALB_ADAPTER_LOCAL"):
            raise RuntimeError("set the SECRET_KEY environment variable of the Lambda function")
        secret = DEV_SECRET_KEY
    if secure_cookies is None:
        secure_cookies = os.environ.get("SESSION_COOKIE_SECURE", "1") != "0"

    app = FastAPI(title="alb-adapter FastAPI example", lifespan=lifespan)
    app.state.settings = Settings(
        db_path=db_path or os.environ.get("NOTES_DB") or DEFAULT_DB,
        secret_key=secret,
        secure_cookies=secure_cookies,
    )
    app.include_router(public)
    app.include_router(account)
    return app


app = create_app()

# Built at import, i.e. in Lambda's init phase: the lifespan (the database) starts here, once.
handler = ASGIHandler(
    app, base_path=os.environ.get("ALB_BASE_PATH", ""), health_check_path="/health"
)
