"""The Django example driven through its real Lambda handler, with the events ALB sends.

Everything that depends on headers runs in both ALB header modes (single-value, the target group
default, and multi-value), and responses are compared whole -- status, statusDescription,
headers, body -- with only the random parts of cookies masked.
"""

from __future__ import annotations

import json
import logging
import re
from http.cookies import SimpleCookie
from typing import TYPE_CHECKING, NamedTuple

import pytest
from django.conf import settings
from django.core.management import call_command
from django.test import override_settings
from django_example import lambda_handler
from django_example.settings import env_bool, env_list
from django_example.views import MAX_NOTES

from alb_adapter import WSGIHandler
from alb_adapter.testing import LambdaContext, make_event, make_health_check_event, read_response

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

    from _typeshed.wsgi import StartResponse, WSGIEnvironment

APP = lambda_handler.application
# One Django application, mounted twice: at the root (the module's handler) and under an ALB
# rule /account/* (base_path -> SCRIPT_NAME). Django sets its script prefix from SCRIPT_NAME on
# every request, so the two can be used in any order.
HANDLERS = {
    "": lambda_handler.handler,
    "/account": WSGIHandler(APP, health_check_path="/health", base_path="/account"),
}
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


# --------------------------------------------------------------------------- helpers


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
            (name, _mask_cookie(value) if name == "set-cookie" else value)
            for name, value in self.headers
        ]
        return self._replace(headers=headers)

    def cookies(self) -> dict[str, str]:
        jar: SimpleCookie = SimpleCookie()
        for value in self.values("set-cookie"):
            jar.load(value)
        return {name: morsel.value for name, morsel in jar.items()}


def _mask_cookie(value: str) -> str:
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


def invoke(
    method: str, path: str, *, multi: bool, base_path: str = "", **options: object
) -> tuple[dict[str, object], Reply]:
    """One request through the handler mounted at ``base_path``: (raw ALB dict, Reply)."""
    event = make_event(method, path, multi_value_headers=multi, **options)
    response = HANDLERS[base_path](event, LambdaContext())
    return response, normalise(response, multi)


def call(method: str, path: str, *, multi: bool, base_path: str = "", **options: object) -> Reply:
    return invoke(method, path, multi=multi, base_path=base_path, **options)[1]


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


def spy(calls: list[str]) -> Callable[[WSGIEnvironment, StartResponse], Iterable[bytes]]:
    """The Django application, recording each PATH_INFO it is called with."""

    def app(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        calls.append(environ["PATH_INFO"])
        return APP(environ, start_response)

    return app


@pytest.fixture(params=[False, True], ids=["single", "multi"])
def multi(request: pytest.FixtureRequest) -> bool:
    """Both header modes of an ALB target group (lambda.multi_value_headers.enabled)."""
    return bool(request.param)


def new_form(multi: bool, base_path: str = "") -> tuple[dict[str, str], str]:
    """GET the notes form: (cookie jar holding csrftoken, the token from the page)."""
    reply = call("GET", f"{base_path}/notes/", multi=multi, base_path=base_path)
    assert reply.status == 200
    jar = reply.cookies()
    assert list(jar) == ["csrftoken"]
    return jar, csrf_token(reply.text)


# --------------------------------------------------------------------------- the project


def test_settings_are_the_examples() -> None:
    # Guards the conftest: another settings module would make every other test meaningless.
    assert settings.SETTINGS_MODULE == "django_example.settings"
    assert settings.DEBUG is False
    assert settings.ALLOWED_HOSTS == ["example.com", ".elb.amazonaws.com", "localhost", "127.0.0.1"]
    assert settings.SESSION_ENGINE == "django.contrib.sessions.backends.signed_cookies"
    assert settings.DATABASES["default"]["ENGINE"] == "django.db.backends.dummy"  # none at all
    assert settings.SECURE_PROXY_SSL_HEADER is None  # not needed: see test_scheme_follows_...


def test_django_system_checks_pass(capsys: pytest.CaptureFixture[str]) -> None:
    call_command("check")
    assert capsys.readouterr().out == "System check identified no issues (0 silenced).\n"


def test_module_handler_is_configured_for_alb() -> None:
    handler = lambda_handler.handler
    assert isinstance(handler, WSGIHandler)
    assert handler.app is APP
    assert handler.config.health_check_path == "/health"
    assert handler.config.base_path == ""  # ALB_BASE_PATH unset (conftest)


def test_wsgi_and_asgi_modules_load() -> None:
    from django_example import asgi, wsgi

    assert callable(wsgi.application)
    assert callable(asgi.application)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (None, ["default.test"]),
        ("", ["default.test"]),
        ("a.example, .elb.amazonaws.com,,", ["a.example", ".elb.amazonaws.com"]),
    ],
)
def test_env_list(monkeypatch: pytest.MonkeyPatch, raw: str | None, expected: list[str]) -> None:
    if raw is None:
        monkeypatch.delenv("EXAMPLE_LIST", raising=False)
    else:
        monkeypatch.setenv("EXAMPLE_LIST", raw)
    assert env_list("EXAMPLE_LIST", ["default.test"]) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [(None, True), ("0", False), ("False", False), ("off", False), ("1", True), ("YES", True)],
)
def test_env_bool(monkeypatch: pytest.MonkeyPatch, raw: str | None, expected: bool) -> None:
    if raw is None:
        monkeypatch.delenv("EXAMPLE_BOOL", raising=False)
    else:
        monkeypatch.setenv("EXAMPLE_BOOL", raw)
    assert env_bool("EXAMPLE_BOOL", default=True) is expected


def test_env_bool_refuses_typos(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EXAMPLE_BOOL", "ture")
    with pytest.raises(ValueError, match="EXAMPLE_BOOL must be true or false"):
        env_bool("EXAMPLE_BOOL", default=False)


# --------------------------------------------------------------------------- pages and paths


HOME = (
    "\n<h1>Django on AWS Lambda behind an ALB</h1>\n<ul>\n"
    '<li><a href="{p}/notes/">Notes</a>: a form with a CSRF token, notes kept in a '
    "signed-cookie session</li>\n"
    '<li><a href="{p}/api/notes">Notes as JSON</a></li>\n'
    '<li><a href="{p}/api/request">What Django sees of this request</a>: client address, '
    "scheme, absolute URL</li>\n</ul>\n"
)


@pytest.mark.parametrize(
    ("base_path", "path"),
    [("", "/"), ("/account", "/account/"), ("/account", "/account")],
)
def test_home_page_links_stay_under_the_mount_point(multi: bool, base_path: str, path: str) -> None:
    # {% url %} prefixes SCRIPT_NAME, which the adapter sets to base_path: nothing to configure.
    reply = call("GET", path, multi=multi, base_path=base_path)
    assert reply == (
        200,
        "200 OK",
        [HTML, DENY, VARY, *SECURITY],
        layout("alb-adapter Django example", HOME.format(p=base_path), base_path),
    )


@pytest.mark.parametrize("base_path", ["", "/account"])
def test_unknown_path_is_the_examples_404_page(multi: bool, base_path: str) -> None:
    reply = call("GET", f"{base_path}/no/such/page", multi=multi, base_path=base_path)
    assert reply == (
        404,
        "404 Not Found",
        [HTML, DENY, VARY, *SECURITY],
        layout(
            "Not Found",
            f'\n<h1>Not Found</h1>\n<p>Nothing here. <a href="{base_path}/">Back home</a>.</p>\n',
            base_path,
        ),
    )


def test_path_beside_the_mount_point_is_not_stripped(multi: bool) -> None:
    # /accounts is not under /account: Django sees the whole path (and has no such page).
    reply = call("GET", "/accounts/api/request", multi=multi, base_path="/account")
    assert reply.status == 404


@pytest.mark.parametrize(
    ("base_path", "path", "script_name", "path_info"),
    [
        ("", "/api/request?x=1&y=a+b", "", "/api/request"),
        ("/account", "/account/api/request?x=1&y=a+b", "/account", "/api/request"),
    ],
)
def test_request_info_under_a_mount_point(
    multi: bool, base_path: str, path: str, script_name: str, path_info: str
) -> None:
    reply = call("GET", path, multi=multi, base_path=base_path)
    assert reply.masked()[:3] == (200, "200 OK", [JSON, DENY, *SECURITY])
    assert json.loads(reply.body) == {
        "remote_addr": "198.51.100.7",
        "x_forwarded_for": "198.51.100.7",
        "is_secure": True,
        "scheme": "https",
        "host": "example.com",
        "absolute_uri": f"https://example.com{path}",
        "script_name": script_name,
        "path_info": path_info,
        "path": f"{script_name}{path_info}",
    }


# --------------------------------------------------------------------------- client and scheme


def test_client_address_is_the_one_alb_saw_not_a_spoofed_one(multi: bool) -> None:
    # The client claims 6.6.6.6; ALB appends the peer it saw (make_event's client_ip), and the
    # adapter takes the rightmost entry (trusted_hops=1).
    reply = call(
        "GET",
        "/api/request",
        multi=multi,
        headers={"x-forwarded-for": "6.6.6.6"},
        client_ip="203.0.113.9",
    )
    assert reply.status == 200
    info = json.loads(reply.body)
    assert info["remote_addr"] == "203.0.113.9"
    assert info["x_forwarded_for"] == "6.6.6.6, 203.0.113.9"


@pytest.mark.parametrize(
    ("scheme", "secure", "uri"),
    [
        ("https", True, "https://example.com/api/request"),
        ("http", False, "http://example.com/api/request"),
    ],
)
def test_scheme_follows_x_forwarded_proto(multi: bool, scheme: str, secure: bool, uri: str) -> None:
    # No SECURE_PROXY_SSL_HEADER in settings: the adapter sets wsgi.url_scheme itself.
    reply = call("GET", "/api/request", multi=multi, scheme=scheme)
    info = json.loads(reply.body)
    assert (info["is_secure"], info["scheme"], info["absolute_uri"]) == (secure, scheme, uri)


@pytest.mark.parametrize(
    ("host", "status"),
    [
        ("example.com", 200),
        ("my-alb-1234567890.us-east-1.elb.amazonaws.com", 200),
        ("evil.example", 400),
        ("example.com.evil.example", 400),
    ],
)
def test_host_must_be_allowed(multi: bool, host: str, status: int) -> None:
    reply = call("GET", "/api/notes", multi=multi, host=host)
    assert reply.status == status


def test_unknown_host_is_a_400(multi: bool, caplog: pytest.LogCaptureFixture) -> None:
    reply = call("GET", "/", multi=multi, host="evil.example")
    assert reply == (400, "400 Bad Request", [HTML, *SECURITY], BAD_REQUEST)
    assert "Invalid HTTP_HOST header: 'evil.example'" in caplog.text


# --------------------------------------------------------------------------- health checks


OK = "OK\n"


def test_health_check_is_answered_without_django(multi: bool) -> None:
    calls: list[str] = []
    handler = WSGIHandler(spy(calls), health_check_path="/health")
    response = handler(make_health_check_event("/health", multi_value_headers=multi), None)
    headers_field = "multiValueHeaders" if multi else "headers"
    content_type: str | list[str] = "text/plain; charset=utf-8"
    assert response == {
        "statusCode": 200,
        "statusDescription": "200 OK",
        "isBase64Encoded": False,
        "body": OK,
        headers_field: {"content-type": [content_type] if multi else content_type},
    }
    assert calls == []
    # The deployed handler answers the same.
    event = make_health_check_event("/health", multi_value_headers=multi)
    assert lambda_handler.handler(event, LambdaContext()) == response


def test_health_checks_with_production_allowed_hosts(
    multi: bool, caplog: pytest.LogCaptureFixture
) -> None:
    """ALB health checks carry no Host: the adapter gives Django SERVER_NAME=localhost (its
    default_host) and no HTTP_HOST, so Django checks 'localhost' against ALLOWED_HOSTS. With the
    names a deployment lists, that is a DisallowedHost and a 400, and the target would be marked
    unhealthy -- unless the check goes to health_check_path, which the adapter answers itself."""
    with override_settings(ALLOWED_HOSTS=PRODUCTION_HOSTS):
        # Clients reach the site as usual...
        assert call("GET", "/", multi=multi).status == 200
        # ...the health check path is answered by the adapter...
        health = normalise(
            lambda_handler.handler(make_health_check_event("/health", multi_value_headers=multi)),
            multi,
        )
        assert health == (200, "200 OK", [("content-type", "text/plain; charset=utf-8")], b"OK\n")
        # ...but a health check of any other path reaches Django, which refuses it.
        calls: list[str] = []
        handler = WSGIHandler(spy(calls), health_check_path="/health")
        refused = normalise(
            handler(make_health_check_event("/", multi_value_headers=multi), LambdaContext()),
            multi,
        )
    assert refused == (400, "400 Bad Request", [HTML, *SECURITY], BAD_REQUEST)
    assert calls == ["/"]
    disallowed = [r for r in caplog.records if r.name == "django.security.DisallowedHost"]
    assert [r.levelno for r in disallowed] == [logging.ERROR]
    assert "Invalid HTTP_HOST header: 'localhost'" in disallowed[0].getMessage()


def test_health_check_elsewhere_with_default_allowed_hosts_runs_the_view(multi: bool) -> None:
    # The default ALLOWED_HOSTS include localhost (for runserver), which is also the adapter's
    # default_host: a health check of "/" then passes Django's check and renders the home page.
    # It works, but runs a view on every check; health_check_path does not.
    calls: list[str] = []
    handler = WSGIHandler(spy(calls), health_check_path="/health")
    reply = normalise(handler(make_health_check_event("/", multi_value_headers=multi)), multi)
    assert reply.status == 200
    assert calls == ["/"]


# --------------------------------------------------------------------------- forms, CSRF, session


@pytest.mark.parametrize("base_path", ["", "/account"])
def test_notes_form_csrf_and_session_flow(multi: bool, base_path: str) -> None:
    page = f"{base_path}/notes/"
    referer = {"referer": f"https://example.com{page}"}

    # 1. GET: an empty list, a form posting back under the mount point, a csrftoken cookie.
    form = call("GET", page, multi=multi, base_path=base_path)
    assert form.masked()[:3] == (
        200,
        "200 OK",
        [HTML, DENY, VARY, *SECURITY, ("set-cookie", CSRF_COOKIE)],
    )
    assert listed(form.text, "notes") == ["No notes yet."]
    assert f'<form method="post" action="{page}">' in form.text
    jar = form.cookies()
    token = csrf_token(form.text)

    # 2. POST with cookie, token and a same-origin Referer: stored, 303 back to the form.
    saved = call(
        "POST",
        page,
        multi=multi,
        base_path=base_path,
        form={"text": "Ship <it> & test", "csrfmiddlewaretoken": token},
        headers={"cookie": cookie_header(jar), **referer},
    )
    assert saved.masked() == (
        303,
        "303 See Other",
        [
            HTML,
            ("location", page),
            DENY,
            VARY,
            *SECURITY,
            ("set-cookie", SESSION_COOKIE),
        ],
        b"",
    )
    jar.update(saved.cookies())

    # 3. The next invocation reads the note back from the signed cookie (no server state).
    shown = call(
        "GET", page, multi=multi, base_path=base_path, headers={"cookie": cookie_header(jar)}
    )
    assert shown.status == 200
    assert listed(shown.text, "notes") == ["Ship &lt;it&gt; &amp; test"]
    assert listed(shown.text, "messages") == ["Note saved."]
    jar.update(shown.cookies())

    # 4. Same state as JSON; a second note is appended to the first.
    token = csrf_token(shown.text)
    again = call(
        "POST",
        page,
        multi=multi,
        base_path=base_path,
        form={"text": "second", "csrfmiddlewaretoken": token},
        headers={"cookie": cookie_header(jar), **referer},
    )
    assert again.status == 303
    jar.update(again.cookies())
    api = call(
        "GET",
        f"{base_path}/api/notes",
        multi=multi,
        base_path=base_path,
        headers={"cookie": cookie_header(jar)},
    )
    assert api == (
        200,
        "200 OK",
        [JSON, DENY, VARY, *SECURITY],
        b'{"notes": ["Ship <it> & test", "second"]}',
    )


def test_two_cookies_in_one_response_survive_each_header_mode(multi: bool) -> None:
    # The page after the redirect re-sends csrftoken and rewrites the session (the flash message
    # is consumed): two Set-Cookie in one response, which single-value mode can only carry
    # under case variants of the header name.
    jar, token = new_form(multi)
    saved = call(
        "POST",
        "/notes/",
        multi=multi,
        form={"text": "hi", "csrfmiddlewaretoken": token},
        headers={"cookie": cookie_header(jar), "referer": "https://example.com/notes/"},
    )
    jar.update(saved.cookies())
    response, reply = invoke("GET", "/notes/", multi=multi, headers={"cookie": cookie_header(jar)})

    if multi:
        raw = response["multiValueHeaders"]
        assert isinstance(raw, dict)
        cookies = raw["set-cookie"]
    else:
        raw = response["headers"]
        assert isinstance(raw, dict)
        variants = [name for name in raw if name.lower() == "set-cookie"]
        assert variants == ["set-cookie", "Set-cookie"]
        cookies = [raw[name] for name in variants]
    assert [_mask_cookie(value) for value in cookies] == [CSRF_COOKIE, SESSION_COOKIE]
    assert reply.cookies()["csrftoken"] == jar["csrftoken"]
    assert listed(reply.text, "notes") == ["hi"]


@pytest.mark.parametrize(
    ("case", "reason"),
    [
        ("no token", "CSRF token missing."),
        ("wrong token", "CSRF token from POST incorrect."),
        ("no cookie", "CSRF cookie not set."),
        ("no referer", "Referer checking failed - no Referer."),
        (
            "foreign referer",
            "Referer checking failed - https://evil.example/notes/ does not match any trusted "
            "origins.",
        ),
        (
            "foreign origin",
            "Origin checking failed - https://evil.example does not match any trusted origins.",
        ),
    ],
)
def test_post_without_valid_csrf_is_refused(
    multi: bool, caplog: pytest.LogCaptureFixture, case: str, reason: str
) -> None:
    jar, token = new_form(multi)
    form = {"text": "hi", "csrfmiddlewaretoken": token}
    headers = {"cookie": cookie_header(jar), "referer": "https://example.com/notes/"}
    if case == "no token":
        del form["csrfmiddlewaretoken"]
    elif case == "wrong token":
        form["csrfmiddlewaretoken"] = "x" * len(token)
    elif case == "no cookie":
        del headers["cookie"]
    elif case == "no referer":
        del headers["referer"]
    elif case == "foreign referer":
        headers["referer"] = "https://evil.example/notes/"
    else:
        headers["origin"] = "https://evil.example"

    caplog.clear()
    reply = call("POST", "/notes/", multi=multi, form=form, headers=headers)
    assert reply.masked()[:3] == (403, "403 Forbidden", [HTML, DENY, *SECURITY])
    assert "<p>CSRF verification failed. Request aborted.</p>" in reply.text
    assert reply.cookies() == {}  # nothing stored
    assert [r.getMessage() for r in caplog.records if r.name == "django.security.csrf"] == [
        f"Forbidden ({reason}): /notes/"
    ]


@pytest.mark.parametrize(
    ("scheme", "headers"),
    [
        ("https", {"origin": "https://example.com"}),  # Origin alone is enough
        ("http", {}),  # over plain http Django checks neither Referer nor Origin
    ],
)
def test_post_accepted_without_referer(multi: bool, scheme: str, headers: dict[str, str]) -> None:
    # Which checks apply depends on request.is_secure(), i.e. on X-Forwarded-Proto.
    jar, token = new_form(multi)
    reply = call(
        "POST",
        "/notes/",
        multi=multi,
        scheme=scheme,
        form={"text": "hi", "csrfmiddlewaretoken": token},
        headers={"cookie": cookie_header(jar), **headers},
    )
    assert (reply.status, reply.values("location")) == (303, ["/notes/"])


def test_invalid_note_is_shown_again_and_not_stored(multi: bool) -> None:
    jar, token = new_form(multi)
    reply = call(
        "POST",
        "/notes/",
        multi=multi,
        form={"text": "   ", "csrfmiddlewaretoken": token},
        headers={"cookie": cookie_header(jar), "referer": "https://example.com/notes/"},
    )
    assert reply.masked()[:3] == (
        200,
        "200 OK",
        [HTML, DENY, VARY, *SECURITY, ("set-cookie", CSRF_COOKIE)],
    )
    assert "This field is required." in reply.text
    assert listed(reply.text, "notes") == ["No notes yet."]
    assert "sessionid" not in reply.cookies()


def test_session_keeps_only_the_last_notes() -> None:
    # A signed-cookie session must stay under the browser's ~4 KB cookie limit.
    jar, token = new_form(multi=False)
    for number in range(MAX_NOTES + 2):
        saved = call(
            "POST",
            "/notes/",
            multi=False,
            form={"text": f"{number:03d} " + "x" * 136, "csrfmiddlewaretoken": token},
            headers={"cookie": cookie_header(jar), "referer": "https://example.com/notes/"},
        )
        assert saved.status == 303
        jar.update(saved.cookies())
    assert len(jar["sessionid"]) < 4000
    notes = json.loads(
        call("GET", "/api/notes", multi=False, headers={"cookie": cookie_header(jar)}).body
    )["notes"]
    assert [note[:3] for note in notes] == [f"{n:03d}" for n in range(2, MAX_NOTES + 2)]


def test_tampered_session_cookie_is_ignored(multi: bool) -> None:
    jar, token = new_form(multi)
    saved = call(
        "POST",
        "/notes/",
        multi=multi,
        form={"text": "mine", "csrfmiddlewaretoken": token},
        headers={"cookie": cookie_header(jar), "referer": "https://example.com/notes/"},
    )
    session = saved.cookies()["sessionid"]
    forged = session[:-1] + ("A" if session[-1] != "A" else "B")
    reply = call("GET", "/api/notes", multi=multi, headers={"cookie": f"sessionid={forged}"})
    assert json.loads(reply.body) == {"notes": []}
