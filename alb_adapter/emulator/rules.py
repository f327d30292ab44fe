"""Listener configuration for the local ALB: targets, rules (conditions + actions), default action.

The file format and the semantics are those of ``docs/emulator.md``; the AWS behaviour behind
them, with sources, is in ``docs/alb-behaviour.md`` ("Listener rules"). Everything is validated
when the file is read, as AWS validates ``create-rule``: an invalid file raises one
``ConfigError`` naming the file, the rule and the field. Glob patterns are compiled once, at parse
time, by a small matcher of our own (``fnmatch`` would also accept ``[...]`` classes, which are
not ALB syntax, and a regular expression with several ``.*`` can backtrack for a very long time on
a long path).

Decisions on points the AWS documentation leaves open (UNCONFIRMED there):

- ``path-pattern`` is anchored (the whole path must match) and compared with the raw path, as
  received, percent-encoding kept.
- ``host-header`` is compared with the Host header without its ``:port``.
- ``query-string`` keys and values are compared after percent-decoding with
  ``urllib.parse.unquote``, not ``unquote_plus``: AWS says the comparison is made on decoded
  values but never that ``+`` means a space, and ALB itself forwards ``+`` untouched. In a
  query-string pattern only ``\\*`` and ``\\?`` are escapes; any other backslash is literal.
- A redirect to the literal protocol ``HTTP`` is refused (HTTPS → HTTP) only when the listener
  protocol is known: pass ``listener_protocol="HTTPS"`` to ``parse_config``/``load_config``.
  ``#{protocol}`` never changes the protocol, and ``HTTP`` on an HTTP listener is allowed, as on
  AWS, where a rule always belongs to a listener of known protocol.
- A rule needs at least one condition (only the default action has none).
- A ``path-pattern`` must start with ``/``, ``*`` or ``?``: AWS documents no such check, but a
  pattern starting with another character can never match a path, which always starts with
  ``/``, so the mistake is reported instead of a rule that silently never applies.

Numbers follow one rule: a field is checked against the type and range the ELBv2 API gives it,
and may be written as a TOML integer or as a string of digits. ``priority = 10`` and
``priority = "10"`` (the API's Priority is an Integer; ``describe-rules`` prints it as a string)
are the same rule; ``status_code = "200"`` and ``status_code = 200`` (a String in the API) the same
answer; likewise weights, thresholds, seconds, a redirect's port and a health-check matcher.

Handler paths in a rules file are relative to the file's own directory (Lambda's task root for
the target: its modules are imported from there first), so the file works from any current
directory; ``Target.origin`` names the file, the target and the rules that forward to it, the
prefix of every load error (``loader.load_lambda_target``).
"""

from __future__ import annotations

import dataclasses
import ipaddress
import logging
import os
import random
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal
from urllib.parse import unquote, urlsplit

from .loader import handler_file

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping, Sequence

ConditionField = Literal[
    "path-pattern",
    "host-header",
    "http-header",
    "http-request-method",
    "query-string",
    "source-ip",
]

CONDITION_FIELDS: tuple[ConditionField, ...] = (
    "path-pattern",
    "host-header",
    "http-header",
    "http-request-method",
    "query-string",
    "source-ip",
)
# Headers whose values the inspector masks; an http-header condition's explanation does not
# quote them (emulator/inspector/record.py holds the same list).
_SECRET_HEADER_NAMES = frozenset({"cookie", "set-cookie", "authorization", "proxy-authorization"})
#: Condition fields a rule may hold at most once (any number of http-header and query-string).
SINGLE_CONDITION_FIELDS = frozenset(
    {"path-pattern", "host-header", "http-request-method", "source-ip"}
)
FIXED_RESPONSE_CONTENT_TYPES = (
    "text/plain",
    "text/css",
    "text/html",
    "application/javascript",
    "application/json",
)
MIN_PRIORITY, MAX_PRIORITY = 1, 50000
MAX_CONDITION_VALUES = 5  # per rule, all conditions together
MAX_PATTERN_LENGTH = 128
MAX_HEADER_NAME_LENGTH = 40
MAX_METHOD_LENGTH = 40
MAX_MESSAGE_BODY = 1024
MAX_TARGET_GROUPS = 5
MAX_WEIGHT = 999
DEFAULT_PORTS = {"http": 80, "https": 443}
#: How a Lambda target runs: execution environments as worker processes behind the Lambda Runtime
#: API (emulator/environments.py), or the handler called in a thread of the emulator itself.
EnvironmentsMode = Literal["process", "thread"]
ENVIRONMENTS_MODES: tuple[EnvironmentsMode, ...] = ("process", "thread")
#: Process environments of one target at most at once when its `concurrency` is not set. Lambda's
#: account default is 1,000; here each is a Python process, and 10 is above the 6 connections a
#: browser opens to one host.
DEFAULT_CONCURRENCY = 10
MAX_CONCURRENCY = 1000

Network = ipaddress.IPv4Network | ipaddress.IPv6Network

log = logging.getLogger("alb_adapter.emulator")


class ConfigError(ValueError):
    """An invalid listener configuration. The message names the file, the rule and the field:
    ``rules.toml: rules[1] (priority 20): conditions[0].values[0]: ...``."""


# --------------------------------------------------------------------------------------------
# Glob patterns: `*` is 0 or more characters (`/` included), `?` exactly one; whole string.


@dataclass(frozen=True)
class _Glob:
    """One compiled pattern. It is cut at each ``*`` into fixed-length segments (``?`` is one
    character); the first must match at the start, the last at the end, and the middle ones are
    found leftmost-first in between, which is exact for globs and never backtracks."""

    pattern: str
    head: re.Pattern[str]
    head_len: int
    middle: tuple[re.Pattern[str], ...]
    tail: re.Pattern[str] | None  # None: there is no `*`, `head` is the whole pattern
    tail_len: int

    @classmethod
    def compile(cls, pattern: str, *, ignore_case: bool, escapes: bool = False) -> _Glob:
        flags = re.DOTALL | (re.IGNORECASE if ignore_case else 0)
        segments: list[tuple[str, int]] = []
        regex: list[str] = []
        length = 0
        i = 0
        while i < len(pattern):
            char = pattern[i]
            if escapes and char == "\\" and i + 1 < len(pattern) and pattern[i + 1] in "*?":
                regex.append(re.escape(pattern[i + 1]))
                length += 1
                i += 2
                continue
            if char == "*":
                segments.append(("".join(regex), length))
                regex, length = [], 0
            elif char == "?":
                regex.append(".")
                length += 1
            else:
                regex.append(re.escape(char))
                length += 1
            i += 1
        segments.append(("".join(regex), length))
        compiled = [(re.compile(text, flags), size) for text, size in segments]
        head, head_len = compiled[0]
        if len(compiled) == 1:
            return cls(pattern, head, head_len, (), None, 0)
        tail, tail_len = compiled[-1]
        middle = tuple(segment for segment, _ in compiled[1:-1])
        return cls(pattern, head, head_len, middle, tail, tail_len)

    def matches(self, text: str) -> bool:
        if self.tail is None:
            return self.head.fullmatch(text) is not None
        end = len(text) - self.tail_len
        if end < self.head_len:
            return False
        if self.head.match(text) is None or self.tail.fullmatch(text, end) is None:
            return False
        position = self.head_len
        for segment in self.middle:
            found = segment.search(text, position, end)
            if found is None:
                return False
            position = found.end()
        return True


# --------------------------------------------------------------------------------------------
# The request as rules see it.


@dataclass(frozen=True)
class RuleRequest:
    """What listener rules look at, taken from the HTTP request as ALB received it."""

    method: str
    path: str  # raw path as received, percent-encoding kept, no query
    query: tuple[tuple[str, str], ...]  # raw (still percent-encoded) key/value pairs, in order
    headers: tuple[tuple[str, str], ...]  # (lowercase name, value), duplicates kept
    source_ip: str  # the TCP peer (never X-Forwarded-For)
    scheme: str  # "http" / "https" (the listener's protocol)
    port: int  # the listener port
    # The query string exactly as received, for a redirect's #{query}; when None, it is rebuilt
    # from `query` as `k=v&k=v` (a bare `k` then comes back as `k=`).
    raw_query: str | None = None

    @classmethod
    def from_http(
        cls,
        method: str,
        raw_path: str,
        query_string: str,
        headers: Iterable[tuple[str, str]],
        source_ip: str,
        scheme: str,
        port: int,
    ) -> RuleRequest:
        """Build from what the HTTP server handed over: header names are lowercased, the query is
        split on ``&`` (empty items dropped) and ``=`` (a bare ``k`` gives ``("k", "")``), as the
        event builder splits it."""
        query = tuple(
            (key, value)
            for key, _, value in (item.partition("=") for item in query_string.split("&") if item)
        )
        return cls(
            method=method,
            path=raw_path,
            query=query,
            headers=tuple((name.lower(), value) for name, value in headers),
            source_ip=source_ip,
            scheme=scheme.lower(),
            port=port,
            raw_query=query_string,
        )

    @property
    def host(self) -> str:
        """The Host header without its port, lowercased ('' when absent)."""
        for name, value in self.headers:
            if name == "host":
                return _strip_port(value.strip()).lower()
        return ""

    @property
    def query_string(self) -> str:
        """The raw query string (without ``?``)."""
        if self.raw_query is not None:
            return self.raw_query
        return "&".join(f"{key}={value}" for key, value in self.query)


def _strip_port(host: str) -> str:
    if host.startswith("["):  # [IPv6]:port
        end = host.find("]")
        return host[: end + 1] if end != -1 else host
    name, colon, port = host.rpartition(":")
    return name if colon and port.isdigit() else host


def _ip(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(text.strip("[]"))
    except ValueError:
        return None


# --------------------------------------------------------------------------------------------
# Conditions.


@dataclass(frozen=True)
class QueryPair:
    key: str | None
    value: str


@dataclass(frozen=True)
class Condition:
    """One condition: the request matches when any of its values does.

    ``values`` holds the patterns (``path-pattern``, ``host-header``, ``http-header``), the
    methods (``http-request-method``) or the CIDR blocks (``source-ip``); ``query-string`` uses
    ``query_pairs`` instead. Patterns are compiled when the condition is made.
    """

    field: ConditionField
    values: tuple[str, ...] = ()
    http_header_name: str | None = None  # http-header only
    query_pairs: tuple[QueryPair, ...] = ()  # query-string only
    _globs: tuple[_Glob, ...] = dataclasses.field(init=False, repr=False, compare=False)
    _pair_globs: tuple[tuple[_Glob | None, _Glob], ...] = dataclasses.field(
        init=False, repr=False, compare=False
    )
    _networks: tuple[Network, ...] = dataclasses.field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        globs: tuple[_Glob, ...] = ()
        pair_globs: tuple[tuple[_Glob | None, _Glob], ...] = ()
        networks: tuple[Network, ...] = ()
        if self.field == "path-pattern":
            globs = tuple(_Glob.compile(value, ignore_case=False) for value in self.values)
        elif self.field in ("host-header", "http-header"):
            if self.field == "http-header" and not self.http_header_name:
                raise ValueError("an http-header condition needs http_header_name")
            globs = tuple(_Glob.compile(value, ignore_case=True) for value in self.values)
        elif self.field == "query-string":
            pair_globs = tuple(
                (
                    None
                    if pair.key is None
                    else _Glob.compile(pair.key, ignore_case=True, escapes=True),
                    _Glob.compile(pair.value, ignore_case=True, escapes=True),
                )
                for pair in self.query_pairs
            )
        elif self.field == "source-ip":
            networks = tuple(ipaddress.ip_network(value) for value in self.values)
        object.__setattr__(self, "_globs", globs)
        object.__setattr__(self, "_pair_globs", pair_globs)
        object.__setattr__(self, "_networks", networks)

    def matches(self, request: RuleRequest) -> bool:
        if self.field == "path-pattern":
            return any(glob.matches(request.path) for glob in self._globs)
        if self.field == "host-header":
            host = request.host
            return any(glob.matches(host) for glob in self._globs)
        if self.field == "http-header":
            name = (self.http_header_name or "").lower()
            found = [value for key, value in request.headers if key == name]
            return any(glob.matches(value) for value in found for glob in self._globs)
        if self.field == "http-request-method":
            return request.method in self.values
        if self.field == "query-string":
            decoded = [(unquote(key), unquote(value)) for key, value in request.query]
            return any(
                (key_glob is None or key_glob.matches(key)) and value_glob.matches(value)
                for key_glob, value_glob in self._pair_globs
                for key, value in decoded
            )
        # source-ip
        address = _ip(request.source_ip)
        if address is None:
            return False
        candidates: list[ipaddress.IPv4Address | ipaddress.IPv6Address] = [address]
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            candidates.append(address.ipv4_mapped)  # a dual-stack socket's view of an IPv4 peer
        return any(ip in network for ip in candidates for network in self._networks)

    def describe(self) -> str:
        """The condition as the rules table shows it: ``path-pattern is /a or /b/*``."""
        if self.field == "query-string":
            pairs = " or ".join(
                f"{pair.key}={pair.value}" if pair.key is not None else pair.value
                for pair in self.query_pairs
            )
            return f"query-string has {pairs}"
        if self.field == "http-header":
            return f"http-header {self.http_header_name} is {' or '.join(self.values)}"
        if self.field == "source-ip":
            return f"source-ip in {' or '.join(self.values)}"
        return f"{self.field} is {' or '.join(self.values)}"

    def why_not(self, request: RuleRequest) -> str | None:
        """None when the condition matches ``request``, else why not, in words: what the
        request had and what the condition wanted (``matches`` decides; this only explains,
        for the inspector). A header the inspector masks is named, never quoted."""
        if self.matches(request):
            return None
        wanted = " or ".join(repr(value) for value in self.values)
        if self.field == "path-pattern":
            return f"path-pattern: the path {request.path!r} matches none of {wanted}"
        if self.field == "host-header":
            host = request.host
            if not host:
                return f"host-header: the request has no Host header (wanted {wanted})"
            return f"host-header: the host {host!r} matches none of {wanted}"
        if self.field == "http-header":
            name = (self.http_header_name or "").lower()
            found = [value for key, value in request.headers if key == name]
            if not found:
                return f"http-header: the request has no {self.http_header_name} header"
            if name in _SECRET_HEADER_NAMES or name.startswith("x-amzn-oidc-"):
                return f"http-header: the value of {self.http_header_name} matches none of {wanted}"
            shown = ", ".join(repr(value) for value in found)
            return f"http-header: {self.http_header_name} is {shown}, matching none of {wanted}"
        if self.field == "http-request-method":
            return f"http-request-method: {request.method} is not {' or '.join(self.values)}"
        if self.field == "query-string":
            pairs = " or ".join(
                repr(f"{pair.key}={pair.value}" if pair.key is not None else pair.value)
                for pair in self.query_pairs
            )
            if not request.query:
                return f"query-string: the request has no query string (wanted {pairs})"
            return f"query-string: no key/value of {request.query_string!r} matches {pairs}"
        return f"source-ip: {request.source_ip} is in none of {', '.join(self.values)}"


# --------------------------------------------------------------------------------------------
# Targets.


_MATCHER = re.compile(r"\d{3}(-\d{3})?(,\d{3}(-\d{3})?)*")


def _matcher_ranges(matcher: str) -> tuple[tuple[int, int], ...]:
    """``"200"``, ``"200,202"``, ``"200-299"`` (or a list of codes and ranges) → ranges.
    Raises ValueError with a message fit for a ConfigError."""
    if not _MATCHER.fullmatch(matcher):
        raise ValueError(
            f'{matcher!r} is not a status code, a list ("200,202") or a range ("200-299")'
        )
    ranges: list[tuple[int, int]] = []
    for item in matcher.split(","):
        low, _, high = item.partition("-")
        first, last = int(low), int(high or low)
        if not 200 <= first <= last <= 499:
            raise ValueError(f"{item!r}: codes must be from 200 to 499, the range in order")
        ranges.append((first, last))
    return tuple(ranges)


@dataclass(frozen=True)
class HealthCheck:
    enabled: bool = False
    path: str = "/"
    interval: float = 35.0
    timeout: float = 30.0
    healthy_threshold: int = 5
    unhealthy_threshold: int = 2
    matcher: str = "200"  # "200", "200,202", "200-299"
    _ranges: tuple[tuple[int, int], ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_ranges", _matcher_ranges(self.matcher))

    def accepts(self, status: int) -> bool:
        """Whether a health-check answer with this status counts as healthy."""
        return any(low <= status <= high for low, high in self._ranges)


@dataclass(frozen=True)
class Target:
    """A target group: a Lambda handler in this process, or an HTTP server (a legacy app)."""

    name: str
    # "module:attr", Lambda's "file.function" or "path/to/file.py:attr"; a rules file's relative
    # file paths are made absolute when it is read (from its directory, see task_root).
    handler: str | None = None
    url: str | None = None  # "http://127.0.0.1:9000"
    multi_value_headers: bool = False
    timeout: float = 30.0
    health_check: HealthCheck = field(default_factory=HealthCheck)
    # Where the target was written, not what it is (so neither takes part in comparisons):
    # the directory its handler's modules are imported from, as Lambda's task root (the rules
    # file's directory; None for `serve TARGET`: the current directory; loader.load_target), and
    # the file, target and rules that forward to it, the prefix of its load errors:
    # "rules.toml: targets.account (forwarded to by rules[0] (priority 10))".
    task_root: str | None = field(default=None, compare=False)
    origin: str = field(default="", compare=False)
    # How a Lambda target runs: "process" (execution environments as worker processes, as Lambda
    # runs them) or "thread" (called in the emulator's own process, one invocation at a time);
    # None leaves it to the emulator (`alb-adapter serve`: processes). `concurrency`: the most
    # process environments at once, as a function's reserved concurrency (None:
    # DEFAULT_CONCURRENCY); a request beyond it is throttled.
    environments: EnvironmentsMode | None = None
    concurrency: int | None = None
    # The function's environment variables, as a template's `Environment.Variables` gives them
    # (emulator/templates.py); a rules file has none. Configuration of the function, not routing,
    # so it takes no part in comparisons either.
    environment: tuple[tuple[str, str], ...] = field(default=(), compare=False)


# --------------------------------------------------------------------------------------------
# Actions.


@dataclass(frozen=True)
class Forward:
    target_groups: tuple[tuple[str, int], ...]  # (target name, weight)

    def choose(self, rng: random.Random | None = None) -> str:
        """The target for one request: the only one, or one drawn in proportion to the weights."""
        if len(self.target_groups) == 1:
            return self.target_groups[0][0]
        names = [name for name, _ in self.target_groups]
        weights = [weight for _, weight in self.target_groups]
        return (rng or random).choices(names, weights)[0]


_PLACEHOLDER = re.compile(r"#\{([^}]*)\}")


@dataclass(frozen=True)
class Redirect:
    """A redirect. Each part keeps its placeholders until ``location`` fills them in.

    Percent-encoding is kept as received: ``#{path}`` and ``#{query}`` are the raw path and query
    string; literal text is inserted as written (AWS: these parts are "not percent-encoded").
    """

    status_code: int  # 301 or 302
    protocol: str = "#{protocol}"
    host: str = "#{host}"
    port: str = "#{port}"
    path: str = "/#{path}"
    query: str = "#{query}"

    def location(self, request: RuleRequest) -> str:
        """The ``Location`` URL: ``protocol://host[:port]/path[?query]``, the port left out when it
        is the protocol's default, the ``?`` left out when the query is empty."""
        scheme = request.scheme.lower()
        values = {
            "protocol": scheme,
            "host": request.host,
            "port": str(request.port),
            "path": request.path.removeprefix("/"),
            "query": request.query_string,
        }

        def fill(template: str) -> str:
            return _PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), template)

        protocol = fill(self.protocol).lower()
        port = fill(self.port)
        authority = fill(self.host)
        if port != str(DEFAULT_PORTS.get(protocol)):
            authority = f"{authority}:{port}"
        query = fill(self.query)
        return f"{protocol}://{authority}{fill(self.path)}" + (f"?{query}" if query else "")


@dataclass(frozen=True)
class FixedResponse:
    status_code: int
    content_type: str | None = None
    message_body: str = ""


Action = Forward | Redirect | FixedResponse

UnauthenticatedRequest = Literal["authenticate", "deny", "allow"]
UNAUTHENTICATED_REQUESTS: tuple[UnauthenticatedRequest, ...] = ("authenticate", "deny", "allow")
DEFAULT_SESSION_COOKIE_NAME = "AWSELBAuthSessionCookie"
DEFAULT_SESSION_TIMEOUT = 604800  # seconds (7 days): the ELBv2 API's default and maximum
DEFAULT_SCOPE = "openid"
MAX_EXTRA_PARAMS = 10


@dataclass(frozen=True)
class Authenticate:
    """An ``authenticate-oidc`` or ``authenticate-cognito`` action, the first of a rule's two.

    The local ALB signs users in with its own identity provider (emulator/auth.py) whichever the
    kind, so the provider's settings (``provider``: issuer and endpoints, or the user pool) are
    kept only to be checked as ``create-rule`` checks them and to name the token's ``iss`` and
    ``client``; what the local ALB plays is the session: ``on_unauthenticated_request``, the
    cookie's name and lifetime, and the ``scope`` shown on the sign-in page.
    """

    kind: Literal["oidc", "cognito"]
    on_unauthenticated_request: UnauthenticatedRequest = "authenticate"
    session_cookie_name: str = DEFAULT_SESSION_COOKIE_NAME
    session_timeout: int = DEFAULT_SESSION_TIMEOUT
    scope: str = DEFAULT_SCOPE
    issuer: str | None = None  # oidc's issuer; for cognito, the user pool's (from its ARN)
    client_id: str | None = None  # oidc's client_id, cognito's user_pool_client_id
    provider: tuple[tuple[str, str], ...] = ()  # the other provider settings, as written
    extra_params: tuple[tuple[str, str], ...] = ()  # authentication_request_extra_params


def _is_authenticate(action: object) -> bool:
    return isinstance(action, dict) and action.get("type") in AUTHENTICATE_TYPES


AUTHENTICATE_TYPES = ("authenticate-oidc", "authenticate-cognito")
_SESSION_KEYS = (
    "type",
    "on_unauthenticated_request",
    "session_cookie_name",
    "session_timeout",
    "scope",
    "authentication_request_extra_params",
)
# What create-rule requires of each kind (the client secret aside: see _Parser.authenticate).
_PROVIDER_KEYS = {
    "authenticate-oidc": (
        "issuer",
        "authorization_endpoint",
        "token_endpoint",
        "user_info_endpoint",
        "client_id",
    ),
    "authenticate-cognito": ("user_pool_arn", "user_pool_client_id", "user_pool_domain"),
}
_USER_POOL_ARN = re.compile(
    r"arn:aws(?:-[a-z]+)*:cognito-idp:(?P<region>[a-z0-9-]+):[0-9]{12}:"
    r"userpool/(?P<pool>[a-z0-9-]+_[0-9A-Za-z]+)"
)
_CLIENT_ID = re.compile(r"[\w+]{1,128}")
_COOKIE_NAME = re.compile(r"[A-Za-z0-9_.-]+")
_DOMAIN = re.compile(r"[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*")


def _forwarded_to(action: Action) -> list[str]:
    """The target groups an action forwards to (none for a redirect or a fixed response)."""
    if isinstance(action, Forward):
        return [name for name, _ in action.target_groups]
    return []


# --------------------------------------------------------------------------------------------
# Rules and the listener.


@dataclass(frozen=True)
class RuleVerdict:
    """One rule as ``ListenerConfig.explain`` tried it: matched, or why not."""

    priority: int
    matched: bool
    reason: str


def describe_action(action: Action) -> str:
    """An action in words, for the rules table and the inspector's rows."""
    if isinstance(action, Forward):
        if len(action.target_groups) == 1:
            return f"forward to {action.target_groups[0][0]}"
        groups = ", ".join(f"{name} (weight {weight})" for name, weight in action.target_groups)
        return f"forward to {groups}"
    if isinstance(action, Redirect):
        where = f"{action.protocol}://{action.host}:{action.port}{action.path}?{action.query}"
        return f"redirect {action.status_code} to {where}"
    return f"fixed-response {action.status_code}"


@dataclass(frozen=True)
class Rule:
    priority: int
    conditions: tuple[Condition, ...]
    action: Action  # the last action: forward, redirect or fixed-response
    authenticate: Authenticate | None = None  # the action before it, when there is one

    def matches(self, request: RuleRequest) -> bool:
        """All conditions match (each one when any of its values does)."""
        return all(condition.matches(request) for condition in self.conditions)


@dataclass(frozen=True)
class ListenerConfig:
    targets: dict[str, Target]
    rules: tuple[Rule, ...]  # sorted by priority
    default_action: Action
    source: str = "<config>"

    def __post_init__(self) -> None:
        ordered = tuple(sorted(self.rules, key=lambda rule: rule.priority))
        if ordered != self.rules:
            object.__setattr__(self, "rules", ordered)

    def select(self, request: RuleRequest) -> tuple[Rule | None, Action]:
        """The first matching rule (by priority) and its action, else (None, default_action)."""
        for rule in self.rules:
            if rule.matches(request):
                return rule, rule.action
        return None, self.default_action

    def explain(self, request: RuleRequest) -> tuple[Rule | None, Action, list[RuleVerdict]]:
        """``select``, and how it got there: a verdict per rule tried, in priority order, up to
        the one that matched (later rules are not evaluated, as on ALB), each one that did not
        match with the first of its conditions that failed, in words. For the inspector: slower
        than ``select``, which stays as it is."""
        verdicts: list[RuleVerdict] = []
        for rule in self.rules:
            reasons = (condition.why_not(request) for condition in rule.conditions)
            why = next((reason for reason in reasons if reason is not None), None)
            verdicts.append(RuleVerdict(rule.priority, why is None, why or "all conditions match"))
            if why is None:
                return rule, rule.action, verdicts
        return None, self.default_action, verdicts

    @classmethod
    def single_target(
        cls,
        handler: str,
        *,
        multi_value_headers: bool = False,
        timeout: float = 30.0,
        environments: EnvironmentsMode | None = None,
        concurrency: int | None = None,
    ) -> ListenerConfig:
        """What ``alb-adapter serve TARGET`` uses: one Lambda target as the default action."""
        target = Target(
            "lambda",
            handler=handler,
            multi_value_headers=multi_value_headers,
            timeout=timeout,
            environments=environments,
            concurrency=concurrency,
        )
        return cls(
            targets={"lambda": target},
            rules=(),
            default_action=Forward((("lambda", 1),)),
            source=handler,
        )


# --------------------------------------------------------------------------------------------
# Reading and validating.


def load_config(path: str | Path, *, listener_protocol: str | None = None) -> ListenerConfig:
    """Read and validate a TOML listener configuration.

    Relative handler paths are read from the file's own directory, so the file works from any
    current directory (``parse_config``'s ``base_dir``). ``listener_protocol`` ("HTTP" or
    "HTTPS"), when given, lets redirects be checked against it (HTTPS → HTTP is refused).
    """
    import tomllib

    source = str(path)
    try:
        text = Path(path).read_bytes()
    except FileNotFoundError:
        raise ConfigError(f"{source}: no such file") from None
    except OSError as exc:
        raise ConfigError(f"{source}: cannot read: {exc.strerror or exc}") from None
    try:
        data = tomllib.loads(text.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{source}: not UTF-8 ({exc.reason} at byte {exc.start})") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{source}: invalid TOML: {exc}") from None
    return parse_config(
        data,
        source=source,
        listener_protocol=listener_protocol,
        base_dir=Path(path).resolve().parent,
    )


def parse_config(
    data: Mapping[str, object],
    source: str = "<config>",
    *,
    listener_protocol: str | None = None,
    base_dir: str | Path | None = None,
) -> ListenerConfig:
    """Validate an already-parsed configuration (what load_config does after reading TOML).

    ``base_dir`` is the directory relative handler paths are read from and handler modules are
    imported from (the rules file's own directory); None: the current directory, and handler
    specs are kept as written.
    """
    if listener_protocol is not None and listener_protocol.upper() not in ("HTTP", "HTTPS"):
        raise ValueError(f"listener_protocol must be 'HTTP' or 'HTTPS', not {listener_protocol!r}")
    parser = _Parser(
        source,
        None if listener_protocol is None else listener_protocol.upper(),
        None if base_dir is None else Path(base_dir),
    )
    return parser.config(data)


_TOML_TYPES = {
    bool: "a boolean",
    int: "an integer",
    float: "a float",
    str: "a string",
    list: "an array",
    dict: "a table",
}


def _kind(value: object) -> str:
    for kind, name in _TOML_TYPES.items():
        if type(value) is kind:
            return name
    return type(value).__name__


_DIGITS = re.compile(r"[0-9]+")


def _digits_as_int(value: object) -> object:
    """``"10"`` as 10, anything else unchanged: an integer field may be written either way."""
    if isinstance(value, str) and _DIGITS.fullmatch(value):
        return int(value)
    return value


_PATH_PATTERN_CHARS = re.compile(r"[A-Za-z0-9_\-.$/~\"'@:+&*?]*")
_HOST_PATTERN_CHARS = re.compile(r"[A-Za-z0-9\-.*?]*")
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_METHOD = re.compile(r"[A-Z_\-]+")
_REDIRECT_HOST_CHARS = re.compile(r"[A-Za-z0-9_\-.]*")
_URL_UNSAFE = re.compile(r"[\s?#]")
_STATUS = re.compile(r"[245]\d\d")
# Where each placeholder may appear (docs/alb-behaviour.md, "Listener rules").
_PLACEHOLDERS_ALLOWED = {  # placeholder -> the parts it may appear in
    "protocol": ("protocol", "query"),
    "host": ("host", "path", "query"),
    "port": ("port", "path", "query"),
    "path": ("path", "query"),
    "query": ("query",),
}
_REDIRECT_DEFAULTS = {
    "protocol": "#{protocol}",
    "host": "#{host}",
    "port": "#{port}",
    "path": "/#{path}",
    "query": "#{query}",
}


class _Parser:
    """Walks the parsed TOML; ``where`` is the prefix of every error (file, rule)."""

    def __init__(self, source: str, listener_protocol: str | None, base_dir: Path | None) -> None:
        self.source = source
        self.listener_protocol = listener_protocol
        self.base_dir = base_dir
        self.where = source
        self.targets: dict[str, Target] = {}

    # -- helpers ---------------------------------------------------------------------------

    def fail(self, path: str, message: str) -> ConfigError:
        return ConfigError(
            f"{self.where}: {path}: {message}" if path else f"{self.where}: {message}"
        )

    def table(
        self,
        value: object,
        path: str,
        *,
        allowed: Sequence[str],
        required: Sequence[str] = (),
    ) -> dict[str, object]:
        if not isinstance(value, dict):
            raise self.fail(path, f"must be a table, not {_kind(value)}")
        for key in value:
            if key not in allowed:
                raise self.fail(
                    path, f"unknown key {key!r} (allowed: {', '.join(sorted(allowed))})"
                )
        for key in required:
            if key not in value:
                raise self.fail(path, f"{key!r} is required")
        return {str(key): item for key, item in value.items()}

    def string(self, value: object, path: str, *, max_length: int | None = None) -> str:
        if not isinstance(value, str):
            raise self.fail(path, f"must be a string, not {_kind(value)}")
        if max_length is not None and len(value) > max_length:
            raise self.fail(path, f"longer than {max_length} characters")
        return value

    def array(self, value: object, path: str) -> list[object]:
        if not isinstance(value, list):
            raise self.fail(path, f"must be an array, not {_kind(value)}")
        return value

    def integer(self, value: object, path: str, low: int, high: int) -> int:
        """A field the ELBv2 API types as an Integer (priority, weight, thresholds): ``10`` or
        ``"10"`` (the module docstring's rule for numbers)."""
        value = _digits_as_int(value)
        if isinstance(value, str):
            raise self.fail(path, f"must be an integer, not {value!r}")
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.fail(path, f"must be an integer, not {_kind(value)}")
        if not low <= value <= high:
            raise self.fail(path, f"must be from {low} to {high}, not {value}")
        return value

    def number(self, value: object, path: str, low: float, high: float) -> float:
        """Seconds: an integer, a float, or a string of digits (``"30"``)."""
        value = _digits_as_int(value)
        if isinstance(value, str):
            raise self.fail(path, f"must be a number of seconds, not {value!r}")
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.fail(path, f"must be a number of seconds, not {_kind(value)}")
        if not low <= value <= high:
            raise self.fail(path, f"must be from {low:g} to {high:g} seconds, not {value:g}")
        return float(value)

    def numeric_string(self, value: object, path: str) -> str:
        """A field the ELBv2 API types as a String of digits (a status code, a port, a matcher):
        ``"200"`` or ``200``."""
        if isinstance(value, int) and not isinstance(value, bool):
            value = str(value)
        return self.string(value, path)

    def boolean(self, value: object, path: str) -> bool:
        if not isinstance(value, bool):
            raise self.fail(path, f"must be true or false, not {_kind(value)}")
        return value

    # -- the file --------------------------------------------------------------------------

    def config(self, data: Mapping[str, object]) -> ListenerConfig:
        top = self.table(dict(data), "", allowed=("targets", "rules", "default_action"))
        targets = top.get("targets", {})
        if not isinstance(targets, dict):
            raise self.fail("targets", f"must be a table, not {_kind(targets)}")
        for name, value in targets.items():
            self.targets[name] = self.target(name, value)
        rules: list[Rule] = []
        seen: dict[int, int] = {}
        users: dict[str, list[str]] = {name: [] for name in self.targets}
        for index, value in enumerate(self.array(top.get("rules", []), "rules")):
            rule = self.rule(index, value, seen)
            rules.append(rule)
            for name in _forwarded_to(rule.action):
                users[name].append(f"rules[{index}] (priority {rule.priority})")
            self.where = self.source
        if "default_action" not in top:
            raise self.fail("", "'default_action' is required")
        default_action = self.action(top["default_action"], "default_action")
        for name in _forwarded_to(default_action):
            users[name].append("default_action")
        rules.sort(key=lambda rule: rule.priority)
        targets = {name: self.placed(target, users[name]) for name, target in self.targets.items()}
        return ListenerConfig(targets, tuple(rules), default_action, self.source)

    def placed(self, target: Target, users: list[str]) -> Target:
        """``target`` with its ``origin`` (the file, the target and the rules that forward to it:
        the prefix of its load errors) and, for a rules file, its task root and its handler file
        read from the rules file's directory."""
        used = f"forwarded to by {', '.join(users)}" if users else "no rule forwards to it"
        origin = f"{self.source}: targets.{target.name} ({used})"
        if target.handler is None or self.base_dir is None:
            return dataclasses.replace(target, origin=origin)
        handler = self.handler_beside_rules(target.handler, origin)
        return dataclasses.replace(
            target, handler=handler, task_root=str(self.base_dir), origin=origin
        )

    def handler_beside_rules(self, spec: str, origin: str) -> str:
        """``spec`` with a relative file path made absolute from the rules file's directory, so
        the file works from any current directory. A file found only from the current directory
        (where rules files once had to be run from) still loads, with a warning saying what to
        write instead; a file found in neither place is refused now, naming the target."""
        assert self.base_dir is not None
        file = handler_file(spec)
        if file is None or Path(file).is_absolute():
            return spec
        beside = Path(os.path.normpath(self.base_dir / file))  # "../app.py" read as the file it is
        if beside.is_file():
            return str(beside) + spec[len(file) :]
        from_cwd = Path.cwd().resolve() / file
        if from_cwd.is_file():
            log.warning(
                "%s: handler %r: %s is found from the current directory only; a relative path "
                "is read from the rules file's directory: write %r",
                origin,
                spec,
                file,
                os.path.relpath(from_cwd, self.base_dir) + spec[len(file) :],
            )
            return str(from_cwd) + spec[len(file) :]
        raise ConfigError(
            f"{origin}: handler {spec!r}: no such file {str(beside)!r} (a relative path is read "
            "from the rules file's directory)"
        )

    # -- targets ---------------------------------------------------------------------------

    def target(self, name: str, value: object) -> Target:
        path = f"targets.{name}"
        spec = self.table(
            value,
            path,
            allowed=(
                "handler",
                "url",
                "multi_value_headers",
                "timeout",
                "health_check",
                "environments",
                "concurrency",
            ),
        )
        if ("handler" in spec) == ("url" in spec):
            raise self.fail(path, "exactly one of 'handler' or 'url' is required")
        handler = url = None
        if "handler" in spec:
            handler = self.string(spec["handler"], f"{path}.handler")
            if not handler or handler != handler.strip():
                raise self.fail(
                    f"{path}.handler",
                    "must be 'module:attr', 'path/to/file.py:attr' or 'file.function'",
                )
        else:
            url = self.url(spec["url"], f"{path}.url")
            for key in ("multi_value_headers", "environments", "concurrency"):
                if key in spec:
                    raise self.fail(f"{path}.{key}", "applies to Lambda targets ('handler') only")
        multi = self.boolean(spec.get("multi_value_headers", False), f"{path}.multi_value_headers")
        timeout = self.number(spec.get("timeout", 30), f"{path}.timeout", 1, 900)
        health = self.health_check(spec.get("health_check", {}), f"{path}.health_check")
        environments = None
        if "environments" in spec:
            environments = self.environments(spec["environments"], f"{path}.environments")
        concurrency = None
        if "concurrency" in spec:
            concurrency = self.integer(
                spec["concurrency"], f"{path}.concurrency", 1, MAX_CONCURRENCY
            )
            if environments == "thread":
                raise self.fail(
                    f"{path}.concurrency",
                    "applies to environments = 'process' only "
                    "(a 'thread' target runs one invocation at a time)",
                )
        return Target(
            name,
            handler,
            url,
            multi,
            timeout,
            health,
            environments=environments,
            concurrency=concurrency,
        )

    def environments(self, value: object, path: str) -> EnvironmentsMode:
        text = self.string(value, path)
        for mode in ENVIRONMENTS_MODES:
            if text == mode:
                return mode
        raise self.fail(path, f"must be 'process' or 'thread', not {text!r}")

    def url(self, value: object, path: str) -> str:
        url = self.string(value, path)
        problem = None
        try:
            parts = urlsplit(url)
            parts.port  # noqa: B018 - raises ValueError when out of range
        except ValueError as exc:
            problem = str(exc)
        else:
            if parts.scheme not in ("http", "https") or not parts.hostname:
                problem = "must be http(s)://host[:port][/prefix]"
            elif parts.query or parts.fragment or "?" in url or "#" in url:
                problem = "must not have a query or a fragment"
            elif parts.username is not None or parts.password is not None:
                problem = "must not carry a user name or password"
            elif any(char.isspace() for char in url):
                problem = "must not contain white space"
        if problem:
            raise self.fail(path, f"{url!r}: {problem}")
        return url

    def health_check(self, value: object, path: str) -> HealthCheck:
        spec = self.table(
            value,
            path,
            allowed=(
                "enabled",
                "path",
                "interval",
                "timeout",
                "healthy_threshold",
                "unhealthy_threshold",
                "matcher",
            ),
        )
        default = HealthCheck()
        enabled = self.boolean(spec.get("enabled", default.enabled), f"{path}.enabled")
        check_path = self.string(spec.get("path", default.path), f"{path}.path", max_length=1024)
        if not check_path.startswith("/"):
            raise self.fail(f"{path}.path", "must start with '/'")
        interval = self.number(spec.get("interval", default.interval), f"{path}.interval", 5, 300)
        timeout = self.number(spec.get("timeout", default.timeout), f"{path}.timeout", 2, 120)
        if timeout >= interval:
            raise self.fail(
                f"{path}.timeout", f"must be less than the interval ({interval:g} seconds)"
            )
        healthy = self.integer(
            spec.get("healthy_threshold", default.healthy_threshold),
            f"{path}.healthy_threshold",
            2,
            10,
        )
        unhealthy = self.integer(
            spec.get("unhealthy_threshold", default.unhealthy_threshold),
            f"{path}.unhealthy_threshold",
            2,
            10,
        )
        matcher = self.numeric_string(spec.get("matcher", default.matcher), f"{path}.matcher")
        try:
            _matcher_ranges(matcher)
        except ValueError as exc:
            raise self.fail(f"{path}.matcher", str(exc)) from None
        return HealthCheck(enabled, check_path, interval, timeout, healthy, unhealthy, matcher)

    # -- rules -----------------------------------------------------------------------------

    def rule(self, index: int, value: object, seen: dict[int, int]) -> Rule:
        self.where = f"{self.source}: rules[{index}]"
        if not isinstance(value, dict):
            raise self.fail("", f"must be a table, not {_kind(value)}")
        if "priority" not in value:
            raise self.fail("", "'priority' is required")
        priority = self.integer(value["priority"], "priority", MIN_PRIORITY, MAX_PRIORITY)
        self.where = f"{self.source}: rules[{index}] (priority {priority})"
        spec = self.table(value, "", allowed=("priority", "conditions", "actions"))
        if priority in seen:
            raise self.fail("priority", f"{priority} is already used by rules[{seen[priority]}]")
        seen[priority] = index
        for key in ("conditions", "actions"):
            if key not in spec:
                raise self.fail("", f"{key!r} is required")
        raw_conditions = self.array(spec["conditions"], "conditions")
        if not raw_conditions:
            raise self.fail(
                "conditions", "a rule needs at least one condition (use default_action otherwise)"
            )
        conditions: list[Condition] = []
        first_of: dict[str, int] = {}
        for position, item in enumerate(raw_conditions):
            condition = self.condition(item, f"conditions[{position}]")
            if condition.field in SINGLE_CONDITION_FIELDS:
                if condition.field in first_of:
                    raise self.fail(
                        f"conditions[{position}]",
                        f"only one {condition.field!r} condition per rule "
                        f"(conditions[{first_of[condition.field]}] is one)",
                    )
                first_of[condition.field] = position
            conditions.append(condition)
        count = sum(len(c.values) + len(c.query_pairs) for c in conditions)
        if count > MAX_CONDITION_VALUES:
            raise self.fail(
                "conditions",
                f"{count} condition values; a rule may have at most {MAX_CONDITION_VALUES}",
            )
        actions = self.array(spec["actions"], "actions")
        if len(actions) == 2 and _is_authenticate(actions[0]):
            # As ELBv2 orders them: authenticate first, then the action that answers.
            authenticate = self.authenticate(actions[0], "actions[0]")
            return Rule(
                priority, tuple(conditions), self.action(actions[1], "actions[1]"), authenticate
            )
        if len(actions) != 1:
            raise self.fail(
                "actions",
                "one action (forward, redirect or fixed-response), or an authenticate action and "
                f"then one, is required, found {len(actions)}",
            )
        return Rule(priority, tuple(conditions), self.action(actions[0], "actions[0]"))

    def condition(self, value: object, path: str) -> Condition:
        if isinstance(value, dict) and value.get("field") == "http-header":
            allowed: tuple[str, ...] = ("field", "values", "http_header_name")
        else:
            allowed = ("field", "values")
        spec = self.table(value, path, allowed=allowed, required=("field",))
        kind = self.string(spec["field"], f"{path}.field")
        if kind not in CONDITION_FIELDS:
            raise self.fail(
                f"{path}.field", f"{kind!r} is not one of {', '.join(CONDITION_FIELDS)}"
            )
        if "values" not in spec:
            raise self.fail(path, "'values' is required")
        values = self.array(spec["values"], f"{path}.values")
        if not values:
            raise self.fail(path, "'values' must not be empty")
        if kind == "query-string":
            pairs = tuple(
                self.query_pair(item, f"{path}.values[{i}]") for i, item in enumerate(values)
            )
            return Condition("query-string", query_pairs=pairs)
        header_name = None
        if kind == "http-header":
            header_name = self.header_name(spec, path)
        checked = tuple(
            self.condition_value(kind, item, f"{path}.values[{i}]") for i, item in enumerate(values)
        )
        if kind == "path-pattern":
            return Condition("path-pattern", checked)
        if kind == "host-header":
            return Condition("host-header", checked)
        if kind == "http-header":
            return Condition("http-header", checked, http_header_name=header_name)
        if kind == "http-request-method":
            return Condition("http-request-method", checked)
        return Condition("source-ip", checked)

    def header_name(self, spec: dict[str, object], path: str) -> str:
        if "http_header_name" not in spec:
            raise self.fail(path, "'http_header_name' is required")
        name_path = f"{path}.http_header_name"
        name = self.string(spec["http_header_name"], name_path, max_length=MAX_HEADER_NAME_LENGTH)
        if not _TOKEN.fullmatch(name) or "*" in name:
            raise self.fail(name_path, f"{name!r} is not a header name (RFC 7230 token, no '*')")
        if name.lower() == "host":
            raise self.fail(name_path, "use a 'host-header' condition for Host")
        return name

    def condition_value(self, kind: str, value: object, path: str) -> str:
        text = self.string(value, path)
        if not text:
            raise self.fail(path, "must not be empty")
        if kind == "http-request-method":
            if len(text) > MAX_METHOD_LENGTH:
                raise self.fail(path, f"longer than {MAX_METHOD_LENGTH} characters")
            if not _METHOD.fullmatch(text):
                raise self.fail(
                    path, f"{text!r}: a method is made of A-Z, '-' and '_' (case-sensitive)"
                )
            return text
        if kind == "source-ip":
            return self.cidr(text, path)
        if len(text) > MAX_PATTERN_LENGTH:
            raise self.fail(path, f"pattern longer than {MAX_PATTERN_LENGTH} characters")
        if kind == "path-pattern" and not _PATH_PATTERN_CHARS.fullmatch(text):
            bad = sorted({char for char in text if not _PATH_PATTERN_CHARS.fullmatch(char)})
            raise self.fail(
                path,
                f"{text!r}: character(s) {' '.join(map(repr, bad))} not allowed in a path "
                "pattern (A-Z a-z 0-9 _ - . $ / ~ \" ' @ : + & * ?)",
            )
        if kind == "path-pattern" and text[0] not in "/*?":
            # AWS documents no such check, but the rule could never apply: every path starts
            # with '/' (docs/alb-behaviour.md, "Listener rules").
            raise self.fail(
                path, f"{text!r} never matches: a request path starts with '/' (write '/{text}')"
            )
        if kind == "host-header":
            labels = text.rpartition(".")
            if not _HOST_PATTERN_CHARS.fullmatch(text):
                raise self.fail(
                    path, f"{text!r}: a host pattern is made of A-Z a-z 0-9 - . * ? only"
                )
            if not labels[1] or not labels[2].isalpha():
                raise self.fail(
                    path, f"{text!r}: must contain a '.' and only letters after the last '.'"
                )
        return text

    def cidr(self, text: str, path: str) -> str:
        if "/" not in text:
            raise self.fail(
                path, f"{text!r} is not a CIDR block (e.g. 192.0.2.0/24, 2001:db8::/32)"
            )
        try:
            network = ipaddress.ip_network(text)
        except ValueError as exc:
            raise self.fail(path, f"{text!r} is not a CIDR block: {exc}") from None
        if network == ipaddress.ip_network("255.255.255.255/32"):
            raise self.fail(path, "255.255.255.255/32 is not allowed")
        return text

    def query_pair(self, value: object, path: str) -> QueryPair:
        spec = self.table(value, path, allowed=("key", "value"), required=("value",))
        key = None
        if "key" in spec:
            key = self.string(spec["key"], f"{path}.key")
            if not key:
                raise self.fail(
                    f"{path}.key", "must not be empty (leave 'key' out to match any key)"
                )
            if len(key) > MAX_PATTERN_LENGTH:
                raise self.fail(
                    f"{path}.key", f"pattern longer than {MAX_PATTERN_LENGTH} characters"
                )
        text = self.string(spec["value"], f"{path}.value")
        if not text:
            raise self.fail(f"{path}.value", "must not be empty")
        if len(text) > MAX_PATTERN_LENGTH:
            raise self.fail(f"{path}.value", f"pattern longer than {MAX_PATTERN_LENGTH} characters")
        return QueryPair(key, text)

    # -- actions ---------------------------------------------------------------------------

    def action(self, value: object, path: str) -> Action:
        if not isinstance(value, dict):
            raise self.fail(path, f"must be a table, not {_kind(value)}")
        if "type" not in value:
            raise self.fail(path, "'type' is required (forward, redirect or fixed-response)")
        kind = self.string(value["type"], f"{path}.type")
        if kind == "forward":
            return self.forward(value, path)
        if kind == "redirect":
            return self.redirect(value, path)
        if kind == "fixed-response":
            return self.fixed_response(value, path)
        if kind in AUTHENTICATE_TYPES:
            raise self.fail(
                f"{path}.type",
                f"{kind!r} signs users in and must be followed by the action that answers "
                "(forward, redirect or fixed-response)",
            )
        raise self.fail(f"{path}.type", f"{kind!r} is not one of forward, redirect, fixed-response")

    def target_name(self, value: object, path: str) -> str:
        name = self.string(value, path)
        if name not in self.targets:
            known = ", ".join(sorted(self.targets)) or "none defined"
            raise self.fail(path, f"unknown target {name!r} (targets: {known})")
        return name

    def forward(self, value: object, path: str) -> Forward:
        spec = self.table(value, path, allowed=("type", "target_group", "target_groups"))
        if ("target_group" in spec) == ("target_groups" in spec):
            raise self.fail(path, "exactly one of 'target_group' or 'target_groups' is required")
        if "target_group" in spec:
            return Forward(((self.target_name(spec["target_group"], f"{path}.target_group"), 1),))
        groups_path = f"{path}.target_groups"
        items = self.array(spec["target_groups"], groups_path)
        if not 1 <= len(items) <= MAX_TARGET_GROUPS:
            raise self.fail(
                groups_path, f"1 to {MAX_TARGET_GROUPS} target groups, not {len(items)}"
            )
        groups: list[tuple[str, int]] = []
        for i, item in enumerate(items):
            item_path = f"{groups_path}[{i}]"
            required = ("name", "weight") if len(items) > 1 else ("name",)
            group = self.table(item, item_path, allowed=("name", "weight"), required=required)
            name = self.target_name(group["name"], f"{item_path}.name")
            if any(name == other for other, _ in groups):
                raise self.fail(f"{item_path}.name", f"target {name!r} is listed twice")
            weight = self.integer(group.get("weight", 1), f"{item_path}.weight", 0, MAX_WEIGHT)
            groups.append((name, weight))
        if not any(weight for _, weight in groups):
            raise self.fail(groups_path, "at least one weight must be more than 0")
        return Forward(tuple(groups))

    def redirect(self, value: object, path: str) -> Redirect:
        spec = self.table(
            value,
            path,
            allowed=("type", "status_code", "protocol", "host", "port", "path", "query"),
            required=("status_code",),
        )
        status = self.string(spec["status_code"], f"{path}.status_code")
        if status not in ("HTTP_301", "HTTP_302"):
            raise self.fail(
                f"{path}.status_code", f"must be 'HTTP_301' or 'HTTP_302', not {status!r}"
            )
        parts = dict(_REDIRECT_DEFAULTS)
        for part in parts:
            if part in spec:
                parts[part] = self.redirect_part(part, spec[part], f"{path}.{part}")
        if all(
            parts[part] == _REDIRECT_DEFAULTS[part] for part in ("protocol", "host", "port", "path")
        ):
            raise self.fail(
                path, "a redirect must change at least one of protocol, host, port or path"
            )
        if parts["protocol"] == "HTTP" and self.listener_protocol == "HTTPS":
            raise self.fail(f"{path}.protocol", "a redirect from HTTPS to HTTP is not allowed")
        return Redirect(
            int(status[5:]),
            parts["protocol"],
            parts["host"],
            parts["port"],
            parts["path"],
            parts["query"],
        )

    def redirect_part(self, part: str, value: object, path: str) -> str:
        text = self.numeric_string(value, path) if part == "port" else self.string(value, path)
        for found in _PLACEHOLDER.finditer(text):
            name = found.group(1)
            if name not in _PLACEHOLDERS_ALLOWED:
                raise self.fail(path, f"unknown placeholder {found.group(0)!r}")
            if part not in _PLACEHOLDERS_ALLOWED[name]:
                allowed = ", ".join(
                    f"#{{{p}}}" for p, parts in _PLACEHOLDERS_ALLOWED.items() if part in parts
                )
                raise self.fail(
                    path, f"placeholder {found.group(0)} is not allowed here (allowed: {allowed})"
                )
        literal = _PLACEHOLDER.sub("", text)
        if part == "protocol":
            if text not in ("HTTP", "HTTPS", "#{protocol}"):
                raise self.fail(path, f"must be 'HTTP', 'HTTPS' or '#{{protocol}}', not {text!r}")
            return text
        if part == "port":
            if text != "#{port}" and not (text.isdigit() and 1 <= int(text) <= 65535):
                raise self.fail(path, f"must be from 1 to 65535 or '#{{port}}', not {text!r}")
            return text
        if len(text) > MAX_PATTERN_LENGTH:
            raise self.fail(path, f"longer than {MAX_PATTERN_LENGTH} characters")
        if part == "host":
            if not text:
                raise self.fail(path, "must not be empty")
            if not _REDIRECT_HOST_CHARS.fullmatch(literal):
                raise self.fail(path, f"{text!r} is not a host name (A-Z a-z 0-9 - . _)")
        elif part == "path":
            if not text.startswith("/"):
                raise self.fail(path, f"{text!r} must start with '/'")
            if _URL_UNSAFE.search(literal):
                raise self.fail(path, f"{text!r}: no white space, '?' or '#' in a path")
        else:  # query
            if text.startswith("?"):
                raise self.fail(path, f"{text!r}: leave out the leading '?', it is added for you")
            if _URL_UNSAFE.search(literal.replace("?", "")):
                raise self.fail(path, f"{text!r}: no white space or '#' in a query")
        return text

    def fixed_response(self, value: object, path: str) -> FixedResponse:
        spec = self.table(
            value,
            path,
            allowed=("type", "status_code", "content_type", "message_body"),
            required=("status_code",),
        )
        text = self.numeric_string(spec["status_code"], f"{path}.status_code")
        if not _STATUS.fullmatch(text):
            raise self.fail(f"{path}.status_code", f"must be a 2XX, 4XX or 5XX code, not {text!r}")
        content_type = None
        if "content_type" in spec:
            content_type = self.string(spec["content_type"], f"{path}.content_type")
            if content_type not in FIXED_RESPONSE_CONTENT_TYPES:
                raise self.fail(
                    f"{path}.content_type",
                    f"{content_type!r} is not one of {', '.join(FIXED_RESPONSE_CONTENT_TYPES)}",
                )
        body = self.string(spec.get("message_body", ""), f"{path}.message_body")
        if len(body) > MAX_MESSAGE_BODY:
            raise self.fail(f"{path}.message_body", f"longer than {MAX_MESSAGE_BODY} characters")
        return FixedResponse(int(text), content_type, body)

    def authenticate(self, value: object, path: str) -> Authenticate:
        """An authenticate action, checked as ``create-rule`` checks it: the provider settings its
        kind requires, then the session's. A client secret is refused: the local ALB's provider
        needs none, and a secret has no place in a file kept in a repository."""
        assert isinstance(value, dict)
        kind = str(value["type"])
        if "client_secret" in value or "use_existing_client_secret" in value:
            raise self.fail(
                f"{path}.client_secret",
                "leave the client secret out of a rules file (the local ALB's sign-in needs none)",
            )
        provider_keys = _PROVIDER_KEYS[kind]
        spec = self.table(
            value, path, allowed=(*_SESSION_KEYS, *provider_keys), required=provider_keys
        )
        provider: dict[str, str] = {}
        for key in provider_keys:
            provider[key] = self.provider_setting(key, spec[key], f"{path}.{key}")
        if kind == "authenticate-oidc":
            issuer, client_id = provider["issuer"], provider["client_id"]
        else:
            found = _USER_POOL_ARN.fullmatch(provider["user_pool_arn"])
            assert found is not None  # provider_setting checked it
            issuer = f"https://cognito-idp.{found['region']}.amazonaws.com/{found['pool']}"
            client_id = provider["user_pool_client_id"]
        unauthenticated = self.string(
            spec.get("on_unauthenticated_request", "authenticate"),
            f"{path}.on_unauthenticated_request",
        )
        if unauthenticated not in UNAUTHENTICATED_REQUESTS:
            raise self.fail(
                f"{path}.on_unauthenticated_request",
                f"must be 'authenticate', 'deny' or 'allow', not {unauthenticated!r}",
            )
        cookie = self.string(
            spec.get("session_cookie_name", DEFAULT_SESSION_COOKIE_NAME),
            f"{path}.session_cookie_name",
        )
        if not _COOKIE_NAME.fullmatch(cookie):
            raise self.fail(
                f"{path}.session_cookie_name",
                f"{cookie!r}: a cookie name is made of A-Z a-z 0-9 - _ . only",
            )
        timeout = self.integer(
            spec.get("session_timeout", DEFAULT_SESSION_TIMEOUT),
            f"{path}.session_timeout",
            1,
            DEFAULT_SESSION_TIMEOUT,
        )
        scope = self.string(spec.get("scope", DEFAULT_SCOPE), f"{path}.scope")
        if not scope.strip() or not scope.isprintable():
            raise self.fail(f"{path}.scope", "must be scopes separated by spaces, e.g. 'openid'")
        extra = self.extra_params(
            spec.get("authentication_request_extra_params", {}),
            f"{path}.authentication_request_extra_params",
        )
        return Authenticate(
            "oidc" if kind == "authenticate-oidc" else "cognito",
            _unauthenticated(unauthenticated),
            cookie,
            timeout,
            scope,
            issuer,
            client_id,
            tuple(provider.items()),
            extra,
        )

    def provider_setting(self, key: str, value: object, path: str) -> str:
        text = self.string(value, path)
        if key in ("issuer", "authorization_endpoint", "token_endpoint", "user_info_endpoint"):
            parts = urlsplit(text)
            if parts.scheme != "https" or not parts.hostname or any(c.isspace() for c in text):
                raise self.fail(path, f"{text!r}: must be an https:// URL")
        elif key == "user_pool_arn":
            if not _USER_POOL_ARN.fullmatch(text):
                raise self.fail(
                    path,
                    f"{text!r} is not a user pool ARN "
                    "(arn:aws:cognito-idp:REGION:ACCOUNT:userpool/REGION_ID)",
                )
        elif key == "client_id":  # the provider's, of any shape
            if not text or not text.isprintable() or any(c.isspace() for c in text):
                raise self.fail(path, f"{text!r}: a client id, without spaces")
        elif key == "user_pool_client_id":
            if not _CLIENT_ID.fullmatch(text):
                raise self.fail(path, f"{text!r}: 1 to 128 letters, digits, '_' or '+'")
        elif not _DOMAIN.fullmatch(text):  # user_pool_domain: a prefix or a custom domain
            raise self.fail(path, f"{text!r}: a domain prefix or a domain name")
        return text

    def extra_params(self, value: object, path: str) -> tuple[tuple[str, str], ...]:
        if not isinstance(value, dict):
            raise self.fail(path, f"must be a table, not {_kind(value)}")
        if len(value) > MAX_EXTRA_PARAMS:
            raise self.fail(path, f"at most {MAX_EXTRA_PARAMS} parameters, not {len(value)}")
        return tuple((str(key), self.string(item, f"{path}.{key}")) for key, item in value.items())


def _unauthenticated(text: str) -> UnauthenticatedRequest:
    for mode in UNAUTHENTICATED_REQUESTS:
        if text == mode:
            return mode
    raise AssertionError(text)  # checked by the caller
