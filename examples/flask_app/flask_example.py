"""A small Flask shop front run as an AWS Lambda function behind an Application Load Balancer.

Lambda handler setting: ``flask_example.handler``. The app knows nothing about Lambda or ALB:
``WSGIHandler`` turns each ALB event into a PEP 3333 environ (scheme, host and client address
already taken from the X-Forwarded-* headers, so no ProxyFix is needed) and the answer back into
the ALB response format.

What it shows:

* ``url_for`` links that stay right when the function is mounted under a prefix: ALB forwards
  ``/shop/...`` unchanged, ``base_path="/shop"`` moves ``/shop`` into ``SCRIPT_NAME``, and Flask
  builds every URL (links, redirects, cookie paths) from it;
* state kept in signed cookies only (Flask's session), so any Lambda instance can serve any
  request; a login sets two cookies at once;
* a form POST, a JSON API under ``/account/``, a binary PNG, a query string decoded as browsers
  encode it, and ALB health checks answered without running the app.

Configuration (environment variables):

``SECRET_KEY``
    Signs the session cookie. Every instance of the function must share it (a random key per
    instance would log users out whenever ALB picks another instance), so it is configuration,
    not generated. Required on Lambda; a fixed development key is used elsewhere.
``ALB_BASE_PATH``
    The prefix the ALB listener rule forwards (``/shop`` for a rule ``/shop`` + ``/shop/*``);
    empty when the app's own paths are forwarded as they are.
``SESSION_COOKIE_SECURE``
    ``1`` (default): cookies carry ``Secure`` and only travel over HTTPS, which an internet-facing
    ALB should terminate. Set ``0`` only for plain-HTTP local tries.
``ALB_LOAD_BALANCER_ARN``, ``ALB_LOGOUT_URL``
    When the listener signs users in (an ``authenticate-oidc`` / ``authenticate-cognito`` rule):
    the load balancer whose identity headers to trust, and the identity provider's logout page.
    The handler then verifies those headers (``identity=``) and the signed-in user is the one the
    load balancer vouches for. Behind the local ALB with such a rule
    (``examples/migration/rules-authenticated.toml``) neither is needed: the handler trusts the
    local ALB's key, and logs out through its sign-out page.
"""

from __future__ import annotations

import os
import re
import struct
import zlib
from typing import TYPE_CHECKING

from flask import (
    Blueprint,
    Flask,
    Response,
    jsonify,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask.sessions import SecureCookieSessionInterface
from werkzeug.exceptions import HTTPException

from alb_adapter import WSGIHandler
from alb_adapter.auth import IDENTITY_KEY, logout_response
from alb_adapter.emulator.auth import SIGN_OUT_PATH, local_alb_verifier

if TYPE_CHECKING:
    from collections.abc import Callable

    from flask.typing import ResponseReturnValue

    from alb_adapter.auth import ALBIdentityVerifier, Identity

__all__ = ["LOGO_PNG", "app", "create_app", "handler", "make_png"]

DEV_SECRET_KEY = "dev-only-secret-key-do-not-deploy"
THEMES = ("light", "dark")
THEME_MAX_AGE = 30 * 24 * 3600  # a preference: kept for 30 days, unlike the login session
MAX_NOTES = 10  # the session is a cookie: browsers drop cookies over ~4 KB
MAX_NOTE_LENGTH = 200
USER_NAME = re.compile(r"[A-Za-z0-9_.-]{1,32}")

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


# --------------------------------------------------------------------------- the logo


def make_png(width: int, height: int, pixel: Callable[[int, int], tuple[int, int, int]]) -> bytes:
    """An 8-bit RGB PNG, built with zlib and struct only (no Pillow in the Lambda package)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data)
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    # Each scanline starts with its filter type (0: none).
    rows = b"".join(
        b"\x00" + bytes(channel for x in range(width) for channel in pixel(x, y))
        for y in range(height)
    )
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)  # depth 8, RGB, no interlace
    return (
        PNG_SIGNATURE
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows, 9))
        + chunk(b"IEND", b"")
    )


def _logo_pixel(x: int, y: int) -> tuple[int, int, int]:
    """A dark frame around an orange-to-red diagonal gradient."""
    if x in (0, 31) or y in (0, 31):
        return (35, 47, 62)
    shade = (x + y) * 4
    return (255, max(0, 153 - shade // 2), max(0, 60 - shade // 4))


# Made once, during Lambda's init phase, then served from memory.
LOGO_PNG = make_png(32, 32, _logo_pixel)


# --------------------------------------------------------------------------- cookies


def cookie_path() -> str:
    """The mount point: cookies of a function under ``/shop`` must not reach other apps on the
    same ALB (a legacy server behind ``/*`` would otherwise receive the session)."""
    return request.script_root or "/"


class MountedSessionInterface(SecureCookieSessionInterface):
    """Flask's signed-cookie session, with the cookie path taken from the request's mount point
    (``SCRIPT_NAME``) instead of the static ``APPLICATION_ROOT``, so one build serves any
    ``base_path``."""

    def get_cookie_path(self, app: Flask) -> str:
        configured: str | None = app.config["SESSION_COOKIE_PATH"]
        return configured or cookie_path()


def alb_identity() -> Identity | None:
    """The user the load balancer signed in, verified by the handler (None without ALB sign-in)."""
    identity: Identity | None = request.environ.get(IDENTITY_KEY)
    return identity


def current_user() -> str | None:
    identity = alb_identity()
    if identity is not None:
        return identity.email or identity.subject
    user = session.get("user")
    return user if isinstance(user, str) else None


def current_notes() -> list[str]:
    notes = session.get("notes")
    return [note for note in notes if isinstance(note, str)] if isinstance(notes, list) else []


def current_theme() -> str:
    theme = request.cookies.get("theme", THEMES[0])
    return theme if theme in THEMES else THEMES[0]


# --------------------------------------------------------------------------- /account/ (JSON API)

account = Blueprint("account", __name__, url_prefix="/account")


@account.before_request
def require_login() -> ResponseReturnValue | None:
    """Every /account/ route needs the session cookie; API clients get JSON, not a login page."""
    if current_user() is None:
        return jsonify(error="login required", login=url_for("login")), 401
    return None


@account.get("/profile")
def profile() -> ResponseReturnValue:
    return jsonify(user=current_user(), theme=current_theme(), notes=len(current_notes()))


@account.get("/me")
def me() -> ResponseReturnValue:
    """Who the load balancer signed in: the claims its signed header carries, verified."""
    identity = alb_identity()
    if identity is None:
        return jsonify(error="not signed in by the load balancer"), 404
    return jsonify(subject=identity.subject, email=identity.email, claims=identity.claims)


@account.get("/notes")
def list_notes() -> ResponseReturnValue:
    return jsonify(notes=current_notes())


@account.post("/notes")
def add_note() -> ResponseReturnValue:
    """Form POST (``text=...``). A browser (Accept: text/html) is sent back to the page; an API
    client gets 201 with the notes. Only the last MAX_NOTES are kept: they live in the cookie."""
    text = request.form.get("text", "").strip()
    if not text or len(text) > MAX_NOTE_LENGTH:
        return jsonify(error=f"text must be 1 to {MAX_NOTE_LENGTH} characters"), 400
    notes = [*current_notes(), text][-MAX_NOTES:]
    session["notes"] = notes
    if request.accept_mimetypes.best_match(["application/json", "text/html"]) == "text/html":
        return redirect(url_for("index"), 303)  # See Other: the browser GETs the page
    response = jsonify(notes=notes)
    response.status_code = 201
    response.headers["Location"] = url_for("account.list_notes")
    return response


# --------------------------------------------------------------------------- the app


def create_app(*, secret_key: str | None = None, secure_cookies: bool | None = None) -> Flask:
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

    app = Flask(__name__)
    app.config.update(
        SECRET_KEY=secret,
        SESSION_COOKIE_SECURE=secure_cookies,
        SESSION_COOKIE_HTTPONLY=True,  # scripts cannot read the session
        SESSION_COOKIE_SAMESITE="Lax",  # other sites cannot POST with it (CSRF)
        MAX_CONTENT_LENGTH=1024 * 1024,  # ALB refuses larger bodies anyway (413)
    )
    app.session_interface = MountedSessionInterface()
    app.register_blueprint(account)

    @app.get("/")
    def index() -> ResponseReturnValue:
        return render_template(
            "index.html", user=current_user(), notes=current_notes(), theme=current_theme()
        )

    @app.get("/login")
    def login() -> ResponseReturnValue:
        return render_template("login.html", error=None, user=current_user(), theme=current_theme())

    @app.post("/login")
    def login_post() -> ResponseReturnValue:
        """Demo login: any well-formed user name with a non-empty password (plug a user store in
        here). Sets two cookies: the session and a ``theme`` preference."""
        user = request.form.get("user", "")
        theme = request.form.get("theme", THEMES[0])
        if not USER_NAME.fullmatch(user) or not request.form.get("password"):
            error = "Enter a user name (letters, digits, . _ -) and a password."
            page = render_template(
                "login.html", error=error, user=current_user(), theme=current_theme()
            )
            return page, 400
        session.clear()  # a new login starts a new session
        session["user"] = user
        response = redirect(url_for("index"))
        response.set_cookie(
            "theme",
            theme if theme in THEMES else THEMES[0],
            max_age=THEME_MAX_AGE,
            path=cookie_path(),
            secure=app.config["SESSION_COOKIE_SECURE"],
            samesite="Lax",
        )
        return response

    @app.get("/logout")
    def logout() -> ResponseReturnValue:
        session.clear()  # Flask answers with a Set-Cookie that deletes the session cookie
        response = redirect(url_for("index"))
        if alb_identity() is not None:  # also end the load balancer's session, then the IdP's
            status, headers = logout_response(
                os.environ.get("ALB_LOGOUT_URL", f"{SIGN_OUT_PATH}?redirect=/"),
                secure=app.config["SESSION_COOKIE_SECURE"],
            )
            response = Response(status=status)
            for name, value in headers:
                response.headers.add(name, value)
        response.delete_cookie(
            "theme", path=cookie_path(), secure=app.config["SESSION_COOKIE_SECURE"], samesite="Lax"
        )
        return response

    @app.get("/logo.png")
    def logo() -> ResponseReturnValue:
        """Binary body: the adapter sends it base64 (``isBase64Encoded``); ETag gives 304s."""
        response = Response(LOGO_PNG, mimetype="image/png")
        response.cache_control.public = True
        response.cache_control.max_age = 86400
        response.add_etag()
        return response.make_conditional(request)

    @app.get("/search")
    def search() -> ResponseReturnValue:
        """Echo the query: ALB passes it raw, so ``+`` and ``%20`` decode to a space and ``%2B``
        to ``+`` exactly as the browser meant."""
        return jsonify(
            q=request.args.get("q", ""),
            args=request.args.to_dict(flat=False),
            query_string=request.query_string.decode("latin-1"),
        )

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> ResponseReturnValue:
        """JSON errors under /account/ (an API), Flask's HTML pages elsewhere."""
        if request.path.startswith("/account/"):
            code = exc.code or 500
            return jsonify(error=exc.name, status=code), code
        return exc

    return app


app = create_app()


def identity_verifier() -> ALBIdentityVerifier | None:
    """Who to trust for ALB sign-in: the configured load balancer, else the local ALB this runs
    behind when it signs users in, else nobody (the app's own login only)."""
    arn = os.environ.get("ALB_LOAD_BALANCER_ARN")
    if arn:
        from alb_adapter.auth import ALBIdentityVerifier  # the auth extra: only when used

        return ALBIdentityVerifier(arn)
    return local_alb_verifier()


verifier = identity_verifier()
handler = WSGIHandler(
    app,
    base_path=os.environ.get("ALB_BASE_PATH", ""),
    health_check_path="/health",
    identity=verifier,
    # With a verifier, optional: the pages behind no authenticate rule (the login page, the logo)
    # are called without an identity. (Without one, the option's default, as it must be.)
    identity_required=verifier is None,
)
