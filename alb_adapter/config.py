"""Config: the handler options, validated once at construction so a typo fails at deploy time.

Construction happens during Lambda's init phase; every check here is one a request would
otherwise trip over later, in production, as a 500 or a silent 502.
"""

from __future__ import annotations

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (cold start)

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Mapping
    from typing import Any, Literal, TypedDict

    from .auth.verifier import ALBIdentityVerifier
    from .model import Request

    MultiCookie = Literal["case-variants", "last", "error"]
    # A Lambda handler of its own for the events that are not HTTP requests (sources/other.py).
    NonHTTPHandler = Callable[[Any, Any], dict[str, object]]
    # Keys to add to each request's WSGI environ / ASGI scope, computed from the request.
    ExtraKeys = Callable[[Request], Mapping[str, object]]
    # The adapters whose keys extra_keys can add by name (alb_adapter/compat.py).
    PeerName = Literal["apig-wsgi", "serverless-wsgi"]

    class ConfigOptions(TypedDict, total=False):
        """The keyword options every handler accepts (see Config)."""

        base_path: str
        text_content_types: Iterable[str]
        multi_cookie: MultiCookie
        trusted_hops: int
        default_host: str
        health_check_path: str | None
        max_response_bytes: int | None
        raise_app_exceptions: bool
        non_http_handler: NonHTTPHandler | None
        extra_keys: ExtraKeys | PeerName | None
        identity: ALBIdentityVerifier | None
        identity_required: bool


DEFAULT_TEXT_CONTENT_TYPES: tuple[str, ...] = (
    "text/*",
    "application/json",
    "application/*+json",
    "application/javascript",
    "application/xml",
    "application/*+xml",
    "image/svg+xml",
    "application/x-www-form-urlencoded",
)

MULTI_COOKIE_MODES = ("case-variants", "last", "error")

_set = object.__setattr__


class TextTypes:
    """A compiled ``text_content_types`` list: exact types, ``type/*`` and ``type/*+suffix``."""

    __slots__ = ("exact", "patterns", "prefixes", "suffixes")

    exact: frozenset[str]
    prefixes: tuple[str, ...]
    suffixes: tuple[tuple[str, str], ...]
    patterns: tuple[str, ...]

    def __init__(self, patterns: Iterable[str]) -> None:
        exact: set[str] = set()
        prefixes: list[str] = []
        suffixes: list[tuple[str, str]] = []
        kept: list[str] = []
        for raw in patterns:
            if not isinstance(raw, str):
                raise TypeError(
                    f"text_content_types: each entry must be a str, got {type(raw).__name__}"
                )
            pattern = raw.strip().lower()
            main, slash, sub = pattern.partition("/")
            if slash and main and not sub and "*" not in main:
                # Mangum's text_mime_types and apig-wsgi's non_binary_content_type_prefixes hold
                # prefixes. Not read as 'text/*': such a list, taken over whole, would keep its
                # other entries, which those adapters also matched by prefix or substring
                # ('application/json' matching 'application/json-seq'), with another meaning
                # here. Refused, it is rewritten once, as patterns that mean what they say.
                raise ValueError(
                    f"text_content_types: {raw!r} is a prefix, as other adapters write them; "
                    f"write {main + '/*'!r}. The list replaces the defaults: to add types, "
                    "start from DEFAULT_TEXT_CONTENT_TYPES (from alb_adapter.config)"
                )
            if not slash or not main or not sub or ";" in pattern or " " in pattern:
                raise ValueError(
                    f"text_content_types: {raw!r} is not a media type pattern such as "
                    "'text/*', 'application/json' or 'application/*+json'"
                )
            if main == "*" and sub == "*":
                raise ValueError(
                    "text_content_types: '*/*' would send binary bodies as text; list the "
                    "text types instead"
                )
            type_prefix = "" if main == "*" else main + "/"
            if sub == "*":
                if not type_prefix:
                    raise ValueError(f"text_content_types: {raw!r} matches everything")
                prefixes.append(type_prefix)
            elif sub.startswith("*+") and len(sub) > 2:
                suffixes.append((type_prefix, sub[1:]))
            elif "*" in pattern:
                raise ValueError(
                    f"text_content_types: {raw!r}: '*' may stand only for a whole type, a whole "
                    "subtype, or before a '+suffix'"
                )
            else:
                exact.add(pattern)
            kept.append(pattern)
        _set(self, "exact", frozenset(exact))
        _set(self, "prefixes", tuple(prefixes))
        _set(self, "suffixes", tuple(suffixes))
        _set(self, "patterns", tuple(kept))

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("TextTypes is immutable")

    def matches(self, media_type: str) -> bool:
        """True if the lowercase, parameter-free ``media_type`` is listed as text."""
        if media_type in self.exact:
            return True
        for prefix in self.prefixes:
            if media_type.startswith(prefix):
                return True
        for prefix, suffix in self.suffixes:
            if media_type.endswith(suffix) and media_type.startswith(prefix):
                return True
        return False

    def __repr__(self) -> str:
        return f"TextTypes({list(self.patterns)!r})"


def _require_bool(name: str, value: object) -> bool:
    if not isinstance(value, bool):
        raise TypeError(f"{name} must be True or False, got {value!r}")
    return value


def _require_int(name: str, value: object, minimum: int) -> int:
    if type(value) is not int:
        raise TypeError(f"{name} must be an int, got {type(value).__name__} {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be at least {minimum}, got {value}")
    return value


def _require_path(name: str, value: object) -> str:
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a str, got {type(value).__name__} {value!r}")
    if not value.startswith("/"):
        raise ValueError(f"{name} must start with '/', got {value!r}")
    if "?" in value or "#" in value or not value.isprintable() or " " in value:
        raise ValueError(f"{name} must be a plain path (no query, fragment or spaces): {value!r}")
    return value


class Config:
    """Every handler option, validated (see the README's options table).

    A wrong type or value raises TypeError/ValueError at once, with the option's name first.
    ``non_http_handler`` receives, as a Lambda handler would, every event that no source
    recognises as an HTTP request (a warmer, a schedule, an SQS batch sharing the function); what
    it returns is the function's result. Without it such an event raises UnsupportedEvent, which
    says what the event is.
    ``health_check_path`` is the target group's health-check path exactly as configured there
    (``HealthCheckPath``): it is compared with the path ALB sends, before ``base_path`` is taken
    off, so ``/health`` stays ``/health`` whatever the base path.
    ``extra_keys`` is a function ``(request) -> mapping`` whose items are added to the environ (or
    scope) of every request the app is called for, after the adapter's own keys: the way to give
    the app what the event carries beyond HTTP, under the names it reads. A name stands for a
    ready-made one: ``"apig-wsgi"`` and ``"serverless-wsgi"`` add those adapters' keys
    (alb_adapter/compat.py), for apps switching from them. Without it, nothing is called.
    ``identity`` is an ``alb_adapter.auth.ALBIdentityVerifier``: the handler verifies ALB's
    identity headers on every request the app would be called for and puts the ``Identity`` in
    ``environ["alb_adapter.identity"]`` / ``scope["alb_adapter.identity"]``; with
    ``identity_required`` (the default) a request without a verified identity is answered 401
    (503 when the key could not be fetched) without the app, and without it the app gets None
    (alb_adapter/auth/gate.py, docs/auth.md). Without ``identity``, nothing of it runs.
    """

    __slots__ = (
        "base_path",
        "default_host",
        "extra_keys",
        "health_check_path",
        "identity",
        "identity_required",
        "max_response_bytes",
        "multi_cookie",
        "non_http_handler",
        "raise_app_exceptions",
        "text_content_types",
        "trusted_hops",
        "_warned",
    )

    base_path: str
    text_content_types: TextTypes
    multi_cookie: MultiCookie
    trusted_hops: int
    default_host: str
    health_check_path: str | None
    max_response_bytes: int | None
    raise_app_exceptions: bool
    non_http_handler: NonHTTPHandler | None
    extra_keys: ExtraKeys | None
    identity: ALBIdentityVerifier | None
    identity_required: bool
    _warned: set[str]  # warnings given once per handler (not per process: tests build many)

    def __init__(
        self,
        *,
        base_path: str = "",
        text_content_types: Iterable[str] = DEFAULT_TEXT_CONTENT_TYPES,
        multi_cookie: MultiCookie = "case-variants",
        trusted_hops: int = 1,
        default_host: str = "localhost",
        health_check_path: str | None = None,
        max_response_bytes: int | None = None,
        raise_app_exceptions: bool = False,
        non_http_handler: NonHTTPHandler | None = None,
        extra_keys: ExtraKeys | PeerName | None = None,
        identity: ALBIdentityVerifier | None = None,
        identity_required: bool = True,
    ) -> None:
        if base_path != "":
            # "/account/" and "/account" mean the same mount point; "/" means no prefix.
            base_path = _require_path("base_path", base_path).rstrip("/")
        _set(self, "base_path", base_path)

        if isinstance(text_content_types, (str, bytes)):
            raise TypeError(
                "text_content_types must be a list of media type patterns, not a single string "
                f"({text_content_types!r})"
            )
        try:
            types = TextTypes(text_content_types)
        except TypeError as exc:
            if "text_content_types" in str(exc):
                raise
            raise TypeError(
                "text_content_types must be an iterable of str, got "
                f"{type(text_content_types).__name__}"
            ) from exc
        _set(self, "text_content_types", types)

        if multi_cookie not in MULTI_COOKIE_MODES:
            raise ValueError(
                f"multi_cookie must be one of {', '.join(map(repr, MULTI_COOKIE_MODES))}, "
                f"got {multi_cookie!r}"
            )
        _set(self, "multi_cookie", multi_cookie)

        _set(self, "trusted_hops", _require_int("trusted_hops", trusted_hops, 0))

        if not isinstance(default_host, str):
            raise TypeError(f"default_host must be a str, got {type(default_host).__name__}")
        if (
            not default_host
            or not default_host.isprintable()
            or any(c in default_host for c in " /?#@")
        ):
            raise ValueError(
                f"default_host must be a host name such as 'localhost': {default_host!r}"
            )
        _set(self, "default_host", default_host)

        if health_check_path is not None:
            health_check_path = _require_path("health_check_path", health_check_path)
        _set(self, "health_check_path", health_check_path)

        # None: the limit of the service the event came from (ALB's 1,000,000 bytes; 6 MB for
        # the services Lambda invokes synchronously), which each source knows.
        if max_response_bytes is not None:
            max_response_bytes = _require_int("max_response_bytes", max_response_bytes, 1024)
        _set(self, "max_response_bytes", max_response_bytes)
        _set(
            self,
            "raise_app_exceptions",
            _require_bool("raise_app_exceptions", raise_app_exceptions),
        )
        if non_http_handler is not None and not callable(non_http_handler):
            raise TypeError(
                "non_http_handler must be a function (event, context) -> result, got "
                f"{type(non_http_handler).__name__}"
            )
        _set(self, "non_http_handler", non_http_handler)
        if isinstance(extra_keys, str):
            from .compat import peer_keys  # here, not at the top: only a peer's name needs it

            extra_keys = peer_keys(extra_keys)
        elif extra_keys is not None and not callable(extra_keys):
            raise TypeError(
                "extra_keys must be a function (request) -> dict of keys, or the name of an "
                f"adapter whose keys to add ('apig-wsgi', 'serverless-wsgi'), got "
                f"{type(extra_keys).__name__}"
            )
        _set(self, "extra_keys", extra_keys)
        if identity is not None:
            # Here, not at the top: it needs the auth extra, which only this option needs.
            from .auth.verifier import ALBIdentityVerifier

            if not isinstance(identity, ALBIdentityVerifier):
                raise TypeError(
                    "identity must be an ALBIdentityVerifier (from alb_adapter.auth), built once "
                    f"at import: identity=ALBIdentityVerifier(LOAD_BALANCER_ARN); got "
                    f"{type(identity).__name__}"
                )
        _set(self, "identity", identity)
        identity_required = _require_bool("identity_required", identity_required)
        if identity is None and not identity_required:
            raise ValueError(
                "identity_required=False needs identity=ALBIdentityVerifier(...): without a "
                "verifier no identity is checked, required or not"
            )
        _set(self, "identity_required", identity_required)
        _set(self, "_warned", set())

    def warn_once(self, key: str) -> bool:
        """True the first time ``key`` is asked for by this handler's config: for a warning that
        would otherwise repeat on every invocation."""
        if key in self._warned:
            return False
        self._warned.add(key)
        return True

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("Config is immutable; build a new handler with other options")

    def __repr__(self) -> str:
        fields = ", ".join(
            f"{name}={getattr(self, name)!r}" for name in self.__slots__ if name != "_warned"
        )
        return f"Config({fields})"
