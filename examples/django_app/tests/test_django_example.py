"""The Django example driven through its real Lambda handlers, with the events ALB sends.

Every behaviour runs through both handlers -- ``lambda_handler`` (WSGIHandler) and
``lambda_handler_asgi`` (ASGIHandler) -- and, where headers matter, in both ALB header modes
(single-value, the target group default, and multi-value): the ``site`` fixture (conftest.py)
is one of the four. Responses are compared whole -- status, statusDescription, headers, body --
with only the random parts of cookies masked. ASGI-only behaviour is in test_django_asgi.py.
"""

from __future__ import annotations

import json
import logging
import runpy

import pytest
from django.conf import settings
from django.core.management import call_command
from django.test import override_settings
from django_example import lambda_handler
from django_example import settings as example_settings
from django_example.settings import env_bool, env_list
from django_example.views import MAX_NOTES
from django_support import (
    BAD_REQUEST,
    CSRF_COOKIE,
    DENY,
    HTML,
    JSON,
    PRODUCTION_HOSTS,
    SECURITY,
    SESSION_COOKIE,
    VARY,
    Site,
    Spied,
    cookie_header,
    csrf_token,
    layout,
    listed,
    mask_cookie,
    normalise,
)

from alb_adapter import WSGIHandler
from alb_adapter.testing import LambdaContext, make_health_check_event

# Tests about one header mode or one handler kind say so by parametrizing that fixture directly.
SINGLE_VALUE_ONLY = pytest.mark.parametrize("multi", [False], ids=["single"])
MULTI_VALUE_ONLY = pytest.mark.parametrize("multi", [True], ids=["multi"])
WSGI_ONLY = pytest.mark.parametrize("kind", ["wsgi"])
ASGI_ONLY = pytest.mark.parametrize("kind", ["asgi"])


# --------------------------------------------------------------------------- the project


def test_settings_are_the_examples() -> None:
    # Guards the conftest: another settings module would make every other test meaningless.
    assert settings.SETTINGS_MODULE == "django_example.settings"
    assert settings.DEBUG is False
    # Django's test environment (set up by pytest-django) adds its client's "testserver".
    hosts = [host for host in settings.ALLOWED_HOSTS if host != "testserver"]
    assert hosts == ["example.com", ".elb.amazonaws.com", "localhost", "127.0.0.1"]
    assert settings.SESSION_ENGINE == "django.contrib.sessions.backends.signed_cookies"
    assert settings.DATABASES["default"]["ENGINE"] == "django.db.backends.dummy"  # none at all
    assert settings.SECURE_PROXY_SSL_HEADER is None  # not needed: see test_scheme_follows_...
    assert settings.SESSION_COOKIE_PATH == settings.CSRF_COOKIE_PATH == "/"  # no ALB_BASE_PATH


def test_django_system_checks_pass(capsys: pytest.CaptureFixture[str]) -> None:
    call_command("check")
    assert capsys.readouterr().out == "System check identified no issues (0 silenced).\n"


def test_module_handler_is_configured_for_alb() -> None:
    handler = lambda_handler.handler
    assert isinstance(handler, WSGIHandler)
    assert handler.app is lambda_handler.application
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
    [("", "/"), ("/account", "/account/")],
)
def test_home_page_links_stay_under_the_mount_point(site: Site, base_path: str, path: str) -> None:
    # {% url %} prefixes SCRIPT_NAME, which the adapter sets to base_path: nothing to configure.
    reply = site.call("GET", path, base_path=base_path)
    assert reply == (
        200,
        "200 OK",
        [HTML, DENY, VARY, *SECURITY],
        layout("alb-adapter Django example", HOME.format(p=base_path), base_path),
    )


@WSGI_ONLY
def test_bare_mount_point_is_the_home_page_under_wsgi(site: Site) -> None:
    # "/account" under the rule /account/*: PATH_INFO is empty, which Django's WSGIRequest reads
    # as "/".
    reply = site.call("GET", "/account?x=1", base_path="/account")
    assert reply == (
        200,
        "200 OK",
        [HTML, DENY, VARY, *SECURITY],
        layout("alb-adapter Django example", HOME.format(p="/account"), "/account"),
    )


@ASGI_ONLY
def test_bare_mount_point_redirects_under_asgi(site: Site) -> None:
    # Django's ASGIRequest takes path_info as path minus root_path, "" here, and keeps it empty;
    # CommonMiddleware (APPEND_SLASH) then redirects to the mount point with a slash. The scope
    # is right (path "/account", root_path "/account"): it is how Django reads it.
    reply = site.call("GET", "/account?x=1", base_path="/account")
    assert reply == (
        301,
        "301 Moved Permanently",
        [HTML, ("location", "/account/?x=1"), VARY, *SECURITY],
        b"",
    )


@pytest.mark.parametrize("base_path", ["", "/account"])
def test_unknown_path_is_the_examples_404_page(site: Site, base_path: str) -> None:
    reply = site.call("GET", f"{base_path}/no/such/page", base_path=base_path)
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


def test_path_beside_the_mount_point_is_not_stripped(site: Site) -> None:
    # /accounts is not under /account: Django sees the whole path (and has no such page).
    reply = site.call("GET", "/accounts/api/request", base_path="/account")
    assert reply.status == 404


@pytest.mark.parametrize(
    ("base_path", "path", "script_name", "path_info"),
    [
        ("", "/api/request?x=1&y=a+b", "", "/api/request"),
        ("/account", "/account/api/request?x=1&y=a+b", "/account", "/api/request"),
    ],
)
def test_request_info_under_a_mount_point(
    site: Site, base_path: str, path: str, script_name: str, path_info: str
) -> None:
    reply = site.call("GET", path, base_path=base_path)
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


def test_client_address_is_the_one_alb_saw_not_a_spoofed_one(site: Site) -> None:
    # The client claims 6.6.6.6; ALB appends the peer it saw (make_event's client_ip), and the
    # adapter takes the rightmost entry (trusted_hops=1).
    reply = site.call(
        "GET",
        "/api/request",
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
def test_scheme_follows_x_forwarded_proto(site: Site, scheme: str, secure: bool, uri: str) -> None:
    # No SECURE_PROXY_SSL_HEADER in settings: the adapter sets wsgi.url_scheme (scope["scheme"]).
    reply = site.call("GET", "/api/request", scheme=scheme)
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
def test_host_must_be_allowed(site: Site, host: str, status: int) -> None:
    reply = site.call("GET", "/api/notes", host=host)
    assert reply.status == status


def test_unknown_host_is_a_400(site: Site, caplog: pytest.LogCaptureFixture) -> None:
    reply = site.call("GET", "/", host="evil.example")
    assert reply == (400, "400 Bad Request", [HTML, *SECURITY], BAD_REQUEST)
    assert "Invalid HTTP_HOST header: 'evil.example'" in caplog.text


# --------------------------------------------------------------------------- health checks


OK = "OK\n"


def test_health_check_is_answered_without_django(site: Site, spied: Spied) -> None:
    event = make_health_check_event("/health", multi_value_headers=site.multi)
    response = spied.handler(event, None)
    headers_field = "multiValueHeaders" if site.multi else "headers"
    content_type: str | list[str] = "text/plain; charset=utf-8"
    assert response == {
        "statusCode": 200,
        "statusDescription": "200 OK",
        "isBase64Encoded": False,
        "body": OK,
        headers_field: {"content-type": [content_type] if site.multi else content_type},
    }
    assert spied.calls == []
    # The deployed handler answers the same.
    assert site.deployed(event, LambdaContext()) == response


def test_health_checks_with_production_allowed_hosts(
    site: Site, spied: Spied, caplog: pytest.LogCaptureFixture
) -> None:
    """ALB health checks carry no Host: the adapter gives Django the server name localhost (its
    default_host) and no Host header, so Django checks 'localhost' against ALLOWED_HOSTS. With
    the names a deployment lists, that is a DisallowedHost and a 400, and the target would be
    marked unhealthy -- unless the check goes to health_check_path, which the adapter answers."""
    with override_settings(ALLOWED_HOSTS=PRODUCTION_HOSTS):
        # Clients reach the site as usual...
        assert site.call("GET", "/").status == 200
        # ...the health check path is answered by the adapter...
        health = site.deployed(make_health_check_event("/health", multi_value_headers=site.multi))
        assert normalise(health, site.multi) == (
            200,
            "200 OK",
            [("content-type", "text/plain; charset=utf-8")],
            b"OK\n",
        )
        # ...but a health check of any other path reaches Django, which refuses it.
        event = make_health_check_event("/", multi_value_headers=site.multi)
        refused = normalise(spied.handler(event, LambdaContext()), site.multi)
    assert refused == (400, "400 Bad Request", [HTML, *SECURITY], BAD_REQUEST)
    assert spied.calls == ["/"]
    disallowed = [r for r in caplog.records if r.name == "django.security.DisallowedHost"]
    assert [r.levelno for r in disallowed] == [logging.ERROR]
    assert "Invalid HTTP_HOST header: 'localhost'" in disallowed[0].getMessage()


def test_health_check_elsewhere_with_default_allowed_hosts_runs_the_view(
    site: Site, spied: Spied
) -> None:
    # The default ALLOWED_HOSTS include localhost (for runserver), which is also the adapter's
    # default_host: a health check of "/" then passes Django's check and renders the home page.
    # It works, but runs a view on every check; health_check_path does not.
    event = make_health_check_event("/", multi_value_headers=site.multi)
    reply = normalise(spied.handler(event), site.multi)
    assert reply.status == 200
    assert spied.calls == ["/"]


# --------------------------------------------------------------------------- forms, CSRF, session


@pytest.mark.parametrize("base_path", ["", "/account"])
def test_notes_form_csrf_and_session_flow(site: Site, base_path: str) -> None:
    page = f"{base_path}/notes/"
    referer = {"referer": f"https://example.com{page}"}

    # 1. GET: an empty list, a form posting back under the mount point, a csrftoken cookie.
    form = site.call("GET", page, base_path=base_path)
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
    saved = site.call(
        "POST",
        page,
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
    shown = site.call("GET", page, base_path=base_path, headers={"cookie": cookie_header(jar)})
    assert shown.status == 200
    assert listed(shown.text, "notes") == ["Ship &lt;it&gt; &amp; test"]
    assert listed(shown.text, "messages") == ["Note saved."]
    jar.update(shown.cookies())

    # 4. Same state as JSON; a second note is appended to the first.
    token = csrf_token(shown.text)
    again = site.call(
        "POST",
        page,
        base_path=base_path,
        form={"text": "second", "csrfmiddlewaretoken": token},
        headers={"cookie": cookie_header(jar), **referer},
    )
    assert again.status == 303
    jar.update(again.cookies())
    api = site.call(
        "GET",
        f"{base_path}/api/notes",
        base_path=base_path,
        headers={"cookie": cookie_header(jar)},
    )
    assert api == (
        200,
        "200 OK",
        [JSON, DENY, VARY, *SECURITY],
        b'{"notes": ["Ship <it> & test", "second"]}',
    )


@pytest.mark.parametrize("alb_base_path", ["/account", "/account/"])
def test_cookies_stay_under_the_base_path(
    site: Site, monkeypatch: pytest.MonkeyPatch, alb_base_path: str
) -> None:
    """Deployed with ALB_BASE_PATH=/account, the csrftoken and sessionid cookies the browser gets
    through the adapter carry Path=/account: another app on the rest of the domain never sees
    them. Django reads its settings once per process, so the settings module is run again with
    that environment and its cookie paths applied with override_settings."""
    monkeypatch.setenv("ALB_BASE_PATH", alb_base_path)
    deployed = runpy.run_path(example_settings.__file__)
    paths = {name: deployed[name] for name in ("SESSION_COOKIE_PATH", "CSRF_COOKIE_PATH")}
    assert paths == {"SESSION_COOKIE_PATH": "/account", "CSRF_COOKIE_PATH": "/account"}
    csrf_cookie = "csrftoken=…; expires=…; Max-Age=31449600; Path=/account; SameSite=Lax; Secure"
    session_cookie = (
        "sessionid=…; expires=…; HttpOnly; Max-Age=1209600; Path=/account; SameSite=Lax; Secure"
    )

    with override_settings(**paths):
        form = site.call("GET", "/account/notes/", base_path="/account")
        assert form.masked()[:3] == (
            200,
            "200 OK",
            [HTML, DENY, VARY, *SECURITY, ("set-cookie", csrf_cookie)],
        )
        saved = site.call(
            "POST",
            "/account/notes/",
            base_path="/account",
            form={"text": "hi", "csrfmiddlewaretoken": csrf_token(form.text)},
            headers={
                "cookie": cookie_header(form.cookies()),
                "referer": "https://example.com/account/notes/",
            },
        )
    assert saved.masked()[:3] == (
        303,
        "303 See Other",
        [
            HTML,
            ("location", "/account/notes/"),
            DENY,
            VARY,
            *SECURITY,
            ("set-cookie", session_cookie),
        ],
    )


def test_two_cookies_in_one_response_survive_each_header_mode(site: Site) -> None:
    # The page after the redirect re-sends csrftoken and rewrites the session (the flash message
    # is consumed): two Set-Cookie in one response, which single-value mode can only carry
    # under case variants of the header name.
    jar, token = site.new_form()
    saved = site.call(
        "POST",
        "/notes/",
        form={"text": "hi", "csrfmiddlewaretoken": token},
        headers={"cookie": cookie_header(jar), "referer": "https://example.com/notes/"},
    )
    jar.update(saved.cookies())
    response, reply = site.invoke("GET", "/notes/", headers={"cookie": cookie_header(jar)})

    if site.multi:
        raw = response["multiValueHeaders"]
        assert isinstance(raw, dict)
        cookies = raw["set-cookie"]
    else:
        raw = response["headers"]
        assert isinstance(raw, dict)
        variants = [name for name in raw if name.lower() == "set-cookie"]
        assert variants == ["set-cookie", "Set-cookie"]
        cookies = [raw[name] for name in variants]
    assert [mask_cookie(value) for value in cookies] == [CSRF_COOKIE, SESSION_COOKIE]
    assert reply.cookies()["csrftoken"] == jar["csrftoken"]
    assert listed(reply.text, "notes") == ["hi"]


@MULTI_VALUE_ONLY
def test_cookie_headers_split_by_the_client_reach_django_as_one(site: Site) -> None:
    """HTTP/2 clients may send each cookie in a Cookie header of its own; ALB passes them on
    as repeated headers in multi-value mode. Django's ASGI handler joins repeated headers with
    "," -- one broken cookie -- so the adapter must merge Cookie headers with "; " first (WSGI
    joins them so too). Here the CSRF check and the session both need both cookies."""
    jar, token = site.new_form()
    saved = site.call(
        "POST",
        "/notes/",
        form={"text": "first", "csrfmiddlewaretoken": token},
        headers={"cookie": cookie_header(jar), "referer": "https://example.com/notes/"},
    )
    jar.update(saved.cookies())
    split = [("cookie", f"{name}={value}") for name, value in jar.items()]
    assert sorted(jar) == ["csrftoken", "sessionid"]

    again = site.call(
        "POST",
        "/notes/",
        form={"text": "second", "csrfmiddlewaretoken": token},
        headers=[*split, ("referer", "https://example.com/notes/")],
    )
    assert again.status == 303  # the CSRF cookie was read whole
    jar.update(again.cookies())
    split = [("cookie", f"{name}={value}") for name, value in jar.items()]
    notes = site.call("GET", "/api/notes", headers=split)
    assert json.loads(notes.body) == {"notes": ["first", "second"]}  # and so was the session


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
    site: Site, caplog: pytest.LogCaptureFixture, case: str, reason: str
) -> None:
    jar, token = site.new_form()
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
    reply = site.call("POST", "/notes/", form=form, headers=headers)
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
def test_post_accepted_without_referer(site: Site, scheme: str, headers: dict[str, str]) -> None:
    # Which checks apply depends on request.is_secure(), i.e. on X-Forwarded-Proto.
    jar, token = site.new_form()
    reply = site.call(
        "POST",
        "/notes/",
        scheme=scheme,
        form={"text": "hi", "csrfmiddlewaretoken": token},
        headers={"cookie": cookie_header(jar), **headers},
    )
    assert (reply.status, reply.values("location")) == (303, ["/notes/"])


def test_invalid_note_is_shown_again_and_not_stored(site: Site) -> None:
    jar, token = site.new_form()
    reply = site.call(
        "POST",
        "/notes/",
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


@SINGLE_VALUE_ONLY
def test_session_keeps_only_the_last_notes(site: Site) -> None:
    # A signed-cookie session must stay under the browser's ~4 KB cookie limit.
    jar, token = site.new_form()
    for number in range(MAX_NOTES + 2):
        saved = site.call(
            "POST",
            "/notes/",
            form={"text": f"{number:03d} " + "x" * 136, "csrfmiddlewaretoken": token},
            headers={"cookie": cookie_header(jar), "referer": "https://example.com/notes/"},
        )
        assert saved.status == 303
        jar.update(saved.cookies())
    assert len(jar["sessionid"]) < 4000
    notes = json.loads(site.call("GET", "/api/notes", headers={"cookie": cookie_header(jar)}).body)[
        "notes"
    ]
    assert [note[:3] for note in notes] == [f"{n:03d}" for n in range(2, MAX_NOTES + 2)]


def test_tampered_session_cookie_is_ignored(site: Site) -> None:
    jar, token = site.new_form()
    saved = site.call(
        "POST",
        "/notes/",
        form={"text": "mine", "csrfmiddlewaretoken": token},
        headers={"cookie": cookie_header(jar), "referer": "https://example.com/notes/"},
    )
    session = saved.cookies()["sessionid"]
    forged = session[:-1] + ("A" if session[-1] != "A" else "B")
    reply = site.call("GET", "/api/notes", headers={"cookie": f"sessionid={forged}"})
    assert json.loads(reply.body) == {"notes": []}
