"""What the other Lambda adapters call things, for apps switching from them (docs/switching.md).

An app written for apig-wsgi or serverless-wsgi reads its adapter's own environ keys, and its
handler line names that adapter's options. Here are those keys, as functions the ``extra_keys``
option runs per request (``WSGIHandler(app, extra_keys="apig-wsgi")``), and what each peer option
became, for the message that refuses it.

The handlers import this module only when ``extra_keys`` names a peer or an option is unknown:
an app that needs neither never pays for it.
"""

from __future__ import annotations

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (cold start)

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Mapping

    from .model import Request

    ExtraKeys = Callable[[Request], Mapping[str, object]]


def apig_wsgi_keys(request: Request) -> dict[str, object]:
    """The environ keys apig-wsgi 2.x adds to every request.

    ``apig_wsgi.full_event`` and ``apig_wsgi.context`` are what Lambda passed;
    ``apig_wsgi.request_context`` is the event's ``requestContext``, when it has one (ALB's
    carries ``elb.targetGroupArn``); ``apig_wsgi.multi_value_headers`` is whether the event has a
    ``multiValueHeaders`` field, which is apig-wsgi's own test (its README spells the key
    ``apgi_wsgi.multi_value_headers``; the code sets this one).
    """
    event = request.event
    keys: dict[str, object] = {
        "apig_wsgi.full_event": event,
        "apig_wsgi.context": request.context,
        "apig_wsgi.multi_value_headers": "multiValueHeaders" in event,
    }
    if "requestContext" in event:
        keys["apig_wsgi.request_context"] = event["requestContext"]
    return keys


def serverless_wsgi_keys(request: Request) -> dict[str, object]:
    """The environ keys serverless-wsgi 3.x adds to every request.

    ``serverless.event`` and ``serverless.context`` are what Lambda passed;
    ``serverless.authorizer`` is ``requestContext.authorizer`` (None behind ALB, which has no
    authorizer); ``REMOTE_USER`` is the authorizer's ``principalId``, or ``""`` without one, as
    serverless-wsgi sets it on every request (its text in the latin-1 form PEP 3333 gives bytes).
    """
    event = request.event
    request_context = event.get("requestContext")
    authorizer = request_context.get("authorizer") if isinstance(request_context, dict) else None
    principal = authorizer.get("principalId") if isinstance(authorizer, dict) else None
    remote_user = principal if isinstance(principal, str) else ""
    return {
        "serverless.event": event,
        "serverless.context": request.context,
        "serverless.authorizer": authorizer,
        "REMOTE_USER": remote_user.encode("utf-8").decode("latin-1"),
    }


# The values ``extra_keys`` accepts by name. Mangum needs none: its scope keys (``aws.event``,
# ``aws.context``, the lifespan's ``state``) are in every scope already.
PEER_KEYS: dict[str, ExtraKeys] = {
    "apig-wsgi": apig_wsgi_keys,
    "serverless-wsgi": serverless_wsgi_keys,
}


def peer_keys(name: str) -> ExtraKeys:
    """The key function ``extra_keys=name`` stands for; ValueError naming the choices."""
    try:
        return PEER_KEYS[name]
    except KeyError:
        pass
    if name.lower() == "mangum":
        raise ValueError(
            "extra_keys='mangum' is not needed: every scope already has Mangum's keys "
            "(aws.event, aws.context, and state from the lifespan); remove it"
        ) from None
    raise ValueError(
        f"extra_keys: {name!r} names no adapter whose keys are known; the names are "
        f"{', '.join(map(repr, PEER_KEYS))}, or give a function (request) -> dict of keys"
    ) from None


# --------------------------------------------------------------------------- options

TEXT_TYPES_ADVICE = (
    "use text_content_types, the whole list of response types sent as text: it replaces the "
    "defaults, and its entries are media types ('text/*', 'application/json', "
    "'application/*+json'), not prefixes ('text/'); to add a type, give "
    "[*DEFAULT_TEXT_CONTENT_TYPES, 'application/x-yaml'] (from alb_adapter.config)"
)

# A peer's option name -> (whose option it is, what to do here instead).
PEER_OPTIONS: dict[str, tuple[str, str]] = {
    "api_gateway_base_path": (
        "Mangum's option",
        "use base_path='/prefix'; but Mangum never applied it to ALB events, so behind ALB, if "
        "your routes already start with the prefix, set nothing",
    ),
    "text_mime_types": (
        "Mangum's option (and, as textMimeTypes, serverless-wsgi's setting)",
        TEXT_TYPES_ADVICE,
    ),
    "exclude_headers": (
        "Mangum's option",
        "no equivalent option: remove those response headers in the app (docs/switching.md "
        "has an ASGI middleware that does)",
    ),
    "custom_handlers": (
        "Mangum's option",
        "no equivalent: ALB, API Gateway, Function URL and VPC Lattice events are recognised "
        "without it; give any other event to non_http_handler=<function (event, context) -> "
        "result>",
    ),
    "binary_support": (
        "apig-wsgi's option",
        "not needed: a response body goes as text or base64 by its content type, behind every "
        "front door (text_content_types); remove it",
    ),
    "non_binary_content_type_prefixes": ("apig-wsgi's option", TEXT_TYPES_ADVICE),
}

# ASGIHandler's own options, which WSGIHandler is sometimes given.
ASGI_ONLY_OPTIONS = ("lifespan", "snapstart")


def unknown_options_error(
    handler: str, unknown: Iterable[str], options: Iterable[str]
) -> TypeError:
    """The TypeError for options ``handler`` does not take: a peer's option names its
    equivalent here, anything else the options there are (and the nearest, for a typo)."""
    known = list(options)
    parts: list[str] = []
    for name in unknown:
        if name in PEER_OPTIONS:
            whose, advice = PEER_OPTIONS[name]
            parts.append(f"{name} is {whose}: {advice}")
        elif name in ASGI_ONLY_OPTIONS:
            parts.append(f"{name} is ASGIHandler's option: a WSGI app has no lifespan")
        else:
            import difflib  # here, not at the top: only a mistyped option needs it

            close = difflib.get_close_matches(name, known, n=1)
            guess = f" (did you mean {close[0]}?)" if close else ""
            parts.append(f"{name} is not an option{guess}; the options are {', '.join(known)}")
    return TypeError(f"{handler}: " + "; ".join(parts))


__all__ = [
    "PEER_KEYS",
    "PEER_OPTIONS",
    "apig_wsgi_keys",
    "peer_keys",
    "serverless_wsgi_keys",
    "unknown_options_error",
]
