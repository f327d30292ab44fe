"""What the Django example's tests share: the site behind either handler kind, replies in one shape
for both ALB header modes, and the clean-up an ASGIHandler needs in a test process.

A module of its own (``conftest.py`` puts this directory on ``sys.path``) because pytest's
importlib mode lets test files import neither each other nor ``conftest.py``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from http.cookies import SimpleCookie
from typing import TYPE_CHECKING, Any, Literal, NamedTuple, TypeAlias

from alb_adapter import ASGIHandler, WSGIHandler
from alb_adapter.testing import LambdaContext, make_event, read_response

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment
    from asgiref.typing import ASGI3Application, ASGIReceiveCallable, ASGISendCallable, Scope

Kind: TypeAlias = Literal["wsgi", "asgi"]
Handler: TypeAlias = WSGIHandler | ASGIHandler

# What a deployment would set: the site's name and the load balancer's, not localhost.
PRODUCTION_HOSTS = ["example.com", ".elb.amazonaws.com"]

HTML = ("content-type", "text/html; charset=utf-8")
JSON = ("content-type", "application/json")
DENY = ("x-frame-options", "DENY")
VARY = ("vary", "Cookie")
SECURITY = [
    ("x-content-type-options", "nosniff"),
    ("referrer-policy", "same-origin"),
    ("cross-origin-opener-policy", "same-origin"),
]
CSRF_COOKIE = "csrftoken=…; expires=…; Max-Age=31449600; Path=/; SameSite=Lax; Secure"
SESSION_COOKIE = "sessionid=…; expires=…; HttpOnly; Max-Age=1209600; Path=/; SameSite=Lax; Secure"
BAD_REQUEST = (
    b'\n<!doctype html>\n<html lang="en">\n<head>\n  <title>Bad Request (400)</title>\n</head>\n'
    b"<body>\n  <h1>Bad Request (400)</h1><p></p>\n</body>\n</html>\n"
)


class Reply(NamedTuple):
    """An ALB response in one shape for both modes: header pairs in order, body as bytes."""

    status: int
    description: str
    headers: list[tuple[str, str]]
    body: bytes

    def values(self, name: str) -> list[str]:
        return [value for key, value in self.headers if key == name]

    @property
    def text(self) -> str:
        return self.body.decode("utf-8")

    def masked(self) -> Reply:
        """The reply with cookie values and expiry dates (random or time-based) masked."""
        headers = [
            (name, mask_cookie(value) if name == "set-cookie" else value)
            for name, value in self.headers
        ]
        return self._replace(headers=headers)

    def cookies(self) -> dict[str, str]:
        jar: SimpleCookie = SimpleCookie()
        for value in self.values("set-cookie"):
            jar.load(value)
        return {name: morsel.value for name, morsel in jar.items()}


def mask_cookie(value: str) -> str:
    name = value.strip().partition("=")[0]
    rest = [part.strip() for part in value.split(";")[1:]]
    attributes = ["expires=…" if part.lower().startswith("expires=") else part for part in rest]
    return "; ".join([f"{name}=…", *attributes])


def normalise(response: dict[str, object], multi: bool) -> Reply:
    """Check ``response`` is what ALB accepts in this mode, and flatten it into a Reply.

    Single-value mode carries several Set-Cookie under case variants of the name (set-cookie,
    Set-cookie, sEt-cookie, ...); they come back here as ``set-cookie`` pairs, in order.
    """
    field = "multiValueHeaders" if multi else "headers"
    assert set(response) == {"statusCode", "statusDescription", "isBase64Encoded", "body", field}
    answer = read_response(response, multi_value_headers=multi)
    description = response["statusDescription"]
    assert isinstance(description, str)
    assert description.startswith(f"{answer.status} ")
    return Reply(answer.status, description, list(answer.headers), answer.body)


def cookie_header(jar: dict[str, str]) -> str:
    return "; ".join(f"{name}={value}" for name, value in jar.items())


def csrf_token(html: str) -> str:
    match = re.search(r'name="csrfmiddlewaretoken" value="([A-Za-z0-9]+)"', html)
    assert match, "no CSRF token in the page"
    return match.group(1)


def listed(html: str, list_id: str) -> list[str]:
    """The <li> texts of the <ul> with this id or class."""
    match = re.search(rf'<ul (?:id|class)="{list_id}">(.*?)</ul>', html, re.DOTALL)
    return re.findall(r"<li>(.*?)</li>", match.group(1)) if match else []


def layout(title: str, content: str, prefix: str = "") -> bytes:
    """A whole page of the example's base template; its links carry the mount prefix."""
    return (
        '<!doctype html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{title}</title>\n</head>\n<body>\n"
        f'<nav><a href="{prefix}/">Home</a> | <a href="{prefix}/notes/">Notes</a></nav>\n'
        f"<main>\n\n{content}\n</main>\n</body>\n</html>\n"
    ).encode()


@dataclass(frozen=True)
class Site:
    """The example as ALB and a browser meet it: one app protocol (WSGI or ASGI), one header
    mode, and the one Django application mounted twice -- at the root (the deployed module's
    handler) and under an ALB rule ``/account/*`` (base_path -> SCRIPT_NAME or root_path).
    Django sets its script prefix on every request, so the two can be used in any order."""

    kind: Kind
    multi: bool
    handlers: Mapping[str, Handler]

    @property
    def deployed(self) -> Handler:
        """The handler the Lambda function runs (``lambda_handler`` or ``lambda_handler_asgi``)."""
        return self.handlers[""]

    def invoke(
        self, method: str, path: str, *, base_path: str = "", **options: Any
    ) -> tuple[dict[str, object], Reply]:
        """One request through the handler mounted at ``base_path``: (raw ALB dict, Reply)."""
        event = make_event(method, path, multi_value_headers=self.multi, **options)
        response = self.handlers[base_path](event, LambdaContext())
        return response, normalise(response, self.multi)

    def call(self, method: str, path: str, *, base_path: str = "", **options: Any) -> Reply:
        return self.invoke(method, path, base_path=base_path, **options)[1]

    def new_form(self, base_path: str = "") -> tuple[dict[str, str], str]:
        """GET the notes form: (cookie jar holding csrftoken, the token from the page)."""
        reply = self.call("GET", f"{base_path}/notes/", base_path=base_path)
        assert reply.status == 200
        jar = reply.cookies()
        assert list(jar) == ["csrftoken"]
        return jar, csrf_token(reply.text)


class Spied(NamedTuple):
    """A handler over the Django application that records the path of each request reaching it."""

    handler: Handler
    calls: list[str]


def wsgi_spy(app: WSGIApplication, calls: list[str]) -> WSGIApplication:
    """``app``, recording each PATH_INFO it is called with."""

    def spy(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        calls.append(environ["PATH_INFO"])
        return app(environ, start_response)

    return spy


def asgi_spy(app: ASGI3Application, calls: list[str]) -> ASGI3Application:
    """``app``, recording the path of each HTTP request (not the lifespan probe)."""

    async def spy(scope: Scope, receive: ASGIReceiveCallable, send: ASGISendCallable) -> None:
        if scope["type"] == "http":
            calls.append(scope["path"])
        await app(scope, receive, send)

    return spy
