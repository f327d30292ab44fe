"""Listener rules of the local ALB: matching, actions, and the validation of rules.toml."""

from __future__ import annotations

import copy
import random
import time
import tomllib
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from alb_adapter.emulator.rules import (
    Condition,
    ConfigError,
    FixedResponse,
    Forward,
    HealthCheck,
    ListenerConfig,
    QueryPair,
    Redirect,
    Rule,
    RuleRequest,
    Target,
    load_config,
    parse_config,
)


def request(
    path: str = "/",
    query: str = "",
    *,
    method: str = "GET",
    host: str | None = "example.com",
    headers: tuple[tuple[str, str], ...] = (),
    source_ip: str = "203.0.113.9",
    scheme: str = "http",
    port: int = 80,
) -> RuleRequest:
    all_headers = ((("Host", host),) if host is not None else ()) + headers
    return RuleRequest.from_http(method, path, query, all_headers, source_ip, scheme, port)


# ---------------------------------------------------------------------------------------------
# RuleRequest


def test_rule_request_from_http_keeps_everything_raw() -> None:
    got = request(
        "/a%20b//c", "x=1&&flag&y=a%2Bb+c&x=2", method="POST", headers=(("X-Env", "prod"),)
    )
    assert got == RuleRequest(
        method="POST",
        path="/a%20b//c",
        query=(("x", "1"), ("flag", ""), ("y", "a%2Bb+c"), ("x", "2")),
        headers=(("host", "example.com"), ("x-env", "prod")),
        source_ip="203.0.113.9",
        scheme="http",
        port=80,
        raw_query="x=1&&flag&y=a%2Bb+c&x=2",
    )


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("example.com", "example.com"),
        ("Example.COM:8080", "example.com"),
        ("[::1]:8000", "[::1]"),
        ("[2001:DB8::1]", "[2001:db8::1]"),
        ("127.0.0.1:80", "127.0.0.1"),
        (None, ""),
    ],
)
def test_host_is_lowercased_without_port(host: str | None, expected: str) -> None:
    assert request(host=host).host == expected


def test_host_is_the_first_host_header() -> None:
    headers = (("x-a", "1"), ("host", "B.example.com"), ("host", "c.example.com"))
    assert RuleRequest("GET", "/", (), headers, "10.0.0.1", "http", 80).host == "b.example.com"


def test_query_string_rebuilt_when_raw_query_is_unknown() -> None:
    bare = RuleRequest("GET", "/", (("a", "1"), ("b", "")), (), "10.0.0.1", "http", 80)
    assert bare.query_string == "a=1&b="


# ---------------------------------------------------------------------------------------------
# Conditions


@pytest.mark.parametrize(
    ("pattern", "path", "expected"),
    [
        ("/img/*", "/img/a.png", True),
        ("/img/*", "/img/", True),
        ("/img/*", "/img/a/b/c.png", True),  # `*` crosses `/`
        ("/img/*", "/img", False),
        ("/img", "/img/", False),  # anchored at the end
        ("/img", "/v1/img", False),  # anchored at the start
        ("/IMG/*", "/img/a.png", False),  # case-sensitive
        ("/img/*", "/IMG/a.png", False),
        ("/a?c", "/abc", True),
        ("/a?c", "/a/c", True),
        ("/a?c", "/ac", False),
        ("/a?c", "/abbc", False),
        ("/a*b*c", "/aXbYc", True),
        ("/a*b*c", "/abc", True),
        ("/a*b*c", "/acb", False),
        ("*.png", "/x/y.png", True),
        ("*", "/", True),
        ("/a.b", "/aXb", False),  # regex characters are literal
        ("/a+b$", "/a+b$", True),
        ("//application", "//application", True),  # `//` is kept, never collapsed
        ("/application", "//application", False),
        ("/space???value", "/space%20value", True),  # the raw path, percent-encoding kept
        ("/space?value", "/space%20value", False),
        ("/search", "/search", True),
    ],
)
def test_path_pattern(pattern: str, path: str, expected: bool) -> None:
    assert Condition("path-pattern", (pattern,)).matches(request(path)) is expected


def test_path_pattern_never_sees_the_query() -> None:
    condition = Condition("path-pattern", ("*q*",))
    assert not condition.matches(request("/search", "q=1"))


def test_path_pattern_no_catastrophic_backtracking() -> None:
    condition = Condition("path-pattern", ("*a*a*a*a*b",))
    started = time.perf_counter()
    assert not condition.matches(request("/" + "a" * 16_000))
    assert time.perf_counter() - started < 1.0


@pytest.mark.parametrize(
    ("pattern", "host", "expected"),
    [
        ("example.com", "example.com", True),
        ("example.com", "EXAMPLE.com", True),
        ("EXAMPLE.COM", "example.com", True),
        ("example.com", "example.com:8080", True),  # the port is not part of the comparison
        ("*.example.com", "api.example.com", True),
        ("*.example.com", "a.b.example.com", True),
        ("*.example.com", "example.com", False),
        ("api?.example.com", "api1.example.com", True),
        ("api?.example.com", "api.example.com", False),
        ("example.com", "example.com.evil.net", False),
        ("example.com", "www.example.com", False),
        ("example.com", None, False),
    ],
)
def test_host_header(pattern: str, host: str | None, expected: bool) -> None:
    assert Condition("host-header", (pattern,)).matches(request(host=host)) is expected


@pytest.mark.parametrize(
    ("name", "pattern", "headers", "expected"),
    [
        ("User-Agent", "*badbot*", (("User-Agent", "Mozilla BADBOT/1.0"),), True),
        ("user-agent", "*BadBot*", (("USER-AGENT", "badbot"),), True),
        ("User-Agent", "*badbot*", (("User-Agent", "curl/8"),), False),
        ("User-Agent", "*badbot*", (("X-Agent", "badbot"),), False),
        ("User-Agent", "*badbot*", (), False),
        ("X-Env", "staging", (("X-Env", "prod"), ("X-Env", "staging")), True),  # any occurrence
        ("X-Env", "staging", (("X-Env", "prod"), ("X-Env", "dev")), False),
        ("X-Env", "st?ging", (("X-Env", "STAGING"),), True),
        ("X-Env", "stag", (("X-Env", "staging"),), False),  # anchored
    ],
)
def test_http_header(
    name: str, pattern: str, headers: tuple[tuple[str, str], ...], expected: bool
) -> None:
    condition = Condition("http-header", (pattern,), http_header_name=name)
    assert condition.matches(request(headers=headers)) is expected


@pytest.mark.parametrize(
    ("method", "expected"), [("GET", True), ("POST", True), ("get", False), ("HEAD", False)]
)
def test_http_request_method(method: str, expected: bool) -> None:
    condition = Condition("http-request-method", ("GET", "POST"))
    assert condition.matches(request(method=method)) is expected


@pytest.mark.parametrize(
    ("pairs", "query", "expected"),
    [
        ((QueryPair("version", "v1"),), "version=v1", True),
        ((QueryPair("version", "v1"),), "VERSION=V1", True),  # case-insensitive
        ((QueryPair("version", "v1"),), "a=b&version=v1", True),  # any pair
        ((QueryPair("version", "v1"),), "version=v2", False),
        ((QueryPair("version", "v1"),), "other=v1", False),
        ((QueryPair("version", "v1"),), "", False),
        ((QueryPair(None, "*example*"),), "a=my_EXAMPLE_1", True),  # no key: any key
        ((QueryPair(None, "*example*"),), "example=1", False),
        ((QueryPair("v*", "?"),), "version=2", True),
        ((QueryPair(None, "a\\*b"),), "x=a*b", True),  # \* is a literal *
        ((QueryPair(None, "a\\*b"),), "x=aXb", False),
        ((QueryPair(None, "a*b"),), "x=aXb", True),
        ((QueryPair(None, "why\\?"),), "x=why?", True),
        ((QueryPair(None, "why\\?"),), "x=whyX", False),
        ((QueryPair(None, "a\\b"),), "x=a%5Cb", True),  # another backslash is literal
        ((QueryPair(None, "a\\*b"),), "x=a%2Ab", True),  # percent-decoded before comparing
        ((QueryPair("q", "hello world"),), "q=hello%20world", True),
        ((QueryPair("q", "hello world"),), "q=hello+world", False),  # `+` is not a space
        ((QueryPair("q", "a+b"),), "q=a+b", True),
        ((QueryPair("my key", "x"),), "my%20key=x", True),
        ((QueryPair("flag", "*"),), "flag", True),  # a bare key has the value ""
        ((QueryPair("a", "1"), QueryPair("b", "2")), "b=2", True),  # values are alternatives
    ],
)
def test_query_string(pairs: tuple[QueryPair, ...], query: str, expected: bool) -> None:
    condition = Condition("query-string", query_pairs=pairs)
    assert condition.matches(request("/", query)) is expected


@pytest.mark.parametrize(
    ("source_ip", "expected"),
    [
        ("10.1.2.3", True),
        ("11.0.0.1", False),
        ("2001:db8::1", True),
        ("2001:db9::1", False),
        ("::ffff:10.0.0.1", True),  # an IPv4 peer seen by a dual-stack socket
        ("::1", False),
        ("testclient", False),
        ("", False),
    ],
)
def test_source_ip(source_ip: str, expected: bool) -> None:
    condition = Condition("source-ip", ("10.0.0.0/8", "2001:db8::/32"))
    assert condition.matches(request(source_ip=source_ip)) is expected


def test_source_ip_ignores_x_forwarded_for() -> None:
    condition = Condition("source-ip", ("10.0.0.0/8",))
    spoofed = request(source_ip="203.0.113.9", headers=(("X-Forwarded-For", "10.0.0.1"),))
    assert not condition.matches(spoofed)


def test_http_header_condition_needs_a_name() -> None:
    with pytest.raises(ValueError, match="http_header_name"):
        Condition("http-header", ("x",))


# ---------------------------------------------------------------------------------------------
# Rules and the listener


@pytest.mark.parametrize(
    ("method", "path", "expected"),
    [("POST", "/a", True), ("POST", "/b", True), ("GET", "/a", False), ("POST", "/c", False)],
)
def test_conditions_and_values_or(method: str, path: str, expected: bool) -> None:
    rule = Rule(
        10,
        (
            Condition("path-pattern", ("/a", "/b")),
            Condition("http-request-method", ("POST",)),
        ),
        FixedResponse(200),
    )
    assert rule.matches(request(path, method=method)) is expected


def test_select_by_priority_first_match_then_default() -> None:
    config = parse_config(
        {
            "rules": [
                {
                    "priority": 30,
                    "conditions": [{"field": "path-pattern", "values": ["*"]}],
                    "actions": [{"type": "fixed-response", "status_code": 230}],
                },
                {
                    "priority": 10,
                    "conditions": [{"field": "path-pattern", "values": ["/a/*"]}],
                    "actions": [{"type": "fixed-response", "status_code": 210}],
                },
                {
                    "priority": 20,
                    "conditions": [{"field": "path-pattern", "values": ["/a/b", "/c"]}],
                    "actions": [{"type": "fixed-response", "status_code": 220}],
                },
            ],
            "default_action": {"type": "fixed-response", "status_code": 404},
        }
    )
    assert [rule.priority for rule in config.rules] == [10, 20, 30]
    assert config.select(request("/a/b")) == (config.rules[0], FixedResponse(210))
    assert config.select(request("/c")) == (config.rules[1], FixedResponse(220))
    assert config.select(request("/d")) == (config.rules[2], FixedResponse(230))

    narrow = ListenerConfig({}, config.rules[:2], FixedResponse(404))
    assert narrow.select(request("/d")) == (None, FixedResponse(404))


def test_listener_config_sorts_rules_given_out_of_order() -> None:
    first = Rule(1, (Condition("path-pattern", ("*",)),), FixedResponse(201))
    second = Rule(2, (Condition("path-pattern", ("*",)),), FixedResponse(202))
    config = ListenerConfig({}, (second, first), FixedResponse(404))
    assert config.rules == (first, second)
    assert config.select(request()) == (first, FixedResponse(201))


def test_single_target() -> None:
    config = ListenerConfig.single_target("app:handler", multi_value_headers=True, timeout=3)
    assert config == ListenerConfig(
        targets={
            "lambda": Target("lambda", handler="app:handler", multi_value_headers=True, timeout=3)
        },
        rules=(),
        default_action=Forward((("lambda", 1),)),
        source="app:handler",
    )
    assert config.select(request("/anything")) == (None, Forward((("lambda", 1),)))


# ---------------------------------------------------------------------------------------------
# Actions


def test_forward_single_target_needs_no_rng() -> None:
    assert Forward((("a", 1),)).choose() == "a"


def test_forward_weighted_distribution() -> None:
    forward = Forward((("a", 9), ("b", 1), ("never", 0)))
    rng = random.Random(1234)
    counts = Counter(forward.choose(rng) for _ in range(10_000))
    assert set(counts) == {"a", "b"}
    assert 8_800 <= counts["a"] <= 9_200
    first, second = random.Random(7), random.Random(7)
    assert [forward.choose(first) for _ in range(50)] == [forward.choose(second) for _ in range(50)]


def redirect_to(**parts: Any) -> Redirect:
    return Redirect(301, **parts)


@pytest.mark.parametrize(
    ("redirect", "req", "location"),
    [
        (
            redirect_to(host="www.example.com"),
            request("/x/y", "a=1"),
            "http://www.example.com/x/y?a=1",
        ),
        (redirect_to(host="www.example.com"), request("/x"), "http://www.example.com/x"),  # no `?`
        (
            redirect_to(host="www.example.com"),
            request("/x", port=8000),
            "http://www.example.com:8000/x",  # #{port} keeps a non-default port
        ),
        (
            redirect_to(protocol="HTTPS", port="443"),
            request("/x", "a=1"),
            "https://example.com/x?a=1",  # 443 is the default for https: left out
        ),
        (
            redirect_to(protocol="HTTPS"),
            request("/x"),
            "https://example.com:80/x",  # #{port} is 80, not the https default
        ),
        (
            redirect_to(protocol="HTTP", port="80"),
            request("/x", scheme="https", port=443),
            "http://example.com/x",
        ),
        (redirect_to(port="8443"), request("/x"), "http://example.com:8443/x"),
        (
            redirect_to(protocol="#{protocol}", port="443"),
            request("/x", scheme="https", port=8443),
            "https://example.com/x",
        ),
        (redirect_to(host="#{host}.cdn.net"), request("/"), "http://example.com.cdn.net/"),
        (redirect_to(path="/new/#{path}"), request("/old/page"), "http://example.com/new/old/page"),
        (redirect_to(path="/#{host}/#{port}"), request("/x"), "http://example.com/example.com/80"),
        (redirect_to(path="/#{path}/"), request("/"), "http://example.com//"),
        (
            redirect_to(
                host="login.example.com",
                path="/",
                query="next=#{protocol}://#{host}:#{port}/#{path}&#{query}",
            ),
            request("/a/b", "c=d", scheme="https", port=443),
            "https://login.example.com/?next=https://example.com:443/a/b&c=d",
        ),
        (redirect_to(path="/", query=""), request("/x", "a=1"), "http://example.com/"),
        (redirect_to(path="/", query="v=2"), request("/x", "a=1"), "http://example.com/?v=2"),
        (
            redirect_to(host="www.example.com"),
            request("/a%20b", "q=a%2Bb&flag"),
            "http://www.example.com/a%20b?q=a%2Bb&flag",  # percent-encoding kept as received
        ),
        (
            redirect_to(host="www.example.com"),
            request("/x", host="Old.Example.com:80"),
            "http://www.example.com/x",
        ),
    ],
)
def test_redirect_location(redirect: Redirect, req: RuleRequest, location: str) -> None:
    assert redirect.location(req) == location


def test_redirect_location_without_raw_query() -> None:
    req = RuleRequest(
        "GET", "/p", (("a", "1"), ("b", "2")), (("host", "h.com"),), "::1", "http", 80
    )
    assert redirect_to(protocol="HTTPS", port="443").location(req) == "https://h.com/p?a=1&b=2"


@pytest.mark.parametrize(
    ("matcher", "accepted", "refused"),
    [
        ("200", [200], [201, 204, 299, 500]),
        ("200,204", [200, 204], [201, 202]),
        ("200-299", [200, 250, 299], [199, 300, 404]),
        ("200,300-399", [200, 302, 399], [201, 400]),
    ],
)
def test_health_check_accepts(matcher: str, accepted: list[int], refused: list[int]) -> None:
    check = HealthCheck(matcher=matcher)
    assert [check.accepts(status) for status in accepted] == [True] * len(accepted)
    assert [check.accepts(status) for status in refused] == [False] * len(refused)


def test_health_check_refuses_a_bad_matcher() -> None:
    with pytest.raises(ValueError, match="'2xx' is not a status code"):
        HealthCheck(matcher="2xx")


# ---------------------------------------------------------------------------------------------
# Reading the file

DOC_EXAMPLE = """\
# Target groups: a Lambda function, or an HTTP server (the legacy app).
[targets.account]
handler = "flask_example:handler"    # "module:attr", "path/to/file.py:attr" or Lambda's "file.function"
multi_value_headers = true           # the target group attribute lambda.multi_value_headers.enabled
timeout = 30                         # the function's timeout, seconds
concurrency = 10                     # environments at most at once (below: how a target runs)

[targets.account.health_check]       # optional; off by default, as on AWS for Lambda targets
enabled = true
path = "/health"
interval = 35                        # AWS defaults for Lambda targets
timeout = 30
healthy_threshold = 5
unhealthy_threshold = 2
matcher = "200"                      # "200", "200,204" or "200-299"

[targets.legacy]
url = "http://127.0.0.1:9000"        # proxied, status, headers and body intact

[[rules]]
priority = 10
conditions = [
  { field = "path-pattern", values = ["/account", "/account/*"] },
]
actions = [{ type = "forward", target_group = "account" }]

[[rules]]
priority = 20
conditions = [
  { field = "host-header", values = ["old.example.com"] },
]
actions = [{ type = "redirect", host = "www.example.com", status_code = "HTTP_301" }]

[[rules]]
priority = 30
conditions = [
  { field = "http-header", http_header_name = "User-Agent", values = ["*BadBot*"] },
]
actions = [{ type = "fixed-response", status_code = "403", content_type = "text/plain", message_body = "Go away" }]

[default_action]
type = "forward"
target_group = "legacy"
"""


def test_docs_example_loads(tmp_path: Path) -> None:
    doc = (Path(__file__).parents[2] / "docs" / "emulator.md").read_text()
    assert DOC_EXAMPLE in doc, "the example in docs/emulator.md changed: copy it here again"
    path = tmp_path / "rules.toml"
    path.write_text(DOC_EXAMPLE)
    config = load_config(path)
    assert config == ListenerConfig(
        targets={
            "account": Target(
                "account",
                handler="flask_example:handler",
                multi_value_headers=True,
                timeout=30,
                health_check=HealthCheck(enabled=True, path="/health"),
                concurrency=10,
            ),
            "legacy": Target("legacy", url="http://127.0.0.1:9000"),
        },
        rules=(
            Rule(
                10,
                (Condition("path-pattern", ("/account", "/account/*")),),
                Forward((("account", 1),)),
            ),
            Rule(
                20,
                (Condition("host-header", ("old.example.com",)),),
                Redirect(301, host="www.example.com"),
            ),
            Rule(
                30,
                (Condition("http-header", ("*BadBot*",), http_header_name="User-Agent"),),
                FixedResponse(403, "text/plain", "Go away"),
            ),
        ),
        default_action=Forward((("legacy", 1),)),
        source=str(path),
    )
    assert config.select(request("/account"))[1] == Forward((("account", 1),))
    assert config.select(request("/accounts"))[1] == Forward((("legacy", 1),))
    rule, action = config.select(request("/x", "y=1", host="OLD.example.com"))
    assert rule is config.rules[1]
    assert isinstance(action, Redirect)
    assert action.location(request("/x", "y=1", host="old.example.com")) == (
        "http://www.example.com/x?y=1"
    )
    bot = request("/account", headers=(("user-agent", "badbot/2"),))
    assert config.select(bot)[1] == Forward((("account", 1),))  # priority 10 comes first
    assert config.select(request("/", headers=(("user-agent", "badbot/2"),)))[1] == (
        FixedResponse(403, "text/plain", "Go away")
    )


def test_load_config_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nope.toml"
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert str(caught.value) == f"{path}: no such file"


def test_load_config_invalid_toml(tmp_path: Path) -> None:
    text = "[default_action]\ntype forward\n"
    path = tmp_path / "rules.toml"
    path.write_text(text)
    with pytest.raises(tomllib.TOMLDecodeError) as toml_error:
        tomllib.loads(text)
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert str(caught.value) == f"{path}: invalid TOML: {toml_error.value}"
    assert "line 2" in str(caught.value)


def test_load_config_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "rules.toml"
    path.write_bytes(b"# caf\xe9\n")
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert str(caught.value) == f"{path}: not UTF-8 (invalid continuation byte at byte 5)"


def test_load_config_unreadable(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(tmp_path)
    assert str(caught.value) == f"{tmp_path}: cannot read: Is a directory"


def test_load_config_names_toml_types(tmp_path: Path) -> None:
    path = tmp_path / "rules.toml"
    path.write_text(
        '[targets.app]\nhandler = "app:handler"\ntimeout = 1979-05-27\n'
        '[default_action]\ntype = "forward"\ntarget_group = "app"\n'
    )
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert str(caught.value) == (
        f"{path}: targets.app.timeout: must be a number of seconds, not date"
    )


def test_load_config_https_listener_refuses_redirect_to_http(tmp_path: Path) -> None:
    path = tmp_path / "rules.toml"
    path.write_text(
        '[default_action]\ntype = "redirect"\nprotocol = "HTTP"\nstatus_code = "HTTP_302"\n'
    )
    assert load_config(path).default_action == Redirect(302, protocol="HTTP")
    with pytest.raises(ConfigError) as caught:
        load_config(path, listener_protocol="HTTPS")
    assert str(caught.value) == (
        f"{path}: default_action.protocol: a redirect from HTTPS to HTTP is not allowed"
    )


# ---------------------------------------------------------------------------------------------
# Validation: one case per error, the whole message


BASE: dict[str, Any] = {
    "targets": {
        "app": {"handler": "app:handler"},
        "legacy": {"url": "http://127.0.0.1:9000"},
    },
    "rules": [
        {
            "priority": 10,
            "conditions": [{"field": "path-pattern", "values": ["/app/*"]}],
            "actions": [{"type": "forward", "target_group": "app"}],
        },
        {
            "priority": 20,
            "conditions": [{"field": "host-header", "values": ["old.example.com"]}],
            "actions": [{"type": "redirect", "host": "www.example.com", "status_code": "HTTP_301"}],
        },
    ],
    "default_action": {"type": "forward", "target_group": "legacy"},
}


def test_base_config_is_valid() -> None:
    config = parse_config(copy.deepcopy(BASE), source="rules.toml")
    assert [rule.priority for rule in config.rules] == [10, 20]


def at(data: dict[str, Any], where: tuple[Any, ...]) -> Any:
    for key in where:
        data = data[key]
    return data


def with_(where: tuple[Any, ...], value: Any) -> dict[str, Any]:
    data = copy.deepcopy(BASE)
    at(data, where[:-1])[where[-1]] = value
    return data


def without(where: tuple[Any, ...]) -> dict[str, Any]:
    data = copy.deepcopy(BASE)
    del at(data, where[:-1])[where[-1]]
    return data


R1 = "rules.toml: rules[1] (priority 20)"
C0 = ("rules", 1, "conditions", 0)
C = ("rules", 1, "conditions")
A0 = ("rules", 1, "actions", 0)
A = ("rules", 1, "actions")
PATHS = {"field": "path-pattern", "values": ["/x"]}
REDIRECT = {"type": "redirect", "status_code": "HTTP_301"}
FIXED = {"type": "fixed-response", "status_code": "200"}
HC = ("targets", "app", "health_check")


INVALID = [
    # the file
    pytest.param(
        with_(("rule",), []),
        "rules.toml: unknown key 'rule' (allowed: default_action, rules, targets)",
        id="unknown-top-key",
    ),
    pytest.param(
        without(("default_action",)), "rules.toml: 'default_action' is required", id="no-default"
    ),
    pytest.param(
        with_(("targets",), []),
        "rules.toml: targets: must be a table, not an array",
        id="targets-type",
    ),
    pytest.param(
        with_(("rules",), {}), "rules.toml: rules: must be an array, not a table", id="rules-type"
    ),
    # targets
    pytest.param(
        with_(("targets", "app", "url"), "http://localhost:1"),
        "rules.toml: targets.app: exactly one of 'handler' or 'url' is required",
        id="handler-and-url",
    ),
    pytest.param(
        with_(("targets", "app"), {}),
        "rules.toml: targets.app: exactly one of 'handler' or 'url' is required",
        id="no-handler-no-url",
    ),
    pytest.param(
        with_(("targets", "app", "handler"), ""),
        "rules.toml: targets.app.handler: must be 'module:attr', 'path/to/file.py:attr' or 'file.function'",
        id="empty-handler",
    ),
    pytest.param(
        with_(("targets", "app", "handler"), 42),
        "rules.toml: targets.app.handler: must be a string, not an integer",
        id="handler-type",
    ),
    pytest.param(
        with_(("targets", "app", "multi_value_header"), True),
        "rules.toml: targets.app: unknown key 'multi_value_header' (allowed: concurrency, environments, handler, health_check, multi_value_headers, timeout, url)",
        id="target-typo",
    ),
    pytest.param(
        with_(("targets", "app", "multi_value_headers"), "yes"),
        "rules.toml: targets.app.multi_value_headers: must be true or false, not a string",
        id="multi-value-type",
    ),
    pytest.param(
        with_(("targets", "legacy", "multi_value_headers"), True),
        "rules.toml: targets.legacy.multi_value_headers: applies to Lambda targets ('handler') only",
        id="multi-value-on-url",
    ),
    pytest.param(
        with_(("targets", "legacy", "concurrency"), 4),
        "rules.toml: targets.legacy.concurrency: applies to Lambda targets ('handler') only",
        id="concurrency-on-url",
    ),
    pytest.param(
        with_(("targets", "legacy", "environments"), "process"),
        "rules.toml: targets.legacy.environments: applies to Lambda targets ('handler') only",
        id="environments-on-url",
    ),
    pytest.param(
        with_(("targets", "app", "environments"), "processes"),
        "rules.toml: targets.app.environments: must be 'process' or 'thread', not 'processes'",
        id="environments-value",
    ),
    pytest.param(
        with_(("targets", "app", "concurrency"), 0),
        "rules.toml: targets.app.concurrency: must be from 1 to 1000, not 0",
        id="concurrency-range",
    ),
    pytest.param(
        with_(
            ("targets", "app"),
            {"handler": "app:handler", "environments": "thread", "concurrency": 2},
        ),
        "rules.toml: targets.app.concurrency: applies to environments = 'process' only (a 'thread' target runs one invocation at a time)",
        id="concurrency-in-thread",
    ),
    pytest.param(
        with_(("targets", "legacy", "url"), "ftp://127.0.0.1"),
        "rules.toml: targets.legacy.url: 'ftp://127.0.0.1': must be http(s)://host[:port][/prefix]",
        id="url-scheme",
    ),
    pytest.param(
        with_(("targets", "legacy", "url"), "http:///x"),
        "rules.toml: targets.legacy.url: 'http:///x': must be http(s)://host[:port][/prefix]",
        id="url-no-host",
    ),
    pytest.param(
        with_(("targets", "legacy", "url"), "http://h/app?x=1"),
        "rules.toml: targets.legacy.url: 'http://h/app?x=1': must not have a query or a fragment",
        id="url-query",
    ),
    pytest.param(
        with_(("targets", "legacy", "url"), "http://u:p@h"),
        "rules.toml: targets.legacy.url: 'http://u:p@h': must not carry a user name or password",
        id="url-userinfo",
    ),
    pytest.param(
        with_(("targets", "legacy", "url"), "http://h:99999"),
        "rules.toml: targets.legacy.url: 'http://h:99999': Port out of range 0-65535",
        id="url-port",
    ),
    pytest.param(
        with_(("targets", "legacy", "url"), "http://h/a b"),
        "rules.toml: targets.legacy.url: 'http://h/a b': must not contain white space",
        id="url-space",
    ),
    pytest.param(
        with_(("targets", "app", "timeout"), 0),
        "rules.toml: targets.app.timeout: must be from 1 to 900 seconds, not 0",
        id="timeout-low",
    ),
    pytest.param(
        with_(("targets", "app", "timeout"), 900.5),
        "rules.toml: targets.app.timeout: must be from 1 to 900 seconds, not 900.5",
        id="timeout-high",
    ),
    pytest.param(
        with_(("targets", "app", "timeout"), True),
        "rules.toml: targets.app.timeout: must be a number of seconds, not a boolean",
        id="timeout-type",
    ),
    pytest.param(
        with_(HC, {"enabled": True, "intervall": 10}),
        "rules.toml: targets.app.health_check: unknown key 'intervall' (allowed: enabled, healthy_threshold, interval, matcher, path, timeout, unhealthy_threshold)",
        id="hc-typo",
    ),
    pytest.param(
        with_(HC, {"path": "health"}),
        "rules.toml: targets.app.health_check.path: must start with '/'",
        id="hc-path",
    ),
    pytest.param(
        with_(HC, {"interval": 4, "timeout": 2}),
        "rules.toml: targets.app.health_check.interval: must be from 5 to 300 seconds, not 4",
        id="hc-interval",
    ),
    pytest.param(
        with_(HC, {"timeout": 1}),
        "rules.toml: targets.app.health_check.timeout: must be from 2 to 120 seconds, not 1",
        id="hc-timeout",
    ),
    pytest.param(
        with_(HC, {"interval": 10}),
        "rules.toml: targets.app.health_check.timeout: must be less than the interval (10 seconds)",
        id="hc-timeout-vs-interval",
    ),
    pytest.param(
        with_(HC, {"healthy_threshold": 11}),
        "rules.toml: targets.app.health_check.healthy_threshold: must be from 2 to 10, not 11",
        id="hc-healthy",
    ),
    pytest.param(
        with_(HC, {"unhealthy_threshold": 1}),
        "rules.toml: targets.app.health_check.unhealthy_threshold: must be from 2 to 10, not 1",
        id="hc-unhealthy",
    ),
    pytest.param(
        with_(HC, {"matcher": "2xx"}),
        'rules.toml: targets.app.health_check.matcher: \'2xx\' is not a status code, a list ("200,202") or a range ("200-299")',
        id="hc-matcher-syntax",
    ),
    pytest.param(
        with_(HC, {"matcher": "200-500"}),
        "rules.toml: targets.app.health_check.matcher: '200-500': codes must be from 200 to 499, the range in order",
        id="hc-matcher-range",
    ),
    pytest.param(
        with_(HC, {"matcher": "299-200"}),
        "rules.toml: targets.app.health_check.matcher: '299-200': codes must be from 200 to 499, the range in order",
        id="hc-matcher-order",
    ),
    # rules
    pytest.param(
        with_(("rules", 1), "x"),
        "rules.toml: rules[1]: must be a table, not a string",
        id="rule-type",
    ),
    pytest.param(
        without(("rules", 1, "priority")),
        "rules.toml: rules[1]: 'priority' is required",
        id="no-priority",
    ),
    pytest.param(
        with_(("rules", 1, "priority"), 0),
        "rules.toml: rules[1]: priority: must be from 1 to 50000, not 0",
        id="priority-low",
    ),
    pytest.param(
        with_(("rules", 1, "priority"), 50001),
        "rules.toml: rules[1]: priority: must be from 1 to 50000, not 50001",
        id="priority-high",
    ),
    pytest.param(
        with_(("rules", 1, "priority"), "twenty"),
        "rules.toml: rules[1]: priority: must be an integer, not 'twenty'",
        id="priority-type",
    ),
    pytest.param(
        with_(("rules", 1, "priority"), 10),
        "rules.toml: rules[1] (priority 10): priority: 10 is already used by rules[0]",
        id="priority-duplicate",
    ),
    pytest.param(
        with_(("rules", 1, "action"), {}),
        f"{R1}: unknown key 'action' (allowed: actions, conditions, priority)",
        id="rule-typo",
    ),
    pytest.param(without(C), f"{R1}: 'conditions' is required", id="no-conditions"),
    pytest.param(
        with_(C, []),
        f"{R1}: conditions: a rule needs at least one condition (use default_action otherwise)",
        id="empty-conditions",
    ),
    pytest.param(without(A), f"{R1}: 'actions' is required", id="no-actions"),
    pytest.param(
        with_(A, []),
        f"{R1}: actions: one action (forward, redirect or fixed-response), or an authenticate action "
        "and then one, is required, found 0",
        id="zero-actions",
    ),
    pytest.param(
        with_(A, [FIXED, FIXED]),
        f"{R1}: actions: one action (forward, redirect or fixed-response), or an authenticate action "
        "and then one, is required, found 2",
        id="two-actions",
    ),
    # conditions
    pytest.param(
        with_(C0, "x"), f"{R1}: conditions[0]: must be a table, not a string", id="condition-type"
    ),
    pytest.param(
        with_(C0, {"values": ["/x"]}), f"{R1}: conditions[0]: 'field' is required", id="no-field"
    ),
    pytest.param(
        with_(C0, {"field": "path", "values": ["/x"]}),
        f"{R1}: conditions[0].field: 'path' is not one of path-pattern, host-header, http-header, http-request-method, query-string, source-ip",
        id="unknown-field",
    ),
    pytest.param(
        with_(C0, {"field": "path-pattern", "value": ["/x"]}),
        f"{R1}: conditions[0]: unknown key 'value' (allowed: field, values)",
        id="condition-typo",
    ),
    pytest.param(
        with_(C0, {"field": "path-pattern", "values": ["/x"], "http_header_name": "X"}),
        f"{R1}: conditions[0]: unknown key 'http_header_name' (allowed: field, values)",
        id="header-name-elsewhere",
    ),
    pytest.param(
        with_(C0, {"field": "path-pattern"}),
        f"{R1}: conditions[0]: 'values' is required",
        id="no-values",
    ),
    pytest.param(
        with_(C0, {"field": "host-header", "values": []}),
        "rules.toml: rules[1] (priority 20): conditions[0]: 'values' must not be empty",  # the doc's example
        id="empty-values",
    ),
    pytest.param(
        with_(C0, {"field": "path-pattern", "values": "/x"}),
        f"{R1}: conditions[0].values: must be an array, not a string",
        id="values-type",
    ),
    pytest.param(
        with_(C0, {"field": "path-pattern", "values": ["/x", ""]}),
        f"{R1}: conditions[0].values[1]: must not be empty",
        id="empty-value",
    ),
    pytest.param(
        with_(C0, {"field": "path-pattern", "values": ["/a", "/b", "/" + "x" * 128]}),
        "rules.toml: rules[1] (priority 20): conditions[0].values[2]: pattern longer than 128 characters",
        id="pattern-too-long",
    ),
    pytest.param(
        with_(C0, {"field": "path-pattern", "values": ["/a b%20[x]"]}),
        f"{R1}: conditions[0].values[0]: '/a b%20[x]': character(s) ' ' '%' '[' ']' not allowed in a path pattern (A-Z a-z 0-9 _ - . $ / ~ \" ' @ : + & * ?)",
        id="path-pattern-characters",
    ),
    pytest.param(
        with_(C, [PATHS, {"field": "http-request-method", "values": ["GET"]}, PATHS]),
        f"{R1}: conditions[2]: only one 'path-pattern' condition per rule (conditions[0] is one)",
        id="two-path-patterns",
    ),
    pytest.param(
        with_(
            C,
            [
                {"field": "host-header", "values": ["a.example.com"]},
                {"field": "host-header", "values": ["b.example.com"]},
            ],
        ),
        f"{R1}: conditions[1]: only one 'host-header' condition per rule (conditions[0] is one)",
        id="two-host-headers",
    ),
    pytest.param(
        with_(
            C,
            [
                {"field": "source-ip", "values": ["10.0.0.0/8"]},
                {"field": "source-ip", "values": ["10.0.0.0/8"]},
            ],
        ),
        f"{R1}: conditions[1]: only one 'source-ip' condition per rule (conditions[0] is one)",
        id="two-source-ips",
    ),
    pytest.param(
        with_(
            C,
            [
                {"field": "http-request-method", "values": ["GET"]},
                {"field": "http-request-method", "values": ["POST"]},
            ],
        ),
        f"{R1}: conditions[1]: only one 'http-request-method' condition per rule (conditions[0] is one)",
        id="two-methods",
    ),
    pytest.param(
        with_(
            C,
            [
                {"field": "path-pattern", "values": ["/a", "/b", "/c"]},
                {"field": "query-string", "values": [{"value": "1"}, {"key": "k", "value": "2"}]},
                {"field": "http-header", "http_header_name": "X-A", "values": ["z"]},
            ],
        ),
        f"{R1}: conditions: 6 condition values; a rule may have at most 5",
        id="too-many-values",
    ),
    pytest.param(
        with_(C0, {"field": "http-header", "values": ["x"]}),
        f"{R1}: conditions[0]: 'http_header_name' is required",
        id="no-header-name",
    ),
    pytest.param(
        with_(C0, {"field": "http-header", "http_header_name": "X" * 41, "values": ["x"]}),
        f"{R1}: conditions[0].http_header_name: longer than 40 characters",
        id="header-name-too-long",
    ),
    pytest.param(
        with_(C0, {"field": "http-header", "http_header_name": "User Agent", "values": ["x"]}),
        f"{R1}: conditions[0].http_header_name: 'User Agent' is not a header name (RFC 7230 token, no '*')",
        id="header-name-token",
    ),
    pytest.param(
        with_(C0, {"field": "http-header", "http_header_name": "X-*", "values": ["x"]}),
        f"{R1}: conditions[0].http_header_name: 'X-*' is not a header name (RFC 7230 token, no '*')",
        id="header-name-wildcard",
    ),
    pytest.param(
        with_(C0, {"field": "http-header", "http_header_name": "HOST", "values": ["x"]}),
        f"{R1}: conditions[0].http_header_name: use a 'host-header' condition for Host",
        id="header-name-host",
    ),
    pytest.param(
        with_(C0, {"field": "http-header", "http_header_name": "X-A", "values": ["x" * 129]}),
        f"{R1}: conditions[0].values[0]: pattern longer than 128 characters",
        id="header-value-too-long",
    ),
    pytest.param(
        with_(C0, {"field": "http-request-method", "values": ["GET", "get"]}),
        f"{R1}: conditions[0].values[1]: 'get': a method is made of A-Z, '-' and '_' (case-sensitive)",
        id="method-characters",
    ),
    pytest.param(
        with_(C0, {"field": "http-request-method", "values": ["A" * 41]}),
        f"{R1}: conditions[0].values[0]: longer than 40 characters",
        id="method-too-long",
    ),
    pytest.param(
        with_(C0, {"field": "host-header", "values": ["localhost"]}),
        f"{R1}: conditions[0].values[0]: 'localhost': must contain a '.' and only letters after the last '.'",
        id="host-no-dot",
    ),
    pytest.param(
        with_(C0, {"field": "host-header", "values": ["example.*"]}),
        f"{R1}: conditions[0].values[0]: 'example.*': must contain a '.' and only letters after the last '.'",
        id="host-wildcard-tld",
    ),
    pytest.param(
        with_(C0, {"field": "host-header", "values": ["ex_ample.com"]}),
        f"{R1}: conditions[0].values[0]: 'ex_ample.com': a host pattern is made of A-Z a-z 0-9 - . * ? only",
        id="host-characters",
    ),
    pytest.param(
        with_(C0, {"field": "source-ip", "values": ["10.0.0.1"]}),
        f"{R1}: conditions[0].values[0]: '10.0.0.1' is not a CIDR block (e.g. 192.0.2.0/24, 2001:db8::/32)",
        id="source-ip-no-prefix",
    ),
    pytest.param(
        with_(C0, {"field": "source-ip", "values": ["10.0.0.300/8"]}),
        f"{R1}: conditions[0].values[0]: '10.0.0.300/8' is not a CIDR block: '10.0.0.300/8' does not appear to be an IPv4 or IPv6 network",
        id="source-ip-invalid",
    ),
    pytest.param(
        with_(C0, {"field": "source-ip", "values": ["2001:db8::1/32"]}),
        f"{R1}: conditions[0].values[0]: '2001:db8::1/32' is not a CIDR block: 2001:db8::1/32 has host bits set",
        id="source-ip-host-bits",
    ),
    pytest.param(
        with_(C0, {"field": "source-ip", "values": ["255.255.255.255/32"]}),
        f"{R1}: conditions[0].values[0]: 255.255.255.255/32 is not allowed",
        id="source-ip-broadcast",
    ),
    pytest.param(
        with_(C0, {"field": "query-string", "values": ["version=v1"]}),
        f"{R1}: conditions[0].values[0]: must be a table, not a string",
        id="query-pair-type",
    ),
    pytest.param(
        with_(C0, {"field": "query-string", "values": [{"key": "version"}]}),
        f"{R1}: conditions[0].values[0]: 'value' is required",
        id="query-no-value",
    ),
    pytest.param(
        with_(C0, {"field": "query-string", "values": [{"key": "k", "val": "v"}]}),
        f"{R1}: conditions[0].values[0]: unknown key 'val' (allowed: key, value)",
        id="query-typo",
    ),
    pytest.param(
        with_(C0, {"field": "query-string", "values": [{"key": "", "value": "v"}]}),
        f"{R1}: conditions[0].values[0].key: must not be empty (leave 'key' out to match any key)",
        id="query-empty-key",
    ),
    pytest.param(
        with_(C0, {"field": "query-string", "values": [{"value": "v"}, {"value": ""}]}),
        f"{R1}: conditions[0].values[1].value: must not be empty",
        id="query-empty-value",
    ),
    pytest.param(
        with_(C0, {"field": "query-string", "values": [{"key": "k" * 129, "value": "v"}]}),
        f"{R1}: conditions[0].values[0].key: pattern longer than 128 characters",
        id="query-key-too-long",
    ),
    pytest.param(
        with_(C0, {"field": "query-string", "values": [{"value": "v" * 129}]}),
        f"{R1}: conditions[0].values[0].value: pattern longer than 128 characters",
        id="query-value-too-long",
    ),
    # actions
    pytest.param(
        with_(A, ["forward"]), f"{R1}: actions[0]: must be a table, not a string", id="action-type"
    ),
    pytest.param(
        with_(A0, {"target_group": "app"}),
        f"{R1}: actions[0]: 'type' is required (forward, redirect or fixed-response)",
        id="no-action-type",
    ),
    pytest.param(
        with_(A0, {"type": "authenticate-oidc"}),
        f"{R1}: actions[0].type: 'authenticate-oidc' signs users in and must be followed by the "
        "action that answers (forward, redirect or fixed-response)",
        id="unknown-action-type",
    ),
    pytest.param(
        with_(A0, {"type": "forward", "target_group": "app", "stickiness": True}),
        f"{R1}: actions[0]: unknown key 'stickiness' (allowed: target_group, target_groups, type)",
        id="forward-typo",
    ),
    pytest.param(
        with_(A0, {"type": "forward", "target_group": "nope"}),
        f"{R1}: actions[0].target_group: unknown target 'nope' (targets: app, legacy)",
        id="forward-unknown-target",
    ),
    pytest.param(
        with_(A0, {"type": "forward"}),
        f"{R1}: actions[0]: exactly one of 'target_group' or 'target_groups' is required",
        id="forward-no-target",
    ),
    pytest.param(
        with_(A0, {"type": "forward", "target_group": "app", "target_groups": [{"name": "app"}]}),
        f"{R1}: actions[0]: exactly one of 'target_group' or 'target_groups' is required",
        id="forward-both",
    ),
    pytest.param(
        with_(A0, {"type": "forward", "target_groups": []}),
        f"{R1}: actions[0].target_groups: 1 to 5 target groups, not 0",
        id="forward-no-groups",
    ),
    pytest.param(
        with_(A0, {"type": "forward", "target_groups": [{"name": "app", "weight": 1}] * 6}),
        f"{R1}: actions[0].target_groups: 1 to 5 target groups, not 6",
        id="forward-six-groups",
    ),
    pytest.param(
        with_(
            A0,
            {
                "type": "forward",
                "target_groups": [{"name": "app", "weight": 0}, {"name": "legacy", "weight": 0}],
            },
        ),
        f"{R1}: actions[0].target_groups: at least one weight must be more than 0",
        id="forward-zero-weights",
    ),
    pytest.param(
        with_(
            A0,
            {
                "type": "forward",
                "target_groups": [{"name": "app", "weight": 1000}, {"name": "legacy", "weight": 1}],
            },
        ),
        f"{R1}: actions[0].target_groups[0].weight: must be from 0 to 999, not 1000",
        id="forward-weight-high",
    ),
    pytest.param(
        with_(
            A0,
            {
                "type": "forward",
                "target_groups": [{"name": "app", "weight": 1}, {"name": "legacy"}],
            },
        ),
        f"{R1}: actions[0].target_groups[1]: 'weight' is required",
        id="forward-weight-missing",
    ),
    pytest.param(
        with_(
            A0,
            {
                "type": "forward",
                "target_groups": [{"name": "app", "weight": 1}, {"name": "app", "weight": 2}],
            },
        ),
        f"{R1}: actions[0].target_groups[1].name: target 'app' is listed twice",
        id="forward-duplicate-group",
    ),
    pytest.param(
        with_(A0, {"type": "forward", "target_groups": [{"name": "nope"}]}),
        f"{R1}: actions[0].target_groups[0].name: unknown target 'nope' (targets: app, legacy)",
        id="forward-groups-unknown-target",
    ),
    pytest.param(
        with_(A0, {"type": "redirect", "host": "h.com"}),
        f"{R1}: actions[0]: 'status_code' is required",
        id="redirect-no-status",
    ),
    pytest.param(
        with_(A0, {"type": "redirect", "host": "h.com", "status_code": "301"}),
        f"{R1}: actions[0].status_code: must be 'HTTP_301' or 'HTTP_302', not '301'",
        id="redirect-status",
    ),
    pytest.param(
        with_(A0, {"type": "redirect", "host": "h.com", "status_code": "HTTP_301", "code": 1}),
        f"{R1}: actions[0]: unknown key 'code' (allowed: host, path, port, protocol, query, status_code, type)",
        id="redirect-typo",
    ),
    pytest.param(
        with_(A0, {**REDIRECT, "query": "x=1"}),
        f"{R1}: actions[0]: a redirect must change at least one of protocol, host, port or path",
        id="redirect-no-change",
    ),
    pytest.param(
        with_(A0, {**REDIRECT, "host": "#{host}", "path": "/#{path}"}),
        f"{R1}: actions[0]: a redirect must change at least one of protocol, host, port or path",
        id="redirect-defaults-written-out",
    ),
    pytest.param(
        with_(A0, {**REDIRECT, "protocol": "https"}),
        f"{R1}: actions[0].protocol: must be 'HTTP', 'HTTPS' or '#{{protocol}}', not 'https'",
        id="redirect-protocol",
    ),
    pytest.param(
        with_(A0, {**REDIRECT, "protocol": "#{host}"}),
        f"{R1}: actions[0].protocol: placeholder #{{host}} is not allowed here (allowed: #{{protocol}})",
        id="redirect-protocol-placeholder",
    ),
    pytest.param(
        with_(A0, {**REDIRECT, "host": "#{path}.example.com"}),
        f"{R1}: actions[0].host: placeholder #{{path}} is not allowed here (allowed: #{{host}})",
        id="redirect-host-placeholder",
    ),
    pytest.param(
        with_(A0, {**REDIRECT, "path": "/#{query}"}),
        f"{R1}: actions[0].path: placeholder #{{query}} is not allowed here (allowed: #{{host}}, #{{port}}, #{{path}})",
        id="redirect-path-placeholder",
    ),
    pytest.param(
        with_(A0, {**REDIRECT, "port": "#{host}"}),
        f"{R1}: actions[0].port: placeholder #{{host}} is not allowed here (allowed: #{{port}})",
        id="redirect-port-placeholder",
    ),
    pytest.param(
        with_(A0, {**REDIRECT, "path": "/#{file}"}),
        f"{R1}: actions[0].path: unknown placeholder '#{{file}}'",
        id="redirect-unknown-placeholder",
    ),
    pytest.param(
        with_(A0, {**REDIRECT, "host": ""}),
        f"{R1}: actions[0].host: must not be empty",
        id="redirect-empty-host",
    ),
    pytest.param(
        with_(A0, {**REDIRECT, "host": "h.com/x"}),
        f"{R1}: actions[0].host: 'h.com/x' is not a host name (A-Z a-z 0-9 - . _)",
        id="redirect-host-characters",
    ),
    pytest.param(
        with_(A0, {**REDIRECT, "host": "h" * 125 + ".com"}),
        f"{R1}: actions[0].host: longer than 128 characters",
        id="redirect-host-too-long",
    ),
    pytest.param(
        with_(A0, {**REDIRECT, "port": "0"}),
        f"{R1}: actions[0].port: must be from 1 to 65535 or '#{{port}}', not '0'",
        id="redirect-port-zero",
    ),
    pytest.param(
        with_(A0, {**REDIRECT, "port": 65536}),
        f"{R1}: actions[0].port: must be from 1 to 65535 or '#{{port}}', not '65536'",
        id="redirect-port-high",
    ),
    pytest.param(
        with_(A0, {**REDIRECT, "path": "new"}),
        f"{R1}: actions[0].path: 'new' must start with '/'",
        id="redirect-path-slash",
    ),
    pytest.param(
        with_(A0, {**REDIRECT, "path": "/a?b"}),
        f"{R1}: actions[0].path: '/a?b': no white space, '?' or '#' in a path",
        id="redirect-path-characters",
    ),
    pytest.param(
        with_(A0, {**REDIRECT, "path": "/" + "p" * 128}),
        f"{R1}: actions[0].path: longer than 128 characters",
        id="redirect-path-too-long",
    ),
    pytest.param(
        with_(A0, {**REDIRECT, "host": "h.com", "query": "?a=1"}),
        f"{R1}: actions[0].query: '?a=1': leave out the leading '?', it is added for you",
        id="redirect-query-question-mark",
    ),
    pytest.param(
        with_(A0, {**REDIRECT, "host": "h.com", "query": "a=1#top"}),
        f"{R1}: actions[0].query: 'a=1#top': no white space or '#' in a query",
        id="redirect-query-fragment",
    ),
    pytest.param(
        with_(A0, {**REDIRECT, "host": "h.com", "query": "q" * 129}),
        f"{R1}: actions[0].query: longer than 128 characters",
        id="redirect-query-too-long",
    ),
    pytest.param(
        with_(A0, {"type": "fixed-response"}),
        f"{R1}: actions[0]: 'status_code' is required",
        id="fixed-no-status",
    ),
    pytest.param(
        with_(A0, {**FIXED, "status_code": "302"}),
        f"{R1}: actions[0].status_code: must be a 2XX, 4XX or 5XX code, not '302'",
        id="fixed-status-3xx",
    ),
    pytest.param(
        with_(A0, {**FIXED, "status_code": 600}),
        f"{R1}: actions[0].status_code: must be a 2XX, 4XX or 5XX code, not '600'",
        id="fixed-status-600",
    ),
    pytest.param(
        with_(A0, {**FIXED, "status_code": 20.0}),
        f"{R1}: actions[0].status_code: must be a string, not a float",
        id="fixed-status-type",
    ),
    pytest.param(
        with_(A0, {**FIXED, "content_type": "text/xml"}),
        f"{R1}: actions[0].content_type: 'text/xml' is not one of text/plain, text/css, text/html, application/javascript, application/json",
        id="fixed-content-type",
    ),
    pytest.param(
        with_(A0, {**FIXED, "message_body": "x" * 1025}),
        f"{R1}: actions[0].message_body: longer than 1024 characters",
        id="fixed-body-too-long",
    ),
    pytest.param(
        with_(A0, {**FIXED, "body": "x"}),
        f"{R1}: actions[0]: unknown key 'body' (allowed: content_type, message_body, status_code, type)",
        id="fixed-typo",
    ),
    # the default action
    pytest.param(
        with_(("default_action",), {"type": "forward", "target_group": "legacyy"}),
        "rules.toml: default_action.target_group: unknown target 'legacyy' (targets: app, legacy)",
        id="default-unknown-target",
    ),
    pytest.param(
        with_(("default_action",), {"target_group": "legacy"}),
        "rules.toml: default_action: 'type' is required (forward, redirect or fixed-response)",
        id="default-no-type",
    ),
    pytest.param(
        with_(("default_action",), [{"type": "forward", "target_group": "legacy"}]),
        "rules.toml: default_action: must be a table, not an array",
        id="default-type",
    ),
]


@pytest.mark.parametrize(("data", "message"), INVALID)
def test_invalid_config(data: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config(data, source="rules.toml")
    assert str(caught.value) == message


@pytest.mark.parametrize(
    ("action", "expected"),
    [
        ({**FIXED, "status_code": 404}, FixedResponse(404)),
        ({**FIXED, "status_code": "503", "message_body": ""}, FixedResponse(503)),
        (
            {**FIXED, "content_type": "application/json", "message_body": "{}"},
            FixedResponse(200, "application/json", "{}"),
        ),
        ({**REDIRECT, "port": 8443}, Redirect(301, port="8443")),
        (
            {**REDIRECT, "protocol": "HTTPS", "port": "443"},
            Redirect(301, protocol="HTTPS", port="443"),
        ),
        (
            {
                **REDIRECT,
                "status_code": "HTTP_302",
                "path": "/#{host}/#{port}/#{path}",
                "query": "#{protocol}#{host}#{port}#{path}#{query}?",
            },
            Redirect(
                302,
                path="/#{host}/#{port}/#{path}",
                query="#{protocol}#{host}#{port}#{path}#{query}?",
            ),
        ),
        ({"type": "forward", "target_groups": [{"name": "app"}]}, Forward((("app", 1),))),
        (
            {
                "type": "forward",
                "target_groups": [{"name": "app", "weight": 999}, {"name": "legacy", "weight": 0}],
            },
            Forward((("app", 999), ("legacy", 0))),
        ),
    ],
)
def test_valid_actions(action: dict[str, Any], expected: Any) -> None:
    config = parse_config(with_(A0, action), source="rules.toml")
    assert config.rules[1].action == expected


def test_valid_condition_shapes_and_targets() -> None:
    data = with_(
        C,
        [
            {"field": "http-header", "http_header_name": "X-Forwarded-For", "values": ["10.*"]},
            {"field": "http-header", "http_header_name": "X-Env", "values": ["prod"]},
            {"field": "query-string", "values": [{"key": "v", "value": "1"}]},
            {"field": "source-ip", "values": ["2001:db8::/32", "10.0.0.0/8"]},
        ],
    )
    data["targets"]["legacy"] = {"url": "https://legacy.internal:8443/prefix/", "timeout": 2.5}
    data["targets"]["app"]["health_check"] = {
        "enabled": True,
        "interval": 5,
        "timeout": 2,
        "matcher": "200-299",
    }
    config = parse_config(data, source="rules.toml")
    assert config.rules[1].conditions[2] == Condition(
        "query-string", query_pairs=(QueryPair("v", "1"),)
    )
    assert config.targets["legacy"] == Target(
        "legacy", url="https://legacy.internal:8443/prefix/", timeout=2.5
    )
    assert config.targets["app"].health_check == HealthCheck(
        enabled=True, interval=5, timeout=2, matcher="200-299"
    )
    assert config.targets["app"].health_check.accepts(204)


def test_how_a_lambda_target_runs_is_its_own_setting() -> None:
    data = copy.deepcopy(BASE)
    data["targets"]["app"].update(environments="process", concurrency=4)
    data["targets"]["other"] = {"handler": "other:handler", "environments": "thread"}
    targets = parse_config(data, source="rules.toml").targets
    assert targets["app"] == Target(
        "app", handler="app:handler", environments="process", concurrency=4
    )
    assert targets["other"] == Target("other", handler="other:handler", environments="thread")
    # Unset: the emulator decides (ALBEmulator's `environments`), with the default concurrency.
    unset = parse_config(copy.deepcopy(BASE), source="rules.toml").targets["app"]
    assert (unset.environments, unset.concurrency) == (None, None)


def test_config_without_targets_or_rules() -> None:
    config = parse_config({"default_action": {"type": "fixed-response", "status_code": "404"}})
    assert config == ListenerConfig({}, (), FixedResponse(404), "<config>")


def test_parse_config_refuses_an_unknown_listener_protocol() -> None:
    with pytest.raises(ValueError, match="listener_protocol must be 'HTTP' or 'HTTPS'"):
        parse_config(BASE, listener_protocol="ftp")
