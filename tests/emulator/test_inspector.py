"""The request inspector (``alb-adapter serve --inspect``): its store, masking, body previews,
the listener's explanations, ALB's notes, HAR, the invoke command line; then through a started
server over HTTP: a request recorded whole, a 502's reason, cold starts, replays, the listener's
evaluation, and the inspector kept off the listener's port."""

from __future__ import annotations

import contextlib
import gzip
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from alb_adapter.emulator.app import ALBEmulator
from alb_adapter.emulator.inspector.har import har
from alb_adapter.emulator.inspector.record import (
    MAX_LOG_LINES,
    Exchange,
    Recorder,
    is_secret_header,
    mask,
    masked_header_map,
    masked_headers,
)
from alb_adapter.emulator.inspector.web import hex_dump, is_loopback_host, preview
from alb_adapter.emulator.invocation import alb_error, judge, judgement_notes
from alb_adapter.emulator.rules import (
    ListenerConfig,
    RuleRequest,
    RuleVerdict,
    parse_config,
)
from alb_adapter.emulator.server import build_server, running

ROOT = Path(__file__).resolve().parents[2]

HANDLER_SOURCE = """
import json
import logging

log = logging.getLogger("inspected")


def handler(event, context):
    path = event["path"]
    print(f"printed {path}")
    log.warning("logged %s", path)
    if path.endswith("/invalid"):
        return {"statusCode": "200", "body": "a status as a string"}
    headers = event.get("headers") or {}
    body = json.dumps({"path": path, "cookie": headers.get("cookie", "")})
    return {
        "statusCode": 200,
        "headers": {"content-type": "application/json", "set-cookie": "answer=answer-secret"},
        "body": body,
    }
"""


def request(
    path: str = "/", *, headers: tuple[tuple[str, str], ...] = (), **kw: Any
) -> RuleRequest:
    path, _, query = path.partition("?")
    return RuleRequest.from_http(
        kw.get("method", "GET"),
        path,
        query,
        headers,
        source_ip=kw.get("source_ip", "203.0.113.9"),
        scheme="http",
        port=80,
    )


def exchange(recorder: Recorder, target: str = "/", body: bytes = b"") -> Exchange:
    return recorder.begin(
        client=("127.0.0.1", 5000),
        server=("127.0.0.1", 8000),
        method="GET",
        target=target,
        headers=[("host", "shop.example.com"), ("cookie", "sid=cookie-secret")],
        body=body,
    )


# --------------------------------------------------------------------------- the store


def test_the_ring_buffer_keeps_the_last_n_and_drops_the_oldest() -> None:
    recorder = Recorder(3)
    for number in range(1, 8):
        exchange(recorder, f"/{number}")
    assert [(e.id, e.target) for e in recorder.exchanges] == [(5, "/5"), (6, "/6"), (7, "/7")]
    assert recorder.get(4) is None
    assert recorder.version == 7
    assert [e.id for e in recorder.changed_since(5)] == [6, 7]
    recorder.clear()
    assert (list(recorder.exchanges), recorder.version) == ([], 8)
    with pytest.raises(ValueError, match="at least one request"):
        Recorder(0)


def test_bodies_and_log_lines_are_kept_bounded() -> None:
    recorder = Recorder(2, body_bytes=10)
    kept = exchange(recorder, body=b"x" * 50)
    kept.sent_event({"path": "/", "body": "y" * 50, "headers": {"a": "b"}})
    kept.answered({"statusCode": 200, "body": "z" * 50}, ["a note"])
    for number in range(MAX_LOG_LINES + 3):
        kept.log(f"line {number}")
    kept.write("partial")
    kept.finish(200, None, [("content-type", "text/plain")], b"r" * 50, 1.5)
    assert (kept.request_body, kept.request_size) == (b"x" * 10, 50)
    assert (kept.event, kept.event_truncated) == (
        {"path": "/", "body": "y" * 10, "headers": {"a": "b"}},
        True,
    )
    assert (kept.answer, kept.answer_truncated) == ({"statusCode": 200, "body": "z" * 10}, True)
    assert (len(kept.logs), kept.logs_dropped) == (MAX_LOG_LINES, 4)
    assert (kept.response_body, kept.response_size, kept.status) == (b"r" * 10, 50, 200)


def test_an_answer_json_cannot_carry_is_kept_as_its_types() -> None:
    kept = exchange(Recorder(1))
    kept.answered({"statusCode": 200, "body": b"raw", "headers": {"x": ("a", 1)}}, [])
    assert kept.answer == {
        "statusCode": 200,
        "body": "<bytes: not JSON>",
        "headers": {"x": ["a", 1]},
    }
    kept.answered(None, [])
    assert kept.answer is None


# --------------------------------------------------------------------------- masking


def test_secret_headers_are_masked_in_every_case_and_form() -> None:
    assert [
        is_secret_header(name)
        for name in (
            "Cookie",
            "set-cookie",
            "sEt-cookie",
            "Authorization",
            "proxy-authorization",
            "x-amzn-oidc-data",
            "X-Amzn-Oidc-Accesstoken",
            "x-amzn-trace-id",
            "accept",
        )
    ] == [True, True, True, True, True, True, True, False, False]
    pairs = [("Authorization", "Bearer abc"), ("accept", "*/*")]
    assert masked_headers(pairs, reveal=False) == [
        ("Authorization", "[masked: 10 characters]"),
        ("accept", "*/*"),
    ]
    assert masked_headers(pairs, reveal=True) == pairs
    multi = {"cookie": ["a=1", "b=22"], "Set-cookie": "s=1", "host": ["h"]}
    assert masked_header_map(multi, reveal=False) == {
        "cookie": [mask("a=1"), mask("b=22")],
        "Set-cookie": "[masked: 3 characters]",
        "host": ["h"],
    }
    assert masked_header_map(multi, reveal=True) is multi


# --------------------------------------------------------------------------- body previews


def test_a_text_body_is_shown_as_text_even_html() -> None:
    page = b"<script>alert(1)</script><h1>caf\xc3\xa9</h1>"
    assert preview(page, len(page), "text/html") == {
        "size": len(page),
        "kind": "text",
        "text": "<script>alert(1)</script><h1>café</h1>",  # the page sets it as text, never markup
        "notes": [],
    }
    assert preview(b"", 0) == {"size": 0, "kind": "empty", "notes": []}


def test_a_binary_body_is_its_size_and_a_hex_dump() -> None:
    png = b"\x89PNG\r\n\x1a\n" + bytes(range(8))
    assert preview(png, len(png), "image/png") == {
        "size": 16,
        "kind": "binary",
        "hex": "00000000  89 50 4e 47 0d 0a 1a 0a 00 01 02 03 04 05 06 07  |.PNG............|",
        "base64": "iVBORw0KGgoAAQIDBAUGBw==",
        "notes": [],
    }
    assert hex_dump(b"ab") == "00000000  61 62" + " " * 42 + "  |ab|"


def test_large_bodies_are_cut_with_a_note() -> None:
    big = "é" * 40_000  # 80,000 bytes: the 64 KiB cut falls inside a character
    data = big.encode()
    shown = preview(data[:70_000], len(data), "text/plain")
    assert shown["kind"] == "text"
    assert shown["text"] == "é" * 32_768
    assert shown["notes"] == [
        "the inspector kept the first 70,000 of 80,000 bytes",
        "showing the first 65,536 bytes",
    ]
    binary = bytes(range(256)) * 4
    dumped = preview(binary, len(binary), "application/octet-stream")
    assert dumped["notes"] == ["binary: a hex dump of the first 512 bytes"]
    assert len(dumped["hex"].splitlines()) == 32


def test_a_gzip_body_is_shown_decompressed() -> None:
    data = gzip.compress(b'{"ok": true}')
    assert preview(data, len(data), "application/json", "gzip") == {
        "size": len(data),
        "kind": "text",
        "text": '{"ok": true}',
        "notes": ["content-encoding gzip: shown decompressed (12 bytes)"],
    }


# --------------------------------------------------------------------------- the listener


RULES: dict[str, Any] = {
    "targets": {"fn": {"handler": "unused:handler"}},
    "rules": [
        {
            "priority": 1,
            "conditions": [{"field": "path-pattern", "values": ["/account/*"]}],
            "actions": [{"type": "forward", "target_group": "fn"}],
        },
        {
            "priority": 2,
            "conditions": [{"field": "host-header", "values": ["api.example.com"]}],
            "actions": [{"type": "forward", "target_group": "fn"}],
        },
        {
            "priority": 3,
            "conditions": [
                {"field": "http-header", "http_header_name": "X-Env", "values": ["staging"]}
            ],
            "actions": [{"type": "forward", "target_group": "fn"}],
        },
        {
            "priority": 4,
            "conditions": [
                {
                    "field": "http-header",
                    "http_header_name": "Authorization",
                    "values": ["Bearer *"],
                }
            ],
            "actions": [{"type": "forward", "target_group": "fn"}],
        },
        {
            "priority": 5,
            "conditions": [{"field": "http-request-method", "values": ["POST", "PUT"]}],
            "actions": [{"type": "forward", "target_group": "fn"}],
        },
        {
            "priority": 6,
            "conditions": [{"field": "query-string", "values": [{"key": "v", "value": "2"}]}],
            "actions": [{"type": "forward", "target_group": "fn"}],
        },
        {
            "priority": 7,
            "conditions": [{"field": "source-ip", "values": ["10.0.0.0/8"]}],
            "actions": [{"type": "forward", "target_group": "fn"}],
        },
        {
            "priority": 8,
            "conditions": [
                {"field": "path-pattern", "values": ["/shop/*"]},
                {"field": "http-request-method", "values": ["GET"]},
            ],
            "actions": [{"type": "fixed-response", "status_code": "200"}],
        },
        {
            "priority": 9,
            "conditions": [{"field": "path-pattern", "values": ["/*"]}],
            "actions": [{"type": "redirect", "path": "/home", "status_code": "HTTP_302"}],
        },
    ],
    "default_action": {"type": "fixed-response", "status_code": "404"},
}


def test_the_listener_explains_each_condition_kind_it_tried() -> None:
    config = parse_config(RULES, source="test")
    probe = request(
        "/shop/cart?v=1",
        headers=(
            ("host", "shop.example.com:8080"),
            ("x-env", "prod"),
            ("authorization", "Basic x"),
        ),
    )
    rule, action, verdicts = config.explain(probe)
    assert (rule, action) == config.select(probe)
    assert rule is not None
    assert rule.priority == 8
    assert verdicts == [
        RuleVerdict(1, False, "path-pattern: the path '/shop/cart' matches none of '/account/*'"),
        RuleVerdict(
            2, False, "host-header: the host 'shop.example.com' matches none of 'api.example.com'"
        ),
        RuleVerdict(3, False, "http-header: X-Env is 'prod', matching none of 'staging'"),
        # A header the inspector masks is named, never quoted.
        RuleVerdict(4, False, "http-header: the value of Authorization matches none of 'Bearer *'"),
        RuleVerdict(5, False, "http-request-method: GET is not POST or PUT"),
        RuleVerdict(6, False, "query-string: no key/value of 'v=1' matches 'v=2'"),
        RuleVerdict(7, False, "source-ip: 203.0.113.9 is in none of 10.0.0.0/8"),
        RuleVerdict(8, True, "all conditions match"),
    ]


def test_the_listener_explains_what_a_request_lacks() -> None:
    config = parse_config(RULES, source="test")
    rule, _, verdicts = config.explain(request("/", method="DELETE"))
    assert rule is not None
    assert rule.priority == 9  # the catch-all
    assert [verdict.reason for verdict in verdicts[1:3]] == [
        "host-header: the request has no Host header (wanted 'api.example.com')",
        "http-header: the request has no X-Env header",
    ]
    assert verdicts[5].reason == "query-string: the request has no query string (wanted 'v=2')"
    assert verdicts[7].reason == "path-pattern: the path '/' matches none of '/shop/*'"
    fallback = ListenerConfig(RULES_DEFAULT_ONLY.targets, (), RULES_DEFAULT_ONLY.default_action)
    assert fallback.explain(request("/")) == (None, fallback.default_action, [])


RULES_DEFAULT_ONLY = parse_config({**RULES, "rules": []}, source="test")


def test_the_rules_table_describes_conditions() -> None:
    config = parse_config(RULES, source="test")
    assert [rule.conditions[0].describe() for rule in config.rules] == [
        "path-pattern is /account/*",
        "host-header is api.example.com",
        "http-header X-Env is staging",
        "http-header Authorization is Bearer *",
        "http-request-method is POST or PUT",
        "query-string has v=2",
        "source-ip in 10.0.0.0/8",
        "path-pattern is /shop/*",
        "path-pattern is /*",
    ]


# --------------------------------------------------------------------------- ALB's notes


def test_albs_notes_on_an_answer() -> None:
    answer = {
        "statusCode": 200,
        "statusDescription": "200 OK",
        "headers": {
            "content-type": "text/plain",
            "content-encoding": "gzip",
            "transfer-encoding": "chunked",
            "content-length": "99",
            "set-cookie": "a=1",
            "Set-cookie": "b=2",
        },
        "multiValueHeaders": {"x-ignored": ["1"]},
        "body": "H4sIAAAAAAAA/0vLz1cCAAvM2+IEAAAA",
        "isBase64Encoded": True,
    }
    outcome = judge(answer, multi_value_headers=False)
    assert judgement_notes(answer, outcome, multi_value_headers=False) == [
        "headers ignored: the response has `multiValueHeaders` but the target group has "
        "multi-value headers off: ALB reads `headers` only",
        "headers dropped: transfer-encoding (ALB frames the response to the client itself)",
        "content-length replaced by ALB's own, counted on the body it sends",
        "content-encoding gzip set by the function: ALB passes the body on as encoded (ALB itself "
        "compresses nothing for Lambda targets)",
        "isBase64Encoded: ALB decoded the body from base64 before sending it",
        "2 Set-Cookie keys in different cases: one Set-Cookie header each",
        "statusDescription '200 OK': the status line's reason phrase",
    ]
    invalid = {"statusCode": "200"}
    refused = judge(invalid, multi_value_headers=True)
    assert judgement_notes(invalid, refused, multi_value_headers=True) == [
        "ALB answered 502 itself: LambdaInvalidResponse: statusCode must be an integer from 100 "
        "to 599, got str",
    ]
    plain = {"statusCode": 204}
    assert (
        judgement_notes(plain, judge(plain, multi_value_headers=False), multi_value_headers=False)
        == []
    )


# --------------------------------------------------------------------------- HAR


def test_har_12_shape_masked_unless_revealed() -> None:
    recorder = Recorder(5)
    first = exchange(recorder, "/a?x=1&y", body=b'{"q": 1}')
    first.request_headers.append(("content-type", "application/json"))
    first.rule, first.action, first.target_name = "priority 10", "forward to fn", "fn"
    first.finish(
        200,
        None,
        [("content-type", "image/png"), ("set-cookie", "s=answer-secret")],
        b"\x89PNG",
        2.5,
    )
    exchange(recorder, "/in-flight")  # not finished: left out
    document = har(recorder.exchanges)
    log = document["log"]
    assert set(log) == {"version", "creator", "entries", "comment"}
    assert (log["version"], log["creator"]["name"]) == ("1.2", "alb-adapter inspector")
    assert "masked" in log["comment"]
    [entry] = log["entries"]
    assert set(entry) == {
        "startedDateTime", "time", "request", "response", "cache", "timings", "comment",
        "_albAdapter",
    }  # fmt: skip
    assert entry["startedDateTime"].endswith("Z")
    assert entry["request"] == {
        "method": "GET",
        "url": "http://shop.example.com/a?x=1&y",
        "httpVersion": "HTTP/1.1",
        "cookies": [],
        "headers": [
            {"name": "host", "value": "shop.example.com"},
            {"name": "cookie", "value": "[masked: 17 characters]"},
            {"name": "content-type", "value": "application/json"},
        ],
        "queryString": [{"name": "x", "value": "1"}, {"name": "y", "value": ""}],
        "headersSize": -1,
        "bodySize": 8,
        "postData": {"mimeType": "application/json", "text": '{"q": 1}'},
    }
    assert entry["response"] == {
        "status": 200,
        "statusText": "OK",
        "httpVersion": "HTTP/1.1",
        "cookies": [],
        "headers": [
            {"name": "content-type", "value": "image/png"},
            {"name": "set-cookie", "value": "[masked: 15 characters]"},
        ],
        "content": {"size": 4, "mimeType": "image/png", "text": "iVBORw==", "encoding": "base64"},
        "redirectURL": "",
        "headersSize": -1,
        "bodySize": 4,
    }
    assert entry["timings"] == {"send": 0, "wait": 2.5, "receive": 0}
    assert entry["_albAdapter"]["rule"] == "priority 10"
    revealed = har(recorder.exchanges, reveal=True)["log"]
    assert "shown" in revealed["comment"]
    assert {"name": "cookie", "value": "sid=cookie-secret"} in revealed["entries"][0]["request"][
        "headers"
    ]
    json.dumps(document)  # JSON all the way down


def test_loopback_hosts() -> None:
    assert [
        is_loopback_host(host)
        for host in (
            "127.0.0.1",
            "127.0.0.1:8001",
            "localhost:1",
            "[::1]:8001",
            "::1",
            "0.0.0.0",
            "evil.example",
        )
    ] == [True, True, True, True, True, False, False]


# --------------------------------------------------------------------------- through a server


@pytest.fixture(scope="module")
def handler_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("inspected") / "inspected_fn.py"
    path.write_text(HANDLER_SOURCE)
    return path


def server_config(handler_file: Path, environments: str = "thread") -> ListenerConfig:
    data: dict[str, Any] = {
        "targets": {
            "fn": {"handler": f"{handler_file}:handler", "environments": environments},
        },
        "rules": [
            {
                "priority": 5,
                "conditions": [
                    {"field": "http-header", "http_header_name": "X-Env", "values": ["staging"]}
                ],
                "actions": [{"type": "fixed-response", "status_code": "503"}],
            },
            {
                "priority": 10,
                "conditions": [{"field": "path-pattern", "values": ["/account/*"]}],
                "actions": [{"type": "forward", "target_group": "fn"}],
            },
        ],
        "default_action": {
            "type": "fixed-response",
            "status_code": "404",
            "content_type": "text/plain",
            "message_body": "nothing here",
        },
    }
    return parse_config(data, source="inspector-test")


class Site:
    def __init__(self, url: str, emulator: ALBEmulator) -> None:
        self.url = url
        self.emulator = emulator
        assert emulator.inspector_url is not None
        self.inspector = httpx.Client(base_url=emulator.inspector_url, timeout=10)
        self.alb = httpx.Client(base_url=url, timeout=10)

    def row(self, target: str) -> dict[str, Any]:
        """The newest row for ``target`` (recorded before its answer was sent)."""
        rows = self.inspector.get("/api/exchanges", params={"after": 0}).json()["rows"]
        found = [row for row in rows if row["target"] == target]
        assert found, f"no row for {target}"
        return dict(found[-1])

    def detail(self, exchange_id: int, *, reveal: bool = False) -> dict[str, Any]:
        response = self.inspector.get(
            f"/api/exchanges/{exchange_id}", params={"reveal": int(reveal)}
        )
        assert response.status_code == 200
        return dict(response.json())


@contextlib.contextmanager
def started(handler_file: Path, environments: str) -> Iterator[Site]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(sys, "path", list(sys.path))
        patch.delitem(sys.modules, "inspected_fn", raising=False)
        server = build_server(
            server_config(handler_file, environments),
            log_level="warning",
            inspect_keep=50,
            environments="thread",
            runtime_client="builtin",
        )
        with running(server) as url:
            emulator = server.config.app
            assert isinstance(emulator, ALBEmulator)
            site = Site(url, emulator)
            try:
                yield site
            finally:
                site.inspector.close()
                site.alb.close()


@pytest.fixture(scope="module")
def site(handler_file: Path) -> Iterator[Site]:
    with started(handler_file, "thread") as site:
        yield site


@pytest.fixture(scope="module")
def process_site(handler_file: Path) -> Iterator[Site]:
    with started(handler_file, "process") as site:
        yield site


def test_a_request_is_recorded_whole(site: Site) -> None:
    answer = site.alb.get("/account/whole?q=1", headers={"Cookie": "sid=cookie-secret"})
    assert answer.status_code == 200
    row = site.row("/account/whole?q=1")
    assert {k: row[k] for k in ("method", "status", "rule", "action", "target_name", "reason")} == {
        "method": "GET",
        "status": 200,
        "rule": "priority 10",
        "action": "forward to fn",
        "target_name": "fn",
        "reason": None,
    }
    detail = site.detail(row["id"])
    assert detail["event"]["path"] == "/account/whole"
    assert detail["event"]["queryStringParameters"] == {"q": "1"}
    assert detail["event"]["headers"]["cookie"] == "[masked: 17 characters]"
    assert detail["answer"] == {
        "statusCode": 200,
        "headers": {"content-type": "application/json", "set-cookie": "[masked: 20 characters]"},
        "body": '{"path": "/account/whole", "cookie": "sid=cookie-secret"}',
    }
    assert detail["response"]["body"] == {
        "size": len(answer.content),
        "kind": "text",
        "text": answer.text,
        "notes": [],
    }
    assert ("set-cookie", "[masked: 20 characters]") in [
        tuple(h) for h in detail["response"]["headers"]
    ]
    assert detail["judgement"] == {"status": 200, "reason": None, "notes": []}
    assert detail["logs"] == [
        "printed /account/whole",
        "[WARNING] inspected: logged /account/whole",
    ]
    assert detail["environment"] == "in-process (thread)"
    revealed = site.detail(row["id"], reveal=True)
    assert revealed["event"]["headers"]["cookie"] == "sid=cookie-secret"
    assert revealed["answer"]["headers"]["set-cookie"] == "answer=answer-secret"


def test_a_502_shows_its_reason(site: Site) -> None:
    answer = site.alb.get("/account/invalid")
    assert answer.status_code == 502
    detail = site.detail(site.row("/account/invalid")["id"])
    reason = "LambdaInvalidResponse: statusCode must be an integer from 100 to 599, got str"
    assert detail["reason"] == reason
    assert detail["judgement"] == {
        "status": 502,
        "reason": reason,
        "notes": [f"ALB answered 502 itself: {reason}"],
    }
    assert detail["answer"] == {"statusCode": "200", "body": "a status as a string"}


def test_the_listener_says_why_a_higher_priority_rule_did_not_match(site: Site) -> None:
    site.alb.get("/account/why", headers={"X-Env": "prod"})
    listener = site.detail(site.row("/account/why")["id"])["listener"]
    assert listener == {
        "refusal": None,
        "trace": [
            {
                "priority": 5,
                "matched": False,
                "reason": "http-header: X-Env is 'prod', matching none of 'staging'",
            },
            {"priority": 10, "matched": True, "reason": "all conditions match"},
        ],
        "rule": "priority 10",
        "action": "forward to fn",
        "target": "fn",
    }
    site.alb.get("/elsewhere")
    fallback = site.detail(site.row("/elsewhere")["id"])
    assert (fallback["status"], fallback["rule"], fallback["event"]) == (404, "default", None)
    assert [verdict["matched"] for verdict in fallback["listener"]["trace"]] == [False, False]


def test_a_refusal_before_the_rules_is_said(site: Site) -> None:
    answer = site.alb.request("TRACE", "/account/trace")
    assert answer.status_code == 405
    detail = site.detail(site.row("/account/trace")["id"])
    assert detail["listener"]["refusal"] == "answered by ALB before the listener rules"
    assert detail["reason"] == "TRACE is not allowed by ALB"


def test_a_replay_makes_a_new_row_with_the_original_secrets(site: Site) -> None:
    site.alb.get("/account/original", headers={"Cookie": "sid=cookie-secret"})
    original = site.detail(site.row("/account/original")["id"])
    # As the page sends it: the headers as shown (masked), the path edited.
    replayed = site.inspector.post(
        "/api/replay",
        json={
            "id": original["id"],
            "method": "GET",
            "target": "/account/replayed",
            "headers": original["request"]["headers"],
        },
    )
    assert replayed.status_code == 200
    new = replayed.json()
    assert new["status"] == 200
    assert new["id"] > original["id"]
    row = site.row("/account/replayed")
    assert (row["id"], row["replay_of"], row["status"]) == (new["id"], original["id"], 200)
    detail = site.detail(new["id"], reveal=True)
    # The masked value shown stood for the original one: the function got the real cookie.
    assert json.loads(detail["answer"]["body"]) == {
        "path": "/account/replayed",
        "cookie": "sid=cookie-secret",
    }
    unchanged = site.inspector.post("/api/replay", json={"id": original["id"]}).json()
    assert site.row("/account/original")["id"] == unchanged["id"]


def test_the_inspector_refuses_what_a_foreign_page_could_send(site: Site) -> None:
    foreign = site.inspector.get("/api/exchanges", headers={"Host": "evil.example"})
    assert (foreign.status_code, foreign.json()) == (
        403,
        {"error": "the inspector answers to 127.0.0.1 or localhost only"},
    )
    form = site.inspector.post(
        "/api/replay", content=b"id=1", headers={"content-type": "text/plain"}
    )
    assert (form.status_code, form.json()) == (
        415,
        {"error": "send JSON (content-type: application/json)"},
    )
    gone = site.inspector.get("/api/exchanges/999999")
    assert gone.status_code == 404
    page = site.inspector.get("/")
    assert page.status_code == 200
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert '<script src="/static/inspector.js" defer></script>' in page.text


def test_the_inspector_is_not_on_the_listeners_port(site: Site) -> None:
    for path in ("/", "/api/exchanges", "/static/inspector.js"):
        answer = site.alb.get(path)
        assert (answer.status_code, answer.text) == (404, "nothing here")  # the default action


def test_rules_and_health_tables(site: Site) -> None:
    rules = site.inspector.get("/api/rules").json()
    assert rules["rules"] == [
        {
            "priority": 5,
            "conditions": ["http-header X-Env is staging"],
            "authenticate": None,
            "action": "fixed-response 503",
        },
        {
            "priority": 10,
            "conditions": ["path-pattern is /account/*"],
            "authenticate": None,
            "action": "forward to fn",
        },
    ]
    assert rules["default"] == "fixed-response 404"
    health = site.inspector.get("/api/health").json()
    assert health == {
        "targets": [
            {
                "name": "fn",
                "checked": False,
                "path": None,
                "state": "not checked",
                "successes": 0,
                "failures": 0,
                "last_status": None,
                "last_detail": "",
                "last_checked": None,
                "broken": None,
            }
        ]
    }


def test_har_download_of_the_session(site: Site) -> None:
    site.alb.get("/account/har", headers={"Authorization": "Bearer har-secret"})
    download = site.inspector.get("/api/har")
    assert download.headers["content-disposition"] == 'attachment; filename="local-alb.har"'
    document = download.json()
    assert "har-secret" not in download.text
    kept = site.inspector.get("/api/exchanges", params={"after": 0}).json()
    finished = [row for row in kept["rows"] if row["status"] is not None]
    assert len(document["log"]["entries"]) == len(finished)
    revealed = site.inspector.get("/api/har", params={"reveal": 1})
    assert "Bearer har-secret" in revealed.text


def test_cold_start_on_the_first_request_only_thread(handler_file: Path) -> None:
    with started(handler_file, "thread") as fresh:  # a server of its own: its first request
        for path in ("/account/cold-1", "/account/cold-2"):
            assert fresh.alb.get(path).status_code == 200
        assert [fresh.row(p)["cold_start"] for p in ("/account/cold-1", "/account/cold-2")] == [
            True,
            False,
        ]


def test_process_environments_cold_start_and_logs_per_invocation(process_site: Site) -> None:
    for path in ("/account/p-1", "/account/p-2", "/account/p-3"):
        assert process_site.alb.get(path).status_code == 200
    rows = [process_site.row(path) for path in ("/account/p-1", "/account/p-2", "/account/p-3")]
    assert [row["cold_start"] for row in rows] == [True, False, False]
    assert all(row["environment"].startswith("fn#1 (pid ") for row in rows)
    for row in rows:
        logs = process_site.detail(row["id"])["logs"]
        path = row["target"]
        # Each invocation has its own lines, and only those (the runtime's logging format).
        assert logs[0] == f"printed {path}"
        assert len(logs) == 2
        assert logs[1].endswith(f"logged {path}")
    assert process_site.alb.get("/account/invalid").status_code == 502
    detail = process_site.detail(process_site.row("/account/invalid")["id"])
    assert detail["reason"].startswith("LambdaInvalidResponse: statusCode must be an integer")


# --------------------------------------------------------------------------- the invoke command


def test_the_copied_invoke_command_runs_and_gives_the_same_status(
    site: Site, tmp_path: Path
) -> None:
    bash = shutil.which("bash")
    if bash is None:
        pytest.skip("needs bash")
    for path, status in (("/account/copied", 200), ("/account/invalid", 502)):
        site.alb.get(path)
        detail = site.detail(site.row(path)["id"], reveal=True)
        command = detail["invoke_command"]
        assert command.startswith("printf '%s' '{")
        assert command.endswith(
            f"| alb-adapter invoke {site.emulator.config.targets['fn'].handler} --event -"
        )
        env = {
            **os.environ,
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        }
        done = subprocess.run(
            [bash, "-c", command],
            capture_output=True,
            text=True,
            timeout=60,
            env=env,
            cwd=tmp_path,
            check=False,
        )
        if status == 200:
            assert done.returncode == 0, done.stderr
            assert "HTTP/1.1 200 OK" in done.stdout
        else:
            assert done.returncode == 2, done.stderr
            assert done.stdout.rstrip().endswith(
                "ALB would answer 502: LambdaInvalidResponse: statusCode must be an integer "
                "from 100 to 599, got str"
            )


def test_no_invoke_command_without_an_event() -> None:
    recorder = Recorder(1)
    kept = exchange(recorder)
    kept.finish(404, None, [], b"", 1.0)
    assert kept.event is None
    assert alb_error(502, "x").reason == "x"
