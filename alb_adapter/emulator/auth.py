"""The local ALB's ``authenticate-oidc`` / ``authenticate-cognito`` actions, and the identity
provider it signs users in with.

ALB signs a user in with the provider the action names, keeps the result in its session cookie
(``AWSELBAuthSessionCookie-0``...) and adds three headers to every request it forwards for that
session: ``x-amzn-oidc-accesstoken``, ``x-amzn-oidc-identity`` (the ``sub``) and
``x-amzn-oidc-data`` (the claims, signed by the load balancer). Locally there is no provider to
talk to, so the local ALB is its own: ``/_local_alb/sign-in`` is a page where the developer picks
or types a user and their claims, whatever the action's kind. The rest is played as ALB plays it:

- ``on_unauthenticated_request``: ``authenticate`` sends a request without a session to the
  sign-in page (302), ``deny`` answers 401, ``allow`` forwards it without the headers;
- the session cookie has the action's ``session_cookie_name`` (``-0``: one shard) and lasts the
  action's ``session_timeout``; the session itself is kept here, in memory, by a random id (ALB
  puts it, encrypted, in the cookie), so a restart of the local ALB signs everyone out;
- ``x-amzn-oidc-*`` headers a client sends are removed on every authenticate rule, and the
  ``x-amzn-oidc-data`` of a session is signed afresh for each request, for two minutes
  (``alb_adapter.auth.testing.ALBTokenSigner``, ES256 with a key made at start);
- ``/_local_alb/sign-out`` is the provider's logout endpoint: it ends the sessions the browser
  still holds and returns to its ``redirect`` (a path on this host), the page an app's
  ``logout_response`` sends the browser to after expiring the cookies.

The key is published two ways, so that a handler's ``ALBIdentityVerifier`` trusts the local ALB
and nothing else: ``local_alb_verifier()`` (the key from the environment variables the local ALB
sets for its Lambda targets, ``KEYS_ENV`` and ``SIGNER_ENV``), and ``/_local_alb/public-keys/
<kid>``, for ``ALBIdentityVerifier(LOCAL_ALB_ARN, key_endpoint="http://127.0.0.1:<port>/
_local_alb/public-keys")``. docs/emulator.md ("Signing users in") shows both.

The paths under ``/_local_alb/`` are answered by the local ALB itself, before any rule, and only
when some rule authenticates: a listener without one forwards every path as before.
"""

from __future__ import annotations

import dataclasses
import html
import json
import logging
import os
import secrets
import time
from dataclasses import dataclass
from http.cookies import CookieError, SimpleCookie
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

from .invocation import ALB_SERVER, Outcome, alb_error

if TYPE_CHECKING:
    from collections.abc import Callable

    from alb_adapter.auth import ALBIdentityVerifier
    from alb_adapter.auth.testing import ALBTokenSigner

    from .rules import Authenticate, RuleRequest

log = logging.getLogger("alb_adapter.emulator")

#: The ARN the local ALB signs as (``signer`` in the token's header): account 000000000000 is no
#: one's, so a verifier in AWS that pins its real load balancer never trusts it.
LOCAL_ALB_ARN = (
    "arn:aws:elasticloadbalancing:us-east-1:000000000000:loadbalancer/app/local-alb/"
    "0000000000000000"
)
#: The environment variables the local ALB sets in its own process (so in its Lambda targets,
#: threads and execution environments alike) while it runs: its ARN, and ``{kid: PEM}`` as JSON.
SIGNER_ENV = "ALB_ADAPTER_LOCAL_ALB_SIGNER"
KEYS_ENV = "ALB_ADAPTER_LOCAL_ALB_KEYS"

PREFIX = "/_local_alb/"
SIGN_IN_PATH = PREFIX + "sign-in"
SIGN_OUT_PATH = PREFIX + "sign-out"
KEYS_PATH = PREFIX + "public-keys"
OIDC_HEADERS = ("x-amzn-oidc-accesstoken", "x-amzn-oidc-identity", "x-amzn-oidc-data")
# How long a sign-in page stays usable (the provider's round trip, on AWS).
SIGN_IN_SECONDS = 15 * 60
MAX_PENDING = 1000  # sign-ins started and never finished are forgotten beyond this
DEFAULT_USER = {"sub": "developer", "email": "developer@example.com", "name": "Developer"}


def local_alb_verifier(**options: Any) -> ALBIdentityVerifier | None:
    """A verifier that trusts the local ALB this process runs behind, or None when it runs behind
    none (on Lambda: build the real one then). ``options`` go to ``ALBIdentityVerifier``.

        verifier = local_alb_verifier() or ALBIdentityVerifier(LOAD_BALANCER_ARN)
    """
    signer, keys = os.environ.get(SIGNER_ENV), os.environ.get(KEYS_ENV)
    if not signer or not keys:
        return None
    from alb_adapter.auth import ALBIdentityVerifier

    key_source = json.loads(keys)
    return ALBIdentityVerifier(signer, key_source=key_source, **options)


@dataclass(frozen=True)
class Session:
    claims: dict[str, object]
    access_token: str
    cookie_name: str
    expires_at: float


@dataclass(frozen=True)
class PendingSignIn:
    """A request sent to sign in: where to return, and the action that sent it."""

    return_to: str
    action: Authenticate
    expires_at: float


class LocalSignIn:
    """The sessions, the sign-in pages and the signing key of one local ALB."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        from alb_adapter.auth.testing import ALBTokenSigner  # the auth extra: only when needed

        self.signer: ALBTokenSigner = ALBTokenSigner(signer=LOCAL_ALB_ARN)
        self.clock = clock
        self.sessions: dict[str, Session] = {}
        self.pending: dict[str, PendingSignIn] = {}
        self.users: dict[str, dict[str, object]] = {}  # by sub: who signed in, to pick again
        self._saved_env: dict[str, str | None] = {}

    # ------------------------------------------------------------------ the key, published

    def publish_key(self) -> None:
        """Set ``SIGNER_ENV`` and ``KEYS_ENV`` for this process and the ones it starts."""
        values = {SIGNER_ENV: LOCAL_ALB_ARN, KEYS_ENV: json.dumps(self.signer.key_source)}
        for name, value in values.items():
            self._saved_env.setdefault(name, os.environ.get(name))
            os.environ[name] = value

    def withdraw_key(self) -> None:
        """Put the environment back as ``publish_key`` found it."""
        for name, value in self._saved_env.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        self._saved_env.clear()

    # ------------------------------------------------------------------ an authenticate rule

    def authenticate(
        self, action: Authenticate, request: RuleRequest
    ) -> tuple[RuleRequest, Outcome | None]:
        """The request to forward (client ``x-amzn-oidc-*`` removed, the session's added), or the
        answer that takes its place: the sign-in redirect, or 401."""
        headers = tuple(
            (name, value) for name, value in request.headers if name not in OIDC_HEADERS
        )
        request = dataclasses.replace(request, headers=headers)
        session = self.session(action.session_cookie_name, request)
        if session is not None:
            added = self.signed_headers(action, session)
            return dataclasses.replace(request, headers=headers + added), None
        if action.on_unauthenticated_request == "allow":
            return request, None
        if action.on_unauthenticated_request == "deny":
            return request, alb_error(401, "no session, and on_unauthenticated_request = deny")
        self._forget_expired()
        state = secrets.token_urlsafe(16)
        return_to = request.path + (f"?{request.query_string}" if request.query_string else "")
        if not _is_local_path(return_to):  # "//host/...": never a way to send users elsewhere
            return_to = "/"
        self.pending[state] = PendingSignIn(return_to, action, self.clock() + SIGN_IN_SECONDS)
        return request, _redirect(f"{SIGN_IN_PATH}?state={state}")

    def session(self, cookie_name: str, request: RuleRequest) -> Session | None:
        session_id = _cookies(request).get(f"{cookie_name}-0")
        session = self.sessions.get(session_id or "")
        if session is None or session.cookie_name != cookie_name:
            return None
        if session.expires_at <= self.clock():
            del self.sessions[session_id or ""]
            return None
        return session

    def signed_headers(self, action: Authenticate, session: Session) -> tuple[tuple[str, str], ...]:
        token = self.signer.token(
            session.claims,
            header={"iss": action.issuer or self.signer.issuer, "client": action.client_id or ""},
            now=self.clock(),
        )
        return (
            ("x-amzn-oidc-accesstoken", session.access_token),
            ("x-amzn-oidc-identity", str(session.claims.get("sub", ""))),
            ("x-amzn-oidc-data", token),
        )

    # ------------------------------------------------------------------ its own pages

    def answer(self, request: RuleRequest, body: bytes) -> Outcome | None:
        """The answer to a request for one of the local ALB's own pages, or None for any other."""
        if not request.path.startswith(PREFIX):
            return None
        if request.path == SIGN_IN_PATH and request.method == "GET":
            return self.sign_in_page(dict(parse_qsl(request.query_string)).get("state", ""))
        if request.path == SIGN_IN_PATH and request.method == "POST":
            return self.sign_in(request, body)
        if request.path == SIGN_OUT_PATH and request.method == "GET":
            return self.sign_out(request)
        if request.path.startswith(KEYS_PATH + "/") and request.method == "GET":
            kid = request.path.removeprefix(KEYS_PATH + "/")
            if kid == self.signer.kid:
                pem = self.signer.public_key_pem.encode()
                return Outcome(200, [ALB_SERVER, ("content-type", "text/plain")], pem)
        return alb_error(404, f"the local ALB has no page {request.method} {request.path}")

    def sign_in_page(
        self, state: str, problem: str = "", typed: dict[str, str] | None = None
    ) -> Outcome:
        pending = self.pending.get(state)
        if pending is None or pending.expires_at <= self.clock():
            return _page(
                400,
                "Sign-in expired",
                "<p>This sign-in is unknown or expired (the local ALB may have restarted). "
                "Open the page you wanted again to start a new one.</p>",
            )
        typed = typed or {}

        def field(name: str) -> str:
            return html.escape(typed.get(name, DEFAULT_USER.get(name, "")), quote=True)

        hidden_state = f'<input type="hidden" name="state" value="{html.escape(state)}">'
        known = "".join(
            f'<li><form method="post">{hidden_state}'
            f'<input type="hidden" name="claims" value="{html.escape(json.dumps(claims))}">'
            f'<button type="submit" name="pick" value="{html.escape(str(sub))}">'
            f"Sign in as {html.escape(str(sub))}</button></form></li>"
            for sub, claims in self.users.items()
        )
        action = pending.action
        content = (
            f"<p>The local ALB's identity provider (the rule's authenticate-{action.kind} action, "
            f"scope <code>{html.escape(action.scope)}</code>). Nothing is checked: type anyone.</p>"
            + (f'<p role="alert">{html.escape(problem)}</p>' if problem else "")
            + (f"<ul>{known}</ul>" if known else "")
            + '<form method="post">'
            f"{hidden_state}"
            f'<p><label>Subject (sub) <input name="sub" value="{field("sub")}" '
            "required></label></p>"
            f'<p><label>Email <input name="email" value="{field("email")}"></label></p>'
            f'<p><label>Name <input name="name" value="{field("name")}"></label></p>'
            '<p><label>Other claims (a JSON object) <textarea name="claims">'
            f"{field('claims')}</textarea></label></p>"
            '<p><button type="submit" id="sign-in">Sign in</button></p></form>'
        )
        return _page(200 if not problem else 400, "Sign in", content)

    def sign_in(self, request: RuleRequest, body: bytes) -> Outcome:
        form = dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
        state = form.get("state", "")
        pending = self.pending.get(state)
        if pending is None or pending.expires_at <= self.clock():
            return self.sign_in_page(state)
        try:
            claims = _claims(form)
        except ValueError as problem:
            return self.sign_in_page(state, str(problem), form)
        del self.pending[state]
        action = pending.action
        session_id = secrets.token_urlsafe(32)
        self.sessions[session_id] = Session(
            claims,
            secrets.token_urlsafe(32),
            action.session_cookie_name,
            self.clock() + action.session_timeout,
        )
        self.users[str(claims["sub"])] = claims
        log.debug("local sign-in as %r", claims["sub"])
        secure = "; Secure" if request.scheme == "https" else ""
        cookie = (
            f"{action.session_cookie_name}-0={session_id}; Max-Age={action.session_timeout}; "
            f"Path=/; HttpOnly; SameSite=Lax{secure}"
        )
        outcome = _redirect(pending.return_to)
        outcome.headers.append(("set-cookie", cookie))
        return outcome

    def sign_out(self, request: RuleRequest) -> Outcome:
        """End every session the browser still sends a cookie of, expire those cookies, and go
        back to ``redirect`` (a path on this host), or show that the user is signed out."""
        ended = []
        for name, value in _cookies(request).items():
            session = self.sessions.get(value)
            if session is not None and name == f"{session.cookie_name}-0":
                del self.sessions[value]
                ended.append(name)
        target = dict(parse_qsl(request.query_string)).get("redirect", "")
        if _is_local_path(target):
            outcome = _redirect(target)
        else:
            outcome = _page(200, "Signed out", "<p>You are signed out of the local ALB.</p>")
        for name in ended:
            outcome.headers.append(("set-cookie", f"{name}=; Max-Age=0; Path=/; HttpOnly"))
        return outcome

    def _forget_expired(self) -> None:
        now = self.clock()
        for state in [s for s, p in self.pending.items() if p.expires_at <= now]:
            del self.pending[state]
        while len(self.pending) >= MAX_PENDING:
            del self.pending[next(iter(self.pending))]


def _claims(form: dict[str, str]) -> dict[str, object]:
    """The claims a sign-in form gives: a picked user's, or the typed ones."""
    claims: dict[str, object] = {}
    if form.get("claims", "").strip():
        try:
            extra = json.loads(form["claims"])
        except json.JSONDecodeError as error:
            raise ValueError(f"Other claims: not JSON ({error.msg})") from None
        if not isinstance(extra, dict):
            raise ValueError('Other claims: a JSON object, e.g. {"groups": ["admin"]}')
        claims.update(extra)
    for name in ("sub", "email", "name"):
        value = form.get(name, "").strip()
        if value:
            claims[name] = value
    if not isinstance(claims.get("sub"), str) or not claims["sub"]:
        raise ValueError("Subject (sub) is required")
    return claims


def _is_local_path(target: str) -> bool:
    """Whether a redirect to ``target`` stays on this host (browsers read ``//`` and ``/\\`` as
    the start of another host's URL)."""
    return target.startswith("/") and not target.startswith(("//", "/\\"))


def _cookies(request: RuleRequest) -> dict[str, str]:
    found: dict[str, str] = {}
    for name, value in request.headers:
        if name != "cookie":
            continue
        jar: SimpleCookie = SimpleCookie()
        try:
            jar.load(value)
        except CookieError:
            continue
        for key, morsel in jar.items():
            found.setdefault(key, morsel.value)
    return found


def _redirect(location: str) -> Outcome:
    headers = [ALB_SERVER, ("location", location), ("cache-control", "no-store")]
    return Outcome(302, headers, b"")


def _page(status: int, title: str, content: str) -> Outcome:
    page = (
        f'<!doctype html><html><head><meta charset="utf-8"><title>{title} · local ALB</title>'
        f"</head><body><h1>{title}</h1>{content}</body></html>"
    )
    headers = [
        ALB_SERVER,
        ("content-type", "text/html; charset=utf-8"),
        ("cache-control", "no-store"),
    ]
    return Outcome(status, headers, page.encode("utf-8"))
