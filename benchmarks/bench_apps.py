"""The applications the benchmark serves: the same five routes as raw WSGI, raw ASGI, Flask, FastAPI
and Django (WSGI and ASGI).

Routes (one per benchmark case):

* ``GET /api/items``          a small JSON list (about 1 KB); the app records the query it saw
* ``POST /api/items``         64 KiB of JSON in, a short JSON answer (201) out
* ``POST /api/upload``        512 KiB of binary in, a short JSON answer out
* ``GET /static/photo.png``   512 KiB of image/png out
* ``GET /account/login``      a short HTML page with three Set-Cookie headers

Every app writes what it received into ``SEEN`` (the raw query string, and the body for POSTs), so
the harness can check that each adapter delivered the request as ALB sent it without making the
response depend on it: the response bytes are then the same whatever adapter served them. Frameworks
are imported only when their app is built, so ``import bench_apps`` stays cheap.
"""

# ruff: noqa: PLC0415  (frameworks are imported only when their app is built)
# No ``from __future__ import annotations`` here: FastAPI reads the endpoints' annotations at run
# time, and ``Request`` is imported inside make_fastapi_app.
import json
import random
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Iterable

    StartResponse = Callable[..., Callable[[bytes], object]]
    WSGIApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]
    Receive = Callable[[], Awaitable[dict[str, Any]]]
    Send = Callable[[dict[str, Any]], Awaitable[None]]
    # Loose on purpose, as alb_adapter's own: Starlette's scope is a MutableMapping.
    ASGIApp = Callable[[Any, Any, Any], Awaitable[None]]

# What the app last received: "query" (str, raw as the app saw it) and "body" (bytes, POST only).
SEEN: dict[str, object] = {}

ITEMS: dict[str, object] = {
    "items": [
        {
            "id": 1000 + n,
            "name": f"Trail running shoe, model {n}",
            "price": {"amount": 8990 + 250 * n, "currency": "EUR"},
            "in_stock": n % 3 != 0,
        }
        for n in range(8)
    ],
    "page": 2,
    "next": "/api/items?page=3",
}
ITEMS_JSON = json.dumps(ITEMS, separators=(",", ":")).encode("utf-8")

_rng = random.Random(20240611)  # noqa: S311 (deterministic payloads, not secrets)
IMAGE = b"\x89PNG\r\n\x1a\n" + _rng.randbytes(512 * 1024 - 8)
UPLOAD = _rng.randbytes(512 * 1024)


def _json_document(size: int) -> bytes:
    """A realistic JSON document of exactly ``size`` bytes (a list of orders, some non-ASCII)."""
    orders = []
    n = 0
    while True:
        orders.append(
            {
                "id": f"ord_{n:06d}",
                "customer": {"name": ["Zoë Martin", "José Álvarez", "Ada Lovelace"][n % 3]},
                "lines": [{"sku": f"SKU-{n * 7 % 1000:04d}", "qty": 1 + n % 4, "price": 1299}],
                "note": "Leave at the door; ring twice ✓",
            }
        )
        text = json.dumps({"orders": orders}, ensure_ascii=False).encode("utf-8")
        if len(text) > size:
            orders.pop()
            break
        n += 1
    text = json.dumps({"orders": orders, "pad": ""}, ensure_ascii=False).encode("utf-8")
    pad = size - len(text)
    return json.dumps({"orders": orders, "pad": "x" * pad}, ensure_ascii=False).encode("utf-8")


ORDERS_JSON = _json_document(64 * 1024)

LOGIN_HTML = b"<!doctype html><title>Signed in</title><p>Welcome back.</p>"
# name, value: each set with Path=/, Secure, HttpOnly (the framework builds the header itself).
COOKIES = (
    ("session", "8f14e45fceea167a5a36dedd4bea2543"),
    ("csrftoken", "Q9vX2mK7pL4sT8wZ1bN6cR3dF5gH0jYe"),
    ("prefs", "theme.dark-lang.en"),
)
COOKIE_HEADERS = [f"{name}={value}; Path=/; Secure; HttpOnly" for name, value in COOKIES]


def received_json(body: bytes) -> bytes:
    return json.dumps({"received": len(body)}, separators=(",", ":")).encode("ascii")


# --------------------------------------------------------------------------- raw WSGI


def raw_wsgi_app(environ: dict[str, Any], start_response: "StartResponse") -> list[bytes]:
    method = environ["REQUEST_METHOD"]
    path = environ["PATH_INFO"]
    SEEN["query"] = environ.get("QUERY_STRING", "")
    if method == "GET" and path == "/api/items":
        start_response(
            "200 OK", [("Content-Type", "application/json"), ("Cache-Control", "max-age=60")]
        )
        return [ITEMS_JSON]
    if method == "POST" and path in ("/api/items", "/api/upload"):
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        SEEN["body"] = body
        status = "201 Created" if path == "/api/items" else "200 OK"
        start_response(status, [("Content-Type", "application/json")])
        return [received_json(body)]
    if method == "GET" and path == "/static/photo.png":
        start_response(
            "200 OK", [("Content-Type", "image/png"), ("Cache-Control", "max-age=86400")]
        )
        return [IMAGE]
    if method == "GET" and path == "/account/login":
        headers = [("Content-Type", "text/html; charset=utf-8")]
        headers += [("Set-Cookie", value) for value in COOKIE_HEADERS]
        start_response("200 OK", headers)
        return [LOGIN_HTML]
    start_response("404 Not Found", [("Content-Type", "text/plain")])
    return [b"not found"]


# --------------------------------------------------------------------------- raw ASGI

_JSON_HEADERS = [(b"content-type", b"application/json")]


async def raw_asgi_app(scope: dict[str, Any], receive: "Receive", send: "Send") -> None:
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    method = scope["method"]
    path = scope["path"]
    SEEN["query"] = scope["query_string"].decode("latin-1")
    if method == "GET" and path == "/api/items":
        headers = [*_JSON_HEADERS, (b"cache-control", b"max-age=60")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": ITEMS_JSON})
        return
    if method == "POST" and path in ("/api/items", "/api/upload"):
        chunks = []
        more = True
        while more:
            message = await receive()
            chunks.append(message.get("body", b""))
            more = message.get("more_body", False)
        body = b"".join(chunks)
        SEEN["body"] = body
        status = 201 if path == "/api/items" else 200
        await send({"type": "http.response.start", "status": status, "headers": _JSON_HEADERS})
        await send({"type": "http.response.body", "body": received_json(body)})
        return
    if method == "GET" and path == "/static/photo.png":
        headers = [(b"content-type", b"image/png"), (b"cache-control", b"max-age=86400")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": IMAGE})
        return
    if method == "GET" and path == "/account/login":
        headers = [(b"content-type", b"text/html; charset=utf-8")]
        headers += [(b"set-cookie", value.encode("ascii")) for value in COOKIE_HEADERS]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": LOGIN_HTML})
        return
    await send({"type": "http.response.start", "status": 404, "headers": []})
    await send({"type": "http.response.body", "body": b"not found"})


# --------------------------------------------------------------------------- Flask


def make_flask_app() -> "WSGIApp":
    from flask import Flask, Response, jsonify, request

    app = Flask("bench_flask")

    @app.get("/api/items")
    def items() -> Response:
        SEEN["query"] = request.query_string.decode("latin-1")
        response = jsonify(ITEMS)
        response.headers["Cache-Control"] = "max-age=60"
        return response

    @app.post("/api/items")
    def create_items() -> tuple[Response, int]:
        SEEN["query"] = request.query_string.decode("latin-1")
        body = request.get_data()
        SEEN["body"] = body
        return jsonify(received=len(body)), 201

    @app.post("/api/upload")
    def upload() -> Response:
        SEEN["query"] = request.query_string.decode("latin-1")
        body = request.get_data()
        SEEN["body"] = body
        return jsonify(received=len(body))

    @app.get("/static/photo.png")
    def photo() -> Response:
        SEEN["query"] = request.query_string.decode("latin-1")
        return Response(IMAGE, mimetype="image/png", headers={"Cache-Control": "max-age=86400"})

    @app.get("/account/login")
    def login() -> Response:
        SEEN["query"] = request.query_string.decode("latin-1")
        response = Response(LOGIN_HTML, content_type="text/html; charset=utf-8")
        for name, value in COOKIES:
            response.set_cookie(name, value, path="/", secure=True, httponly=True)
        return response

    return app


# --------------------------------------------------------------------------- FastAPI


def make_fastapi_app() -> "ASGIApp":
    from contextlib import asynccontextmanager

    from fastapi import FastAPI, Request
    from fastapi.responses import JSONResponse, Response

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> Any:  # what a real app opens once: a pool, a client...
        yield {"started": True}

    app = FastAPI(lifespan=lifespan, openapi_url=None, docs_url=None, redoc_url=None)

    @app.get("/api/items")
    async def items(request: Request) -> JSONResponse:
        SEEN["query"] = request.scope["query_string"].decode("latin-1")
        return JSONResponse(ITEMS, headers={"Cache-Control": "max-age=60"})

    @app.post("/api/items", status_code=201)
    async def create_items(request: Request) -> JSONResponse:
        SEEN["query"] = request.scope["query_string"].decode("latin-1")
        body = await request.body()
        SEEN["body"] = body
        return JSONResponse({"received": len(body)}, status_code=201)

    @app.post("/api/upload")
    async def upload(request: Request) -> JSONResponse:
        SEEN["query"] = request.scope["query_string"].decode("latin-1")
        body = await request.body()
        SEEN["body"] = body
        return JSONResponse({"received": len(body)})

    @app.get("/static/photo.png")
    async def photo(request: Request) -> Response:
        SEEN["query"] = request.scope["query_string"].decode("latin-1")
        return Response(IMAGE, media_type="image/png", headers={"Cache-Control": "max-age=86400"})

    @app.get("/account/login")
    async def login(request: Request) -> Response:
        SEEN["query"] = request.scope["query_string"].decode("latin-1")
        response = Response(LOGIN_HTML, media_type="text/html")
        for name, value in COOKIES:
            response.set_cookie(name, value, path="/", secure=True, httponly=True)
        return response

    return app


# --------------------------------------------------------------------------- Django

_django_ready = False


def _setup_django() -> None:
    """One minimal project, configured in code: no database, the usual security middleware."""
    global _django_ready  # noqa: PLW0603 (Django settings are process-wide)
    if _django_ready:
        return
    import sys
    import types

    import django  # type: ignore[import-untyped]
    from django.conf import settings  # type: ignore[import-untyped]
    from django.urls import path  # type: ignore[import-untyped]

    settings.configure(
        DEBUG=False,
        SECRET_KEY="benchmark-only-not-a-secret",  # noqa: S106
        ALLOWED_HOSTS=["example.com"],
        ROOT_URLCONF="bench_django_urls",
        MIDDLEWARE=[
            "django.middleware.security.SecurityMiddleware",
            "django.middleware.common.CommonMiddleware",
        ],
        INSTALLED_APPS=[],
        USE_TZ=True,
    )
    django.setup()

    from django.http import HttpRequest, HttpResponse, JsonResponse  # type: ignore[import-untyped]

    def items(request: HttpRequest) -> HttpResponse:
        SEEN["query"] = request.META.get("QUERY_STRING", "")
        if request.method == "POST":
            body = request.body
            SEEN["body"] = body
            return JsonResponse({"received": len(body)}, status=201)
        response = JsonResponse(ITEMS)
        response["Cache-Control"] = "max-age=60"
        return response

    def upload(request: HttpRequest) -> HttpResponse:
        SEEN["query"] = request.META.get("QUERY_STRING", "")
        body = request.body
        SEEN["body"] = body
        return JsonResponse({"received": len(body)})

    def photo(request: HttpRequest) -> HttpResponse:
        SEEN["query"] = request.META.get("QUERY_STRING", "")
        response = HttpResponse(IMAGE, content_type="image/png")
        response["Cache-Control"] = "max-age=86400"
        return response

    def login(request: HttpRequest) -> HttpResponse:
        SEEN["query"] = request.META.get("QUERY_STRING", "")
        response = HttpResponse(LOGIN_HTML, content_type="text/html; charset=utf-8")
        for name, value in COOKIES:
            response.set_cookie(name, value, path="/", secure=True, httponly=True)
        return response

    urls = types.ModuleType("bench_django_urls")
    urls.urlpatterns = [  # type: ignore[attr-defined]
        path("api/items", items),
        path("api/upload", upload),
        path("static/photo.png", photo),
        path("account/login", login),
    ]
    sys.modules["bench_django_urls"] = urls
    _django_ready = True


def make_django_wsgi_app() -> "WSGIApp":
    _setup_django()
    from django.core.wsgi import get_wsgi_application  # type: ignore[import-untyped]

    app: WSGIApp = get_wsgi_application()
    return app


def make_django_asgi_app() -> "ASGIApp":
    _setup_django()
    from django.core.asgi import get_asgi_application  # type: ignore[import-untyped]

    app: ASGIApp = get_asgi_application()
    return app
