"""The local ALB's authenticate actions over real HTTP (uvicorn on 127.0.0.1, in a thread): a
request without a session is sent to the local sign-in page, a signed-in one reaches the function
with the three headers, verified there by the handler's ``identity=`` option, and signing out ends
the session. Also: ``deny`` and ``allow``, headers forged by the client, the session's timeout,
the published key, and how a rules file's authenticate action is checked.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

pytest.importorskip("cryptography")  # the auth extra

from alb_adapter import WSGIHandler
from alb_adapter.auth import IDENTITY_KEY, ALBIdentityVerifier, logout_response
from alb_adapter.auth.testing import ALBTokenSigner
from alb_adapter.emulator.app import ALBEmulator
from alb_adapter.emulator.auth import (
    KEYS_ENV,
    LOCAL_ALB_ARN,
    SIGN_IN_PATH,
    SIGNER_ENV,
    local_alb_verifier,
)
from alb_adapter.emulator.rules import Authenticate, ConfigError, load_config, parse_config
from alb_adapter.emulator.server import build_server, running

TIMEOUT = 10.0
AUTHENTICATED_RULES = (
    Path(__file__).resolve().parents[2] / "examples" / "migration" / "rules-authenticated.toml"
)
ISSUER = "https://idp.example.com"
CLIENT_ID = "shop-client"
SIGNED_OUT_PAGE = "/_local_alb/sign-out?redirect=/account/orders"
OIDC: dict[str, object] = {
    "type": "authenticate-oidc",
    "issuer": ISSUER,
    "authorization_endpoint": "https://idp.example.com/authorize",
    "token_endpoint": "https://idp.example.com/token",
    "user_info_endpoint": "https://idp.example.com/userinfo",
    "client_id": CLIENT_ID,
}
COGNITO: dict[str, object] = {
    "type": "authenticate-cognito",
    "user_pool_arn": "arn:aws:cognito-idp:eu-west-1:123456789012:userpool/eu-west-1_AbC123",
    "user_pool_client_id": "abc123",
    "user_pool_domain": "shop-auth",
}
FORWARD: dict[str, object] = {"type": "forward", "target_group": "fn"}
FORGED = ALBTokenSigner().headers({"sub": "eve"})  # signed, but not by the local ALB

# The function: built once the local ALB has published its key (site fixture).
HANDLERS: list[WSGIHandler] = []


def handler(event: dict[str, Any], context: object) -> dict[str, Any]:
    return HANDLERS[0](event, context)


def whoami(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    """Answers who the handler verified, and the identity headers it received."""
    if environ["PATH_INFO"] == "/account/logout":
        status, headers = logout_response(SIGNED_OUT_PAGE, secure=False)
        start_response(f"{status} Found", headers)
        return [b""]
    identity = environ[IDENTITY_KEY]
    seen = {
        "identity": None
        if identity is None
        else {
            "subject": identity.subject,
            "email": identity.email,
            "claims": identity.claims,
            "signer": identity.signer,
            "issuer": identity.issuer,
            "client_id": identity.client_id,
        },
        "headers": {
            name: environ.get("HTTP_" + name.upper().replace("-", "_"))
            for name in ("x-amzn-oidc-identity", "x-amzn-oidc-accesstoken", "x-amzn-oidc-data")
        },
    }
    start_response("200 OK", [("Content-Type", "application/json")])
    return [json.dumps(seen).encode()]


def config(**session: object) -> dict[str, Any]:
    return {
        "targets": {"fn": {"handler": f"{__name__}:handler"}},
        "rules": [
            {
                "priority": 10,
                "conditions": [{"field": "path-pattern", "values": ["/account/*"]}],
                "actions": [{**OIDC, **session}, FORWARD],
            },
            {
                "priority": 20,
                "conditions": [{"field": "path-pattern", "values": ["/api/*"]}],
                "actions": [{**COGNITO, "on_unauthenticated_request": "deny"}, FORWARD],
            },
            {
                "priority": 30,
                "conditions": [{"field": "path-pattern", "values": ["/public/*"]}],
                "actions": [{**OIDC, "on_unauthenticated_request": "allow"}, FORWARD],
            },
        ],
        "default_action": FORWARD,  # no authenticate action
    }


@dataclass
class Site:
    url: str
    emulator: ALBEmulator


@pytest.fixture
def site() -> Iterator[Site]:
    server = build_server(parse_config(config(session_timeout=60)), log_level="warning")
    with running(server) as url:
        verifier = local_alb_verifier()
        assert verifier is not None  # published when the targets loaded
        HANDLERS[:] = [WSGIHandler(whoami, identity=verifier, identity_required=False)]
        emulator = server.config.app
        assert isinstance(emulator, ALBEmulator)
        yield Site(url, emulator)
    HANDLERS.clear()


@pytest.fixture
def browser(site: Site) -> Iterator[httpx.Client]:
    """A client that keeps cookies, as a browser does, and follows no redirect by itself."""
    with httpx.Client(base_url=site.url, timeout=TIMEOUT) as client:
        yield client


def sign_in(client: httpx.Client, path: str, **form: str) -> httpx.Response:
    """Ask for ``path``, get sent to the sign-in page, post ``form`` there: the answer."""
    sent = client.get(path)
    assert sent.status_code == 302
    page = client.get(sent.headers["location"])
    assert page.status_code == 200
    state = re.search(r'name="state" value="([^"]+)"', page.text)
    assert state is not None
    return client.post(SIGN_IN_PATH, data={"state": state[1], **form})


def test_a_request_without_a_session_is_sent_to_sign_in(browser: httpx.Client) -> None:
    response = browser.get("/account/orders?page=2")
    location = response.headers["location"]
    assert re.fullmatch(r"/_local_alb/sign-in\?state=[\w-]{22}", location)
    assert (response.status_code, response.content) == (302, b"")
    assert response.headers["cache-control"] == "no-store"
    assert "set-cookie" not in response.headers
    page = browser.get(location)
    assert page.status_code == 200
    assert page.headers["content-type"] == "text/html; charset=utf-8"
    assert "<h1>Sign in</h1>" in page.text
    assert "authenticate-oidc action, scope <code>openid</code>" in page.text
    assert '<input name="sub" value="developer" required>' in page.text


def test_a_signed_in_request_reaches_the_app_with_verified_claims(browser: httpx.Client) -> None:
    signed_in = sign_in(
        browser,
        "/account/orders?page=2",
        sub="ada",
        email="ada@example.com",
        name="",
        claims='{"groups": ["admin"]}',
    )
    assert signed_in.status_code == 302
    assert signed_in.headers["location"] == "/account/orders?page=2"  # where the user was going
    cookie = signed_in.headers["set-cookie"]
    assert re.fullmatch(
        r"AWSELBAuthSessionCookie-0=[\w-]{43}; Max-Age=60; Path=/; HttpOnly; SameSite=Lax", cookie
    )
    response = browser.get("/account/orders?page=2", headers={"x-amzn-oidc-identity": "eve"})
    assert response.status_code == 200
    seen = response.json()
    assert seen["identity"] == {
        "subject": "ada",
        "email": "ada@example.com",
        "claims": {"groups": ["admin"], "sub": "ada", "email": "ada@example.com"},
        "signer": LOCAL_ALB_ARN,
        "issuer": ISSUER,
        "client_id": CLIENT_ID,
    }
    headers = seen["headers"]
    assert headers["x-amzn-oidc-identity"] == "ada"  # the client's "eve" removed
    assert re.fullmatch(r"[\w-]{43}", headers["x-amzn-oidc-accesstoken"])
    # Padded segments, as ALB writes them.
    assert headers["x-amzn-oidc-data"].count(".") == 2


def test_a_forged_token_reaches_no_rule_verified(browser: httpx.Client) -> None:
    """Without an authenticate action the client's headers pass (as on ALB): the handler's
    verifier refuses them; on an ``allow`` rule the local ALB removes them."""
    forged = browser.get("/elsewhere", headers=FORGED).json()
    assert forged["identity"] is None
    assert forged["headers"]["x-amzn-oidc-identity"] == "eve"
    allowed = browser.get("/public/page", headers=FORGED)
    assert allowed.status_code == 200
    assert allowed.json() == {
        "identity": None,
        "headers": {
            "x-amzn-oidc-identity": None,
            "x-amzn-oidc-accesstoken": None,
            "x-amzn-oidc-data": None,
        },
    }


def test_deny_answers_401_without_calling_the_function(browser: httpx.Client) -> None:
    response = browser.get("/api/orders", headers=FORGED)
    assert response.status_code == 401
    assert response.text == (
        "<html>\r\n<head><title>401 Authorization Required</title></head>\r\n<body>\r\n"
        "<center><h1>401 Authorization Required</h1></center>\r\n</body>\r\n</html>\r\n"
    )


def test_a_session_counts_for_every_rule_with_its_cookie_name(browser: httpx.Client) -> None:
    assert sign_in(browser, "/account/orders", sub="ada").status_code == 302
    api = browser.get("/api/orders").json()  # the cognito rule, the same cookie name
    assert api["identity"]["subject"] == "ada"
    assert api["identity"]["issuer"] == (
        "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbC123"
    )
    assert api["identity"]["client_id"] == "abc123"


def test_signing_out_clears_the_session(browser: httpx.Client) -> None:
    assert sign_in(browser, "/account/orders", sub="ada").status_code == 302
    session = browser.cookies["AWSELBAuthSessionCookie-0"]
    logout = browser.get("/account/logout")
    assert logout.status_code == 302
    assert logout.headers["location"] == SIGNED_OUT_PAGE
    assert "AWSELBAuthSessionCookie-0" not in browser.cookies  # expired by logout_response
    # The provider's logout page: ends the session a browser still holds, then goes back.
    browser.cookies.set("AWSELBAuthSessionCookie-0", session)  # as a stale browser would
    signed_out = browser.get(SIGNED_OUT_PAGE)
    assert signed_out.status_code == 302
    assert signed_out.headers["location"] == "/account/orders"
    assert signed_out.headers["set-cookie"] == (
        "AWSELBAuthSessionCookie-0=; Max-Age=0; Path=/; HttpOnly"
    )
    # The old cookie, replayed, no longer signs anyone in.
    browser.cookies.set("AWSELBAuthSessionCookie-0", session)
    replayed = browser.get("/account/orders")
    assert replayed.status_code == 302
    assert replayed.headers["location"].startswith(f"{SIGN_IN_PATH}?state=")


@pytest.mark.parametrize(
    "elsewhere", ["//evil.example/", "/\\evil.example/", "https://evil.example/"]
)
def test_signing_out_never_sends_the_browser_to_another_host(
    browser: httpx.Client, elsewhere: str
) -> None:
    response = browser.get("/_local_alb/sign-out", params={"redirect": elsewhere})
    assert response.status_code == 200
    assert "location" not in response.headers
    assert response.text == (
        '<!doctype html><html><head><meta charset="utf-8"><title>Signed out · local ALB</title>'
        "</head><body><h1>Signed out</h1><p>You are signed out of the local ALB.</p></body></html>"
    )


def test_a_session_ends_after_its_timeout(site: Site, browser: httpx.Client) -> None:
    assert sign_in(browser, "/account/orders", sub="ada").status_code == 302
    assert browser.get("/account/orders").status_code == 200
    sign_in_state = site.emulator.sign_in
    assert sign_in_state is not None
    started = sign_in_state.clock()
    sign_in_state.clock = lambda: started + 61  # session_timeout = 60
    assert browser.get("/account/orders").status_code == 302


def test_a_signed_in_user_can_be_picked_again(browser: httpx.Client) -> None:
    assert sign_in(browser, "/account/orders", sub="ada", email="ada@example.com").is_redirect
    browser.cookies.clear()
    page = browser.get(browser.get("/account/orders").headers["location"])
    assert '<button type="submit" name="pick" value="ada">Sign in as ada</button>' in page.text


def test_the_sign_in_form_refuses_claims_that_are_not_a_json_object(
    browser: httpx.Client,
) -> None:
    refused = sign_in(browser, "/account/orders", sub="ada", claims="[1]")
    assert refused.status_code == 400
    assert "Other claims: a JSON object" in refused.text
    assert "AWSELBAuthSessionCookie-0" not in browser.cookies


def test_the_public_key_is_served_for_a_verifier_with_a_key_endpoint(
    site: Site, browser: httpx.Client
) -> None:
    assert sign_in(browser, "/account/orders", sub="ada").status_code == 302
    seen = browser.get("/account/orders").json()["headers"]
    verifier = ALBIdentityVerifier(LOCAL_ALB_ARN, key_endpoint=f"{site.url}/_local_alb/public-keys")
    assert verifier.verify(seen).subject == "ada"
    unknown = browser.get("/_local_alb/public-keys/no-such-kid")
    assert unknown.status_code == 404


def test_the_key_is_published_only_while_the_local_alb_runs() -> None:
    assert local_alb_verifier() is None
    server = build_server(parse_config(config()), log_level="warning")
    emulator = server.config.app
    assert isinstance(emulator, ALBEmulator)
    assert emulator.sign_in is not None
    with running(server):
        assert os.environ[SIGNER_ENV] == LOCAL_ALB_ARN
        assert json.loads(os.environ[KEYS_ENV]) == emulator.sign_in.signer.key_source
    assert SIGNER_ENV not in os.environ
    assert KEYS_ENV not in os.environ


def test_a_listener_without_authenticate_keeps_every_path_for_its_targets() -> None:
    plain = parse_config({"targets": config()["targets"], "default_action": FORWARD})
    HANDLERS[:] = [
        WSGIHandler(whoami, identity=ALBTokenSigner().verifier(), identity_required=False)
    ]
    try:
        with running(build_server(plain, log_level="warning")) as url:
            response = httpx.get(f"{url}{SIGN_IN_PATH}", timeout=TIMEOUT)
    finally:
        HANDLERS.clear()
    assert response.status_code == 200
    assert response.json()["identity"] is None


def test_execution_environments_trust_the_local_alb(monkeypatch: pytest.MonkeyPatch) -> None:
    """The Flask example behind its authenticated rules file, run as Lambda runs it (a worker
    process): the key reaches the function through the environment, read at its init."""
    for name in (
        "ALB_LOAD_BALANCER_ARN",
        "ALB_BASE_PATH",
        "SECRET_KEY",
        "AWS_LAMBDA_FUNCTION_NAME",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SESSION_COOKIE_SECURE", "0")
    config = load_config(AUTHENTICATED_RULES)
    server = build_server(config, log_level="warning", environments="process")
    with running(server) as url, httpx.Client(base_url=url, timeout=TIMEOUT) as client:
        signed_in = sign_in(client, "/account/me", sub="ada", email="ada@example.com", name="")
        assert signed_in.headers["location"] == "/account/me"
        me = client.get("/account/me")
    assert (me.status_code, me.json()) == (
        200,
        {
            "subject": "ada",
            "email": "ada@example.com",
            "claims": {"sub": "ada", "email": "ada@example.com"},
        },
    )


# --------------------------------------------------------------------------- the rules file


def rules_with(*actions: dict[str, object]) -> dict[str, Any]:
    return {
        "targets": {"fn": {"handler": "module:attr"}},
        "rules": [
            {
                "priority": 10,
                "conditions": [{"field": "path-pattern", "values": ["/account/*"]}],
                "actions": list(actions),
            }
        ],
        "default_action": FORWARD,
    }


R = "<config>: rules[0] (priority 10): actions[0]"


def test_an_authenticate_action_is_read_with_its_defaults() -> None:
    rule = parse_config(rules_with(OIDC, FORWARD)).rules[0]
    assert rule.authenticate == Authenticate(
        "oidc",
        "authenticate",
        "AWSELBAuthSessionCookie",
        604800,
        "openid",
        ISSUER,
        CLIENT_ID,
        tuple((key, str(value)) for key, value in OIDC.items() if key != "type"),
    )


@pytest.mark.parametrize(
    ("action", "message"),
    [
        pytest.param(
            {key: value for key, value in OIDC.items() if key != "issuer"},
            f"{R}: 'issuer' is required",
            id="no-issuer",
        ),
        pytest.param(
            {**OIDC, "token_endpoint": "http://idp.example.com/token"},
            f"{R}.token_endpoint: 'http://idp.example.com/token': must be an https:// URL",
            id="plain-http-endpoint",
        ),
        pytest.param(
            {**OIDC, "client_secret": "s3cret"},
            f"{R}.client_secret: leave the client secret out of a rules file "
            "(the local ALB's sign-in needs none)",
            id="client-secret",
        ),
        pytest.param(
            {**OIDC, "on_unauthenticated_request": "redirect"},
            f"{R}.on_unauthenticated_request: must be 'authenticate', 'deny' or 'allow', "
            "not 'redirect'",
            id="on-unauthenticated",
        ),
        pytest.param(
            {**OIDC, "session_timeout": 604801},
            f"{R}.session_timeout: must be from 1 to 604800, not 604801",
            id="session-timeout",
        ),
        pytest.param(
            {**OIDC, "session_cookie_name": "my cookie"},
            f"{R}.session_cookie_name: 'my cookie': a cookie name is made of A-Z a-z 0-9 - _ . "
            "only",
            id="cookie-name",
        ),
        pytest.param(
            {**COGNITO, "user_pool_arn": "eu-west-1_AbC123"},
            f"{R}.user_pool_arn: 'eu-west-1_AbC123' is not a user pool ARN "
            "(arn:aws:cognito-idp:REGION:ACCOUNT:userpool/REGION_ID)",
            id="user-pool-arn",
        ),
        pytest.param(
            {**OIDC, "stickiness": True},
            f"{R}: unknown key 'stickiness' (allowed: authentication_request_extra_params, "
            "authorization_endpoint, client_id, issuer, on_unauthenticated_request, scope, "
            "session_cookie_name, session_timeout, token_endpoint, type, user_info_endpoint)",
            id="typo",
        ),
    ],
)
def test_an_invalid_authenticate_action_is_refused(action: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError) as raised:
        parse_config(rules_with(action, FORWARD))
    assert str(raised.value) == message


def test_authenticate_goes_before_the_action_that_answers() -> None:
    with pytest.raises(ConfigError) as raised:
        parse_config(rules_with(FORWARD, OIDC))
    assert str(raised.value) == (
        "<config>: rules[0] (priority 10): actions: one action (forward, redirect or "
        "fixed-response), or an authenticate action and then one, is required, found 2"
    )
    with pytest.raises(ConfigError) as twice:
        parse_config(rules_with(OIDC, OIDC))
    assert str(twice.value) == (
        "<config>: rules[0] (priority 10): actions[1].type: 'authenticate-oidc' signs users in "
        "and must be followed by the action that answers (forward, redirect or fixed-response)"
    )
