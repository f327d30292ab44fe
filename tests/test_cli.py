"""The ``alb-adapter`` command: outputs compared whole where they are deterministic, every error
one ``alb-adapter: `` line with exit code 1, and ``serve`` run for real over HTTP."""

from __future__ import annotations

import base64
import io
import json
import logging
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

import alb_adapter
from alb_adapter import cli
from alb_adapter.config import Config
from alb_adapter.emulator import server
from alb_adapter.emulator.app import ALBEmulator
from alb_adapter.emulator.services import SERVICES
from alb_adapter.sources import find_source
from alb_adapter.testing import make_event, make_health_check_event
from tests.support import LAMBDA_EVENTS

ROOT = Path(__file__).resolve().parent.parent
FLASK_FILE = ROOT / "examples" / "flask_app" / "flask_example.py"
FLASK = f"{FLASK_FILE}:handler"
FLASK_RELATIVE = "examples/flask_app/flask_example.py:handler"  # as a user types it, from ROOT
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"

HANDLERS = """
def bad(event, context):
    return {"statusCode": 200, "headers": None}

def boom(event, context):
    raise ValueError("boom")

def both_fields(event, context):
    # ALB reads only the field of the target group's mode, whatever the function sends.
    return {
        "statusCode": 201,
        "headers": {"x-mode": "single"},
        "multiValueHeaders": {"x-mode": ["multi"]},
        "body": "ok",
    }

def not_json(event, context):
    return {"statusCode": 200, "body": b"bytes"}

def gzip(event, context):
    return {
        "statusCode": 200,
        "headers": {"content-type": "text/plain", "content-encoding": "gzip"},
        "body": "H4sIAAAAAAAAA8tIzcnJBwCGphA2BQAAAA==",
        "isBase64Encoded": True,
    }

def echo(event, context):
    return {"statusCode": 200, "headers": {"content-type": "application/json"}, "body": "{}"}

def complete(event, context):  # every field every front door reads: none refuses it
    return {
        "statusCode": 200,
        "headers": {"content-type": "text/plain"},
        "body": "ok",
        "isBase64Encoded": False,
    }

def app(environ, start_response):  # a bare WSGI app: wrapped in WSGIHandler by the loader
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [environ["SCRIPT_NAME"].encode() + b"|" + environ["PATH_INFO"].encode()]
"""


@pytest.fixture(autouse=True)
def isolated(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The loader imports targets into this process: restore sys.path and the modules it sets,
    keep logging and the SIGTERM handler as they were, and forget any reload options."""
    monkeypatch.setattr(sys, "path", list(sys.path))
    for name in ("flask_example", "cli_handlers"):
        monkeypatch.delitem(sys.modules, name, raising=False)
    monkeypatch.setattr(logging, "basicConfig", lambda **_: None)
    monkeypatch.setenv(server.RELOAD_ENV, "")  # restored (removed) after the test
    previous = signal.getsignal(signal.SIGTERM)
    yield
    signal.signal(signal.SIGTERM, previous)


@pytest.fixture
def handlers(tmp_path: Path) -> Path:
    path = tmp_path / "cli_handlers.py"
    path.write_text(HANDLERS)
    return path


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def feed_stdin(monkeypatch: pytest.MonkeyPatch, data: bytes) -> None:
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data)))


def assert_error(result: tuple[int, str, str], message: str) -> None:
    """Exit code 1, nothing on stdout, exactly one line on stderr (and so no traceback)."""
    code, out, err = result
    assert (code, out) == (1, "")
    assert err.count("\n") == 1, err
    assert err.startswith("alb-adapter: "), err
    assert message in err, err


# --------------------------------------------------------------------------- global


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "--version") == (0, f"alb-adapter {alb_adapter.__version__}\n", "")


def test_help_names_the_commands_and_exit_codes(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "--help")
    assert (code, err) == (0, "")
    assert out.startswith("usage: alb-adapter [-h] [--version] COMMAND ...\n")
    for command in ("serve", "invoke", "event"):
        assert re.search(rf"^    {command} +\S", out, re.MULTILINE), command
    assert "\n2 `invoke`: the front door would answer its own error (ALB's 502...)" in out
    assert "1 error, one line on stderr" in out


@pytest.mark.parametrize("command", ["serve", "invoke", "event"])
def test_each_command_has_help_with_examples(
    capsys: pytest.CaptureFixture[str], command: str
) -> None:
    code, out, err = run(capsys, command, "--help")
    assert (code, err) == (0, "")
    assert out.startswith(f"usage: alb-adapter {command} ")
    examples = out.partition("\nexamples:\n")[2]
    assert f"  alb-adapter {command} " in examples


def test_a_command_is_required(capsys: pytest.CaptureFixture[str]) -> None:
    assert_error(run(capsys), "a command is required: serve, invoke or event")


def test_usage_mistakes_are_one_line_and_exit_1(capsys: pytest.CaptureFixture[str]) -> None:
    assert_error(run(capsys, "frobnicate"), "invalid choice: 'frobnicate'")
    assert_error(run(capsys, "event", "/", "--nope"), "unrecognized arguments: --nope")
    assert_error(run(capsys, "serve", "x:y", "--port", "70000"), "port 70000 is not between")
    assert_error(run(capsys, "invoke", "x:y", "--timeout", "0"), "a Lambda timeout is over 0")


# --------------------------------------------------------------------------- event


def printed_event(capsys: pytest.CaptureFixture[str], *argv: str) -> dict[str, Any]:
    code, out, err = run(capsys, "event", *argv)
    assert (code, err) == (0, "")
    event: dict[str, Any] = json.loads(out)
    assert out == json.dumps(event, indent=2, ensure_ascii=False) + "\n"  # pretty JSON
    return event


def trace_id(event: dict[str, Any]) -> str:
    headers = event.get("headers") or {
        name: values[-1] for name, values in event["multiValueHeaders"].items()
    }
    value: str = headers["x-amzn-trace-id"]
    assert re.fullmatch(r"Root=1-[0-9a-f]{8}-[0-9a-f]{24}", value)
    return value


def test_event_for_a_path_is_make_events_get(capsys: pytest.CaptureFixture[str]) -> None:
    event = printed_event(capsys, "/x")
    assert event == make_event("GET", "/x", trace_id=trace_id(event))
    assert event["headers"]["host"] == "example.com"


def test_event_with_every_option(capsys: pytest.CaptureFixture[str]) -> None:
    event = printed_event(
        capsys,
        "PUT",
        "/api/items?id=1&id=2",
        "-H",
        "Content-Type: application/json",
        "-H",
        "X-Tag:  a ",
        "-H",
        "x-tag: b",
        "-d",
        '{"qty": 2}',
        "--multi-value-headers",
        "--client-ip",
        "10.0.0.9",
        "--scheme",
        "http",
        "--host",
        "Shop.Example.com",
    )
    assert event == make_event(
        "PUT",
        "/api/items?id=1&id=2",
        headers=[("Content-Type", "application/json"), ("X-Tag", "a"), ("x-tag", "b")],
        body='{"qty": 2}',
        multi_value_headers=True,
        client_ip="10.0.0.9",
        scheme="http",
        host="Shop.Example.com",
        trace_id=trace_id(event),
    )
    assert event["multiValueHeaders"]["x-tag"] == ["a", "b"]
    assert event["multiValueQueryStringParameters"] == {"id": ["1", "2"]}
    assert (event["body"], event["isBase64Encoded"]) == ('{"qty": 2}', False)


def test_event_body_is_a_curl_style_post(capsys: pytest.CaptureFixture[str]) -> None:
    """No METHOD and a body: POST; no Content-Type: form-encoded (as curl -d)."""
    event = printed_event(capsys, "/login", "-d", "user=ada")
    assert event == make_event(
        "POST",
        "/login",
        headers=[("Content-Type", "application/x-www-form-urlencoded")],
        body="user=ada",
        trace_id=trace_id(event),
    )
    assert base64.b64decode(event["body"]) == b"user=ada"  # ALB's rule: not text/*, so base64


def test_event_path_is_put_on_the_wire_as_a_client_would(
    capsys: pytest.CaptureFixture[str],
) -> None:
    event = printed_event(capsys, "DELETE", "/caf\u00e9 x/%2F?q=a b#top")
    assert (event["httpMethod"], event["path"]) == ("DELETE", "/caf%C3%A9%20x/%2F")
    assert event["queryStringParameters"] == {"q": "a%20b"}


def test_event_body_from_a_file_and_from_stdin(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = PNG_SIGNATURE + bytes(range(256))
    (tmp_path / "photo.png").write_bytes(data)
    type_header = ["-H", "Content-Type: image/png"]
    event = printed_event(capsys, "/up", "--data-file", str(tmp_path / "photo.png"), *type_header)
    assert event["httpMethod"] == "POST"
    assert event["isBase64Encoded"] is True
    assert base64.b64decode(event["body"]) == data
    assert event["headers"]["content-length"] == str(len(data))

    feed_stdin(monkeypatch, b"from stdin")
    event = printed_event(
        capsys, "PUT", "/up", "--data-file", "-", "-H", "Content-Type: text/plain"
    )
    assert (event["body"], event["isBase64Encoded"]) == ("from stdin", False)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["/", "-H", "no colon"], "bad header 'no colon': expected 'Name: value'"),
        (["/", "-H", ": empty name"], "bad header ': empty name'"),
        (["/", "-H", "Bad Name: x"], "bad header 'Bad Name: x'"),
        (["GET"], "missing PATH after the method 'GET' (e.g. 'GET /')"),
        (["x"], "missing PATH after the method 'x'"),
        (["GET", "x"], "the path must start with '/': 'x'"),
        (["G T", "/"], "not an HTTP method: 'G T'"),
        (["GET", "/", "extra"], "expected [METHOD] PATH, got 3 words: GET / extra"),
        (["/", "--client-ip", "10.0.0.300"], "not an IP address: '10.0.0.300'"),
        (["/", "--scheme", "ftp"], "invalid choice: 'ftp'"),
        (["/", "-d", "a", "--data-file", "f"], "not allowed with argument"),
        (["/", "--data-file", "/nonexistent/body"], "/nonexistent/body: no such file"),
        ([], "a PATH is required, e.g. '/'"),
        (["/", "--host", "a\nb"], "bad --host 'a\\nb': it cannot hold a line break"),
        (["--health-check", "POST", "/"], "--health-check takes one PATH (always GET)"),
        (["--health-check", "health"], "the path must start with '/': 'health'"),
        (["--health-check", "-H", "a: b"], "takes only PATH and --multi-value-headers, not -H"),
        (["--health-check", "--host", ""], "takes only PATH and --multi-value-headers, not --host"),
        (["--health-check", "--scheme", "https"], "not --scheme"),
    ],
)
def test_event_errors(capsys: pytest.CaptureFixture[str], argv: list[str], message: str) -> None:
    assert_error(run(capsys, "event", *argv), message)


def test_event_refuses_a_text_body_that_is_not_utf8(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    (tmp_path / "latin1.txt").write_bytes("café".encode("latin-1"))
    argv = ["/", "--data-file", str(tmp_path / "latin1.txt"), "-H", "Content-Type: text/plain"]
    assert_error(run(capsys, "event", *argv), "ALB cannot build this event: the body is not UTF-8")


# --------------------------------------------------------------------------- event --source

FRONT_DOORS = list(SERVICES)  # every front door a function can sit behind, ALB first


@pytest.fixture
def steady_ids(monkeypatch: pytest.MonkeyPatch) -> None:
    """A fixed clock and fixed random ids (trace ids, request ids), so the event the command
    prints and the one make_event builds in the same test can be compared whole."""
    monkeypatch.setattr(time, "time", lambda: 1_700_000_000.0)
    monkeypatch.setattr(os, "urandom", bytes)  # bytes(n): n zero bytes
    monkeypatch.setattr(uuid, "uuid4", lambda: uuid.UUID(int=0))


@pytest.mark.parametrize("source", FRONT_DOORS)
def test_event_from_every_front_door(
    capsys: pytest.CaptureFixture[str], steady_ids: None, source: str
) -> None:
    """The event that front door sends (make_event's), which the handler then reads as coming
    from it, with the request the client made."""
    argv = ["PUT", "/api/items?id=1", "-H", "Content-Type: application/json", "-d", '{"qty": 2}']
    event = printed_event(capsys, *argv, "--client-ip", "10.0.0.9", "--source", source)
    assert event == make_event(
        "PUT",
        "/api/items?id=1",
        headers=[("Content-Type", "application/json")],
        body='{"qty": 2}',
        client_ip="10.0.0.9",
        source=source,
    )
    read_by = find_source(event)
    request = read_by.parse_event(event, None, Config())
    assert (read_by.name, request.method, request.raw_path, request.query_string) == (
        source,
        "PUT",
        "/api/items",
        "id=1",
    )
    assert (request.body, request.client, request.scheme) == (
        b'{"qty": 2}',
        ("10.0.0.9", 0),
        "https",
    )
    if source == "function-url":  # its event names its own domain, never the client's Host
        assert request.server[0].endswith(".lambda-url.us-east-1.on.aws")
    else:
        assert request.server == ("example.com", 443)


@pytest.mark.parametrize(
    ("source", "path_fields"),
    [
        ("apigw-rest", {"path": "/items", "resource": "/{proxy+}"}),  # the stage is not in it
        ("apigw-http-v1", {"path": "/prod/items"}),
        ("apigw-http-v2", {"rawPath": "/prod/items"}),
    ],
)
def test_event_with_a_stage_goes_to_the_execute_api_url(
    capsys: pytest.CaptureFixture[str], steady_ids: None, source: str, path_fields: dict[str, str]
) -> None:
    event = printed_event(capsys, "--source", source, "--stage", "prod", "GET", "/prod/items")
    assert event == make_event("GET", "/prod/items", source=source, stage="prod")
    assert {name: event[name] for name in path_fields} == path_fields
    assert event["requestContext"]["stage"] == "prod"
    host = {name.lower(): value for name, value in event["headers"].items()}["host"]
    assert host.endswith(".execute-api.us-east-1.amazonaws.com")


def test_event_help_names_every_front_door(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "event", "--help")
    assert code == 0
    listed = re.search(r"--source NAME +the front door that sends it: ([^(]+) \(alb\)", out)
    assert listed is not None, out
    assert re.sub(r"\s+", "", listed[1]).split(",") == FRONT_DOORS


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            ["--source", "apigw-rest", "/", "--multi-value-headers"],
            "--multi-value-headers is ALB's target-group setting; API Gateway REST API sends one "
            "event format",
        ),
        (
            ["--source", "vpc-lattice-v1", "--health-check"],
            "--health-check is ALB's: VPC Lattice (V1) does not health-check a Lambda function",
        ),
        (["--stage", "prod", "/prod"], "--stage is an API Gateway setting; ALB has no stages"),
        (
            ["--source", "function-url", "--stage", "prod", "/prod"],
            "--stage is an API Gateway setting; Lambda Function URL has no stages",
        ),
        (
            ["--source", "apigw-http-v2", "--stage", "prod", "--host", "api.example.com", "/"],
            "give --host (a custom domain, whose API mapping picks the stage) or --stage",
        ),
        (
            ["--source", "apigw-rest", "--stage", "prod", "/items"],
            "API Gateway REST API cannot build this event: on the execute-api host the client's "
            "path starts with the stage '/prod' (the service answers 403 to '/items')",
        ),
        (
            ["--source", "apigw-rest", "--stage", "$default", "/"],
            "API Gateway REST API cannot build this event: a REST API stage has a name",
        ),
        (["--source", "apigw-http-v2", "--stage", "a/b", "/a/b"], "not a stage name: 'a/b'"),
        (["--source", "apigw-http-v2", "--stage", "", "/"], "not a stage name: ''"),
        (
            ["--source", "apigw-http-v1", "--host", "", "/"],
            "API Gateway HTTP API (payload 1.0): a request goes to a host: --host DOMAIN",
        ),
        (
            ["--source", "function-url", "--host", "shop.example.com", "/"],
            "--host: a Lambda Function URL has no custom domain",
        ),
        (
            ["--source", "apigw-http-v2", "--scheme", "http", "/"],
            "--scheme http: API Gateway HTTP API (payload 2.0) serves HTTPS only",
        ),
        (
            ["--source", "vpc-lattice-v2", "--scheme", "http", "/"],
            "--scheme: a VPC Lattice (V2) event does not say which protocol the client used",
        ),
        (["--source", "nginx", "/"], "argument --source: invalid choice: 'nginx' (choose from"),
    ],
)
def test_event_refuses_what_the_front_door_lacks(
    capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    assert_error(run(capsys, "event", *argv), message)


# --------------------------------------------------------------------------- invoke


def split_invoke_output(
    out: str, source: str = "ALB (single-value headers)"
) -> tuple[dict[str, Any], str]:
    """(the handler's raw answer, the front door's part) from invoke's stdout, after the line
    naming the front door ``source``."""
    source_line, _, out = out.partition("\n")
    assert source_line == f"source: {source}"
    raw, separator, verdict = out.partition("\n}\n\n")
    assert separator, out
    payload: dict[str, Any] = json.loads(raw + "\n}")
    assert raw + "\n}" == json.dumps(payload, indent=2, ensure_ascii=False)
    return payload, verdict


def test_invoke_the_flask_example(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "invoke", FLASK)
    assert (code, err) == (0, "")
    payload, http = split_invoke_output(out)
    assert payload["statusCode"] == 200
    assert payload["headers"]["content-type"] == "text/html; charset=utf-8"
    headers = "".join(f"{name}: {value}\n" for name, value in payload["headers"].items())
    assert http == f"HTTP/1.1 200 OK\n{headers}\n{payload['body']}\n"
    assert "<h1>alb-adapter Flask example</h1>" in http


def test_invoke_a_binary_answer_with_an_event_file(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    (tmp_path / "event.json").write_text(json.dumps(make_event("GET", "/logo.png")))
    code, out, err = run(capsys, "invoke", FLASK, "--event", str(tmp_path / "event.json"))
    assert (code, err) == (0, "")
    payload, http = split_invoke_output(out)
    png = base64.b64decode(payload["body"])
    assert png.startswith(PNG_SIGNATURE)
    assert http.startswith("HTTP/1.1 200 OK\ncontent-type: image/png\n")
    assert http.endswith(f"\n\n<{len(png)} bytes of binary>\n")


def test_invoke_default_event_in_multi_value_mode(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "invoke", FLASK, "--multi-value-headers")
    payload, http = split_invoke_output(out, "ALB (multi-value headers)")
    assert code == 0
    assert "headers" not in payload
    assert payload["multiValueHeaders"]["content-type"] == ["text/html; charset=utf-8"]
    assert http.startswith("HTTP/1.1 200 OK\ncontent-type: text/html; charset=utf-8\n")


def test_invoke_judges_in_the_mode_of_the_event(
    capsys: pytest.CaptureFixture[str], handlers: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = f"{handlers}:both_fields"
    feed_stdin(monkeypatch, json.dumps(make_event(multi_value_headers=True)).encode())
    code, out, _ = run(capsys, "invoke", target, "--event", "-")
    assert (code, split_invoke_output(out, "ALB (multi-value headers)")[1]) == (
        0,
        "HTTP/1.1 201 Created\nx-mode: multi\n\nok\n",
    )

    feed_stdin(monkeypatch, json.dumps(make_event()).encode())
    code, out, _ = run(capsys, "invoke", target, "--event", "-")
    assert (code, split_invoke_output(out)[1]) == (
        0,
        "HTTP/1.1 201 Created\nx-mode: single\n\nok\n",
    )


def test_invoke_a_response_alb_refuses_exits_2(
    capsys: pytest.CaptureFixture[str], handlers: Path
) -> None:
    code, out, _ = run(capsys, "invoke", f"{handlers}:bad")
    assert code == 2
    raw = 'source: ALB (single-value headers)\n{\n  "statusCode": 200,\n  "headers": null\n}\n\n'
    assert out.startswith(raw + "ALB would answer 502: LambdaInvalidResponse: ")
    assert out.count("\n") == raw.count("\n") + 1
    assert "null" in out.splitlines()[-1]


def test_invoke_a_handler_that_raises_exits_2(
    capsys: pytest.CaptureFixture[str], handlers: Path
) -> None:
    code, out, err = run(capsys, "invoke", f"{handlers}:boom")
    assert (code, out) == (
        2,
        "source: ALB (single-value headers)\n"
        "ALB would answer 502: LambdaUnhandled: ValueError: boom\n",
    )
    assert err.startswith("Traceback (most recent call last):\n")  # the function's log
    assert err.endswith("ValueError: boom\n")


def test_invoke_an_answer_json_cannot_carry_exits_2(
    capsys: pytest.CaptureFixture[str], handlers: Path
) -> None:
    code, out, _ = run(capsys, "invoke", f"{handlers}:not_json")
    assert code == 2
    assert out.startswith(
        "source: ALB (single-value headers)\n{'statusCode': 200, 'body': b'bytes'}\n\n"
    )
    assert out.splitlines()[-1].startswith("ALB would answer 502: the response is not JSON")


def test_invoke_an_encoded_body_is_shown_as_binary(
    capsys: pytest.CaptureFixture[str], handlers: Path
) -> None:
    code, out, _ = run(capsys, "invoke", f"{handlers}:gzip")
    http = split_invoke_output(out)[1]
    assert (code, http) == (
        0,
        "HTTP/1.1 200 OK\ncontent-type: text/plain\ncontent-encoding: gzip\n\n"
        "<25 bytes of binary>\n",
    )


def test_invoke_wraps_a_bare_app_with_the_base_path(
    capsys: pytest.CaptureFixture[str], handlers: Path, tmp_path: Path
) -> None:
    (tmp_path / "event.json").write_text(json.dumps(make_event("GET", "/shop/cart")))
    argv = ["--event", str(tmp_path / "event.json"), "--base-path", "/shop"]
    code, out, _ = run(capsys, "invoke", f"{handlers}:app", *argv)
    assert (code, split_invoke_output(out)[1]) == (
        0,
        "HTTP/1.1 200 OK\ncontent-type: text/plain\n\n/shop|/cart\n",
    )


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "the event is not JSON: Expecting property name"),
        ("", "the event is not JSON: Expecting value"),
        ("[1, 2]", "the event must be a JSON object, got list"),
    ],
)
def test_invoke_a_bad_event_file(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, content: str, message: str
) -> None:
    (tmp_path / "event.json").write_text(content)
    result = run(capsys, "invoke", FLASK, "--event", str(tmp_path / "event.json"))
    assert_error(result, f"{tmp_path / 'event.json'}: {message}")


def test_invoke_event_errors(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert_error(
        run(capsys, "invoke", FLASK, "--event", str(tmp_path / "missing.json")),
        f"{tmp_path / 'missing.json'}: no such file",
    )
    (tmp_path / "single.json").write_text(json.dumps(make_event()))
    assert_error(
        run(
            capsys,
            "invoke",
            FLASK,
            "--event",
            str(tmp_path / "single.json"),
            "--multi-value-headers",
        ),
        "--multi-value-headers, but the event has single-value 'headers'",
    )


# --------------------------------------------------------------------------- invoke: front doors

# How invoke names the front door of each source's events (ALB with its header mode).
FRONT_DOOR_LINES = {
    "alb": "ALB (single-value headers)",
    "apigw-rest": "API Gateway REST API",
    "apigw-http-v1": "API Gateway HTTP API (payload 1.0)",
    "apigw-http-v2": "API Gateway HTTP API (payload 2.0)",
    "function-url": "Lambda Function URL",
    "vpc-lattice-v2": "VPC Lattice (V2)",
    "vpc-lattice-v1": "VPC Lattice (V1)",
}
UNBOUND_TARGET = "no_such_module_xyz:handler"  # the event is refused before a target is loaded


def event_file(tmp_path: Path, event: object) -> str:
    path = tmp_path / "event.json"
    path.write_text(json.dumps(event))
    return str(path)


@pytest.mark.parametrize("source", FRONT_DOORS)
def test_invoke_names_the_front_door_and_runs_its_event(
    capsys: pytest.CaptureFixture[str], handlers: Path, tmp_path: Path, source: str
) -> None:
    """Each front door's event reaches the app as the same request; its answer comes back in that
    front door's format, and the client gets it as that front door delivers it."""
    event = event_file(tmp_path, make_event("GET", "/shop/cart?x=1", source=source))
    argv = ["--event", event, "--base-path", "/shop"]
    code, out, err = run(capsys, "invoke", f"{handlers}:app", *argv)
    payload, http = split_invoke_output(out, FRONT_DOOR_LINES[source])
    assert (code, err) == (0, "")
    assert (http, payload["statusCode"]) == (
        "HTTP/1.1 200 OK\ncontent-type: text/plain\n\n/shop|/cart\n",
        200,
    )


OK_JSON = "HTTP/1.1 200 OK\ncontent-type: application/json\n\n{}\n"


@pytest.mark.parametrize(
    ("handler", "source", "code", "verdict"),
    [
        # An answer without isBase64Encoded: VPC Lattice alone refuses it.
        ("echo", "alb", 0, OK_JSON),
        ("echo", "apigw-rest", 0, OK_JSON),
        ("echo", "apigw-http-v1", 0, OK_JSON),
        ("echo", "apigw-http-v2", 0, OK_JSON),
        ("echo", "function-url", 0, OK_JSON),
        *[
            (
                "echo",
                lattice,
                2,
                f"{label} would answer 502: malformed Lambda response: isBase64Encoded must "
                "be true or false, got nothing (missing or null)\n",
            )
            for lattice, label in (
                ("vpc-lattice-v2", "VPC Lattice (V2)"),
                ("vpc-lattice-v1", "VPC Lattice (V1)"),
            )
        ],
        # "headers": null: payload 1.0 takes it for no headers (a REST API then adds its
        # default content type); the others refuse it, each with its own status.
        (
            "bad",
            "alb",
            2,
            "ALB would answer 502: LambdaInvalidResponse: response.headers is null (ALB answers "
            "502 to a null anywhere)\n",
        ),
        ("bad", "apigw-rest", 0, "HTTP/1.1 200 OK\ncontent-type: application/json\n\n"),
        ("bad", "apigw-http-v1", 0, "HTTP/1.1 200 OK\n\n"),
        (
            "bad",
            "apigw-http-v2",
            2,
            "API Gateway HTTP API (payload 2.0) would answer 500: malformed Lambda response: "
            "headers must be an object of strings, got null\n",
        ),
        (
            "bad",
            "function-url",
            2,
            "Lambda Function URL would answer 502: malformed Lambda response: "
            "headers must be an object of strings, got null\n",
        ),
        (
            "bad",
            "vpc-lattice-v2",
            2,
            "VPC Lattice (V2) would answer 502: malformed Lambda response: headers "
            "must be an object, got nothing (missing or null)\n",
        ),
    ],
)
def test_invoke_judges_the_answer_as_that_front_door_does(
    capsys: pytest.CaptureFixture[str],
    handlers: Path,
    tmp_path: Path,
    handler: str,
    source: str,
    code: int,
    verdict: str,
) -> None:
    event = event_file(tmp_path, make_event(source=source))
    result = run(capsys, "invoke", f"{handlers}:{handler}", "--event", event)
    assert (result[0], split_invoke_output(result[1], FRONT_DOOR_LINES[source])[1]) == (
        code,
        verdict,
    )


@pytest.mark.parametrize(
    ("source", "status"),
    [
        ("alb", 502),
        ("apigw-rest", 502),
        ("apigw-http-v1", 500),
        ("apigw-http-v2", 500),
        ("function-url", 502),
        ("vpc-lattice-v2", 502),
        ("vpc-lattice-v1", 502),
    ],
)
def test_invoke_a_handler_that_raises_names_the_front_doors_answer(
    capsys: pytest.CaptureFixture[str], handlers: Path, tmp_path: Path, source: str, status: int
) -> None:
    event = event_file(tmp_path, make_event(source=source))
    code, out, err = run(capsys, "invoke", f"{handlers}:boom", "--event", event)
    front_door = FRONT_DOOR_LINES[source]
    label = front_door.removesuffix(" (single-value headers)")
    assert (code, out) == (
        2,
        f"source: {front_door}\n{label} would answer {status}: LambdaUnhandled: ValueError: boom\n",
    )
    assert err.endswith("ValueError: boom\n")  # the traceback: the function's log


@pytest.mark.parametrize("source", ["apigw-rest", "apigw-http-v1", "apigw-http-v2"])
def test_event_with_a_stage_piped_into_invoke(
    capsys: pytest.CaptureFixture[str],
    handlers: Path,
    monkeypatch: pytest.MonkeyPatch,
    source: str,
) -> None:
    """On the execute-api URL the stage leads the client's path: the app gets it as its base."""
    event = printed_event(capsys, "--source", source, "--stage", "prod", "POST", "/prod/cart?x=1")
    feed_stdin(monkeypatch, json.dumps(event).encode())
    code, out, _ = run(capsys, "invoke", f"{handlers}:app", "--event", "-")
    assert (code, split_invoke_output(out, FRONT_DOOR_LINES[source])[1]) == (
        0,
        "HTTP/1.1 200 OK\ncontent-type: text/plain\n\n/prod|/cart\n",
    )


NON_HTTP_EVENTS = [
    ({"Records": [{"eventSource": "aws:sqs", "body": "{}"}]}, "an SQS message batch"),
    ({"Records": [{"EventSource": "aws:sns", "Sns": {}}]}, "an SNS notification"),
    ({"Records": [{"eventSource": "aws:s3", "s3": {}}]}, "an S3 event notification"),
    (
        {"source": "aws.events", "detail-type": "Scheduled Event", "detail": {}},
        "an EventBridge scheduled event",
    ),
    ({"source": "shop.orders", "detail-type": "OrderPlaced", "detail": {}}, "an EventBridge event"),
    ({"source": "serverless-plugin-warmup"}, "a warmer ping (serverless-plugin-warmup)"),
    (
        {"requestContext": {"routeKey": "$connect", "eventType": "CONNECT", "connectionId": "c"}},
        "an API Gateway WebSocket event",
    ),
]


@pytest.mark.parametrize(("event", "kind"), NON_HTTP_EVENTS)
def test_invoke_refuses_an_event_that_is_not_an_http_request(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, event: dict[str, Any], kind: str
) -> None:
    """The input's fault, not the function's: exit code 1, one line, no traceback, and before
    the target is even imported."""
    path = event_file(tmp_path, event)
    code, out, err = run(capsys, "invoke", UNBOUND_TARGET, "--event", path)
    assert_error((code, out, err), "non_http_handler=")
    assert err.startswith(
        f"alb-adapter: {path}: not an HTTP request: this is {kind}, and alb_adapter serves HTTP "
        "requests only (ALB, "
    )


def test_invoke_refuses_an_event_of_no_front_door(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = event_file(tmp_path, {"hello": "world"})
    assert_error(
        run(capsys, "invoke", UNBOUND_TARGET, "--event", path),
        f"{path}: not an event from a source alb_adapter serves (ALB, ",
    )


def malformed_events() -> list[tuple[dict[str, Any], str]]:
    """Events shaped like a front door's with a field it always sends wrong: none sends them."""
    alb = make_event()
    del alb["httpMethod"]
    rest = make_event(source="apigw-rest")
    rest["headers"] = ["accept"]
    http_v2 = make_event(source="apigw-http-v2")
    http_v2["rawPath"] = 42
    return [
        (alb, "invalid ALB event: httpMethod must be a non-empty string (it is missing or null)"),
        (
            rest,
            "invalid API Gateway REST API event: headers must be an object of strings, got list",
        ),
        (
            http_v2,
            "invalid API Gateway HTTP API (payload 2.0) event: rawPath must be a string, got int",
        ),
    ]


@pytest.mark.parametrize(("event", "message"), malformed_events())
def test_invoke_refuses_a_malformed_event(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, event: dict[str, Any], message: str
) -> None:
    path = event_file(tmp_path, event)
    assert_error(run(capsys, "invoke", UNBOUND_TARGET, "--event", path), f"{path}: {message}")


@pytest.mark.parametrize("source", ["alb", "apigw-http-v2"])
def test_invoke_an_undecodable_body_is_the_handlers_400(
    capsys: pytest.CaptureFixture[str], handlers: Path, tmp_path: Path, source: str
) -> None:
    """Not refused as a malformed event: the handler answers it 400 without calling the app, and
    that answer is what the client would see."""
    event = make_event("POST", "/", body="x", source=source) | {
        "body": "not base64!",
        "isBase64Encoded": True,
    }
    code, out, _ = run(capsys, "invoke", f"{handlers}:app", "--event", event_file(tmp_path, event))
    assert (code, split_invoke_output(out, FRONT_DOOR_LINES[source])[1]) == (
        0,
        "HTTP/1.1 400 Bad Request\ncontent-type: text/plain; charset=utf-8\n\n"
        "Bad Request: the request body could not be decoded.\n",
    )


def test_invoke_multi_value_headers_is_for_alb_events_only(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = event_file(tmp_path, make_event(source="apigw-rest"))
    assert_error(
        run(capsys, "invoke", FLASK, "--event", path, "--multi-value-headers"),
        f"{path}: --multi-value-headers is ALB's target-group setting; this event is from API "
        "Gateway REST API, which has one event format",
    )


def corpus_entries(kind: str) -> list[tuple[str, str]]:
    """(file, type) of the Lambda event corpus's events of ``kind``; none (so the tests are
    skipped) without the corpus."""
    if not LAMBDA_EVENTS.is_dir():
        return []
    index = json.loads((LAMBDA_EVENTS / "index.json").read_text())
    return [(entry["file"], entry["type"]) for entry in index if entry["kind"] == kind]


@pytest.mark.parametrize(("name", "source"), corpus_entries("request"))
def test_invoke_names_the_front_door_of_each_real_event(
    capsys: pytest.CaptureFixture[str], handlers: Path, name: str, source: str
) -> None:
    path = str(LAMBDA_EVENTS / name)
    code, out, err = run(capsys, "invoke", f"{handlers}:complete", "--event", path)
    assert (code, err) == (0, "")
    assert split_invoke_output(out, FRONT_DOOR_LINES[source])[1] == (
        "HTTP/1.1 200 OK\ncontent-type: text/plain\n\nok\n"
    )


# What invoke says of the corpus's non-HTTP events, by their type in its index.
CORPUS_NON_HTTP = {
    "scheduled": "not an HTTP request: this is an EventBridge scheduled event",
    "eventbridge": "not an HTTP request: this is an EventBridge event",
    "sqs": "not an HTTP request: this is an SQS message batch",
    "warmer": "not an HTTP request: this is a warmer ping (serverless-plugin-warmup)",
    "apigw-websocket": "not an HTTP request: this is an API Gateway ",  # or its authorizer's
    "unknown": "not an event from a source alb_adapter serves",
}


@pytest.mark.parametrize(("name", "kind"), corpus_entries("non-http"))
def test_invoke_refuses_each_real_non_http_event(
    capsys: pytest.CaptureFixture[str], name: str, kind: str
) -> None:
    path = str(LAMBDA_EVENTS / name)
    result = run(capsys, "invoke", UNBOUND_TARGET, "--event", path)
    assert_error(result, f"alb-adapter: {path}: {CORPUS_NON_HTTP[kind]}")


@pytest.mark.parametrize(
    ("target", "message"),
    [
        (
            "no_such_module_xyz:handler",
            "no_such_module_xyz:handler: no module named 'no_such_module_xyz'",
        ),
        (f"{FLASK_FILE}:nope", f"{FLASK_FILE}:nope: '{FLASK_FILE}' has no attribute 'nope'"),
        # The path as given (invoke) or made absolute for the environment processes (serve).
        ("missing/app.py:handler", "missing/app.py:handler: no such file '"),
        ("handler", "handler: expected 'module:attr', 'path/to/file.py:attr' or Lambda's"),
        (f"{FLASK_FILE}:LOGO_PNG", "is a bytes, not a handler or an app"),
    ],
)
def test_bad_targets(capsys: pytest.CaptureFixture[str], target: str, message: str) -> None:
    assert_error(run(capsys, "invoke", target), message)
    assert_error(run(capsys, "serve", target, "--port", "0"), message)


def test_base_path_cannot_reach_a_ready_made_handler(capsys: pytest.CaptureFixture[str]) -> None:
    message = f"{FLASK} is already a handler; give base_path to it in your code"
    assert_error(run(capsys, "invoke", FLASK, "--base-path", "/shop"), message)
    assert_error(run(capsys, "serve", FLASK, "--base-path", "/shop", "--port", "0"), message)


# --------------------------------------------------------------------------- serve: errors

RULES = """
[targets.app]
handler = "{handler}"
multi_value_headers = true
timeout = 5

[[rules]]
priority = 10
conditions = [{{ field = "path-pattern", values = ["/api/*"] }}]
actions = [{{ type = "fixed-response", status_code = "503", message_body = "later" }}]

[default_action]
type = "forward"
target_group = "app"
"""


def test_serve_needs_a_target_or_a_config(capsys: pytest.CaptureFixture[str]) -> None:
    assert_error(run(capsys, "serve"), "give a TARGET ('module:attr', 'path/to/file.py:attr'")


def test_serve_config_names_the_targets(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    config = str(tmp_path / "rules.toml")
    assert_error(
        run(capsys, "serve", FLASK, "--config", config),
        f"give TARGET or --config, not both: {config} names its own targets",
    )
    for flag in (["--multi-value-headers"], ["--timeout", "3"]):
        assert_error(
            run(capsys, "serve", "--config", config, *flag),
            f"{flag[0]} is set per target in {config}, not on the command line",
        )


def test_serve_config_file_errors(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    missing = tmp_path / "missing.toml"
    assert_error(run(capsys, "serve", "--config", str(missing)), f"{missing}: no such file")
    broken = tmp_path / "broken.toml"
    broken.write_text("[rules\n")
    assert_error(run(capsys, "serve", "--config", str(broken)), f"{broken}: invalid TOML")
    invalid = tmp_path / "invalid.toml"
    invalid.write_text(RULES.format(handler="x:y").replace('["/api/*"]', "[]"))
    assert_error(
        run(capsys, "serve", "--config", str(invalid)),
        f"{invalid}: rules[0] (priority 10): conditions[0]",
    )


def test_serve_config_target_that_cannot_load(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    config = tmp_path / "rules.toml"
    config.write_text(RULES.format(handler="no_such_module_xyz:handler"))
    assert_error(
        run(capsys, "serve", "--config", str(config), "--port", "0"),
        "no_such_module_xyz:handler: no module named 'no_such_module_xyz'",
    )


def test_serve_port_in_use(capsys: pytest.CaptureFixture[str], handlers: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        code, out, err = run(capsys, "serve", f"{handlers}:echo", "--port", str(port))
    assert (code, out) == (1, "")
    assert err == (
        f"alb-adapter: port {port} on 127.0.0.1 is already in use (another server?); "
        f"try --port {port + 1}\n"
    )


def test_serve_without_the_local_extra(
    capsys: pytest.CaptureFixture[str], handlers: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "uvicorn", None)  # import uvicorn -> ImportError
    assert_error(
        run(capsys, "serve", f"{handlers}:echo"),
        "serve needs the 'local' extra: pip install 'alb-adapter[local]'",
    )


# --------------------------------------------------------------------------- serve --reload


def test_reload_hands_the_options_to_the_factory(
    capsys: pytest.CaptureFixture[str], handlers: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`serve --reload` runs uvicorn's reloader on the import-string factory, which rebuilds the
    same emulator in each worker process from the environment."""
    import uvicorn.supervisors

    started: list[Any] = []

    class FakeReload:
        def __init__(self, config: Any, *, target: Any, sockets: list[socket.socket]) -> None:
            started.append((config, sockets[0].getsockname()))

        def run(self) -> None:
            pass

    monkeypatch.setattr(uvicorn.supervisors, "ChangeReload", FakeReload)
    target = f"{handlers}:app"
    argv = ["--reload", "--multi-value-headers", "--timeout", "5", "--base-path", "/shop"]
    code, out, _ = run(capsys, "serve", target, *argv, "--port", "0")
    assert code == 0
    [(config, (host, port))] = started
    assert out == f"Local ALB on http://127.0.0.1:{port} → {target} (multi-value headers)\n"
    assert (config.app, config.factory, config.reload) == (
        "alb_adapter.emulator.server:reload_app",
        True,
        True,
    )
    assert config.reload_dirs == [Path.cwd()]
    assert (config.host, config.port, host) == ("127.0.0.1", port, "127.0.0.1")

    app = server.reload_app()
    assert isinstance(app, ALBEmulator)
    [lambda_target] = app.config.targets.values()
    assert (lambda_target.handler, lambda_target.multi_value_headers, lambda_target.timeout) == (
        target,
        True,
        5.0,
    )
    assert app.handler_options == {"base_path": "/shop"}


# What may differ between the reloading server and the plain one: which app it runs and how.
RELOAD_ONLY = {"app", "factory", "reload", "reload_dirs", "reload_dirs_excludes", "port"}


def test_reload_serves_with_exactly_the_plain_servers_settings(
    capsys: pytest.CaptureFixture[str], handlers: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every uvicorn setting of `serve --reload` is the plain `serve`'s: no client X-Forwarded-*
    trusted, no Date or Server header added by uvicorn, no access log of its own."""
    import uvicorn.supervisors

    started: list[Any] = []

    class FakeReload:
        def __init__(self, config: Any, *, target: Any, sockets: list[socket.socket]) -> None:
            started.append(config)

        def run(self) -> None:
            pass

    monkeypatch.setattr(uvicorn.supervisors, "ChangeReload", FakeReload)
    code, _, _ = run(capsys, "serve", f"{handlers}:app", "--reload", "--port", "0")
    assert code == 0
    [reloading] = started
    plain = server.build_server(server.listener_config(PLAIN_OPTIONS)).config
    differing = {
        name
        for name in vars(plain).keys() | vars(reloading).keys()
        if getattr(plain, name, None) != getattr(reloading, name, None)
    }
    assert differing <= RELOAD_ONLY
    assert (reloading.proxy_headers, reloading.date_header, reloading.server_header) == (
        False,
        False,
        False,
    )


PLAIN_OPTIONS: server.ServeOptions = {
    "target": "cli_handlers:echo",
    "config": None,
    "multi_value_headers": False,
    "timeout": 30.0,
    "handler_options": {},
    "log_level": "info",
}


def test_reload_factory_with_a_config_file(
    tmp_path: Path, handlers: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "rules.toml"
    config.write_text(RULES.format(handler=f"{handlers}:echo"))
    options: server.ServeOptions = {
        "target": None,
        "config": str(config),
        "multi_value_headers": False,
        "timeout": 30.0,
        "handler_options": {},
        "log_level": "warning",
    }
    monkeypatch.setenv(server.RELOAD_ENV, json.dumps(options))
    app = server.reload_app()
    assert set(app.config.targets) == {"app"}
    assert app.config.targets["app"].multi_value_headers is True
    assert [rule.priority for rule in app.config.rules] == [10]


def test_reload_factory_needs_its_options(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(server.RELOAD_ENV)
    with pytest.raises(RuntimeError, match="for 'alb-adapter serve --reload'"):
        server.reload_app()


# --------------------------------------------------------------------------- as processes


def subprocess_env() -> dict[str, str]:
    return {**os.environ, "PYTHONIOENCODING": "utf-8", "PYTHONPATH": str(ROOT)}


def test_python_dash_m(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "alb_adapter", "event", "/x"],
        capture_output=True,
        text=True,
        check=False,
        env=subprocess_env(),
        timeout=30,
    )
    assert (result.returncode, result.stderr) == (0, "")
    event = json.loads(result.stdout)
    assert event == make_event("GET", "/x", trace_id=trace_id(event))

    result = subprocess.run(
        [sys.executable, "-m", "alb_adapter", "invoke", "nowhere_xyz:handler"],
        capture_output=True,
        text=True,
        check=False,
        env=subprocess_env(),
        timeout=30,
    )
    expected = "alb-adapter: nowhere_xyz:handler: no module named 'nowhere_xyz'\n"
    assert (result.returncode, result.stdout, result.stderr) == (1, "", expected)


def console_script() -> str | None:
    beside = Path(sys.executable).parent / "alb-adapter"
    return str(beside) if beside.is_file() else shutil.which("alb-adapter")


@pytest.mark.skipif(
    console_script() is None, reason="the package is not installed (pip install -e .)"
)
def test_console_script() -> None:
    script = console_script()
    assert script is not None
    result = subprocess.run(
        [script, "--version"], capture_output=True, text=True, check=False, timeout=30
    )
    assert (result.returncode, result.stdout) == (0, f"alb-adapter {alb_adapter.__version__}\n")
    result = subprocess.run(
        [script, "event", "HEAD", "/y"], capture_output=True, text=True, check=False, timeout=30
    )
    assert result.returncode == 0
    assert json.loads(result.stdout)["httpMethod"] == "HEAD"


needs_console_script = pytest.mark.skipif(
    console_script() is None, reason="the package is not installed (pip install -e .)"
)


def run_script(*argv: str) -> tuple[int, str, str]:
    script = console_script()
    assert script is not None
    result = subprocess.run(
        [script, *argv],
        capture_output=True,
        text=True,
        check=False,
        env=subprocess_env(),
        timeout=30,
    )
    return result.returncode, result.stdout, result.stderr


@needs_console_script
@pytest.mark.parametrize("command", [[], ["serve"], ["invoke"], ["event"]])
def test_help_names_no_file_a_pip_user_lacks(command: list[str]) -> None:
    """Only the package and the README reach a pip user: help points to README sections."""
    code, out, err = run_script(*command, "--help")
    assert (code, err) == (0, "")
    assert not re.search(r"docs/|examples/|\.md\b", out), out
    if not command or command == ["serve"]:
        assert 'the README\'s "The local ALB and the CLI" section' in out


@needs_console_script
def test_event_with_an_empty_host_has_no_host_header() -> None:
    for argv, multi in (
        (["/x", "--host", ""], False),
        (["/x", "--host=", "--multi-value-headers"], True),
    ):
        code, out, err = run_script("event", *argv)
        assert (code, err) == (0, "")
        event = json.loads(out)
        expected = make_event(
            "GET", "/x", host=None, multi_value_headers=multi, trace_id=trace_id(event)
        )
        assert event == expected
        assert "host" not in (event.get("headers") or event["multiValueHeaders"])


@needs_console_script
@pytest.mark.parametrize(
    ("argv", "path", "multi"),
    [
        ([], "/", False),
        (["/health?deep=1"], "/health?deep=1", False),
        (["/health", "--multi-value-headers"], "/health", True),
    ],
)
def test_event_health_check_is_make_health_check_event(
    argv: list[str], path: str, multi: bool
) -> None:
    code, out, err = run_script("event", "--health-check", *argv)
    assert (code, err) == (0, "")
    event = json.loads(out)
    assert event == make_health_check_event(path, multi_value_headers=multi)
    headers = event.get("headers") or event["multiValueHeaders"]
    assert list(headers) == ["user-agent"]  # no Host, no X-Forwarded-*, no trace id
    assert event["httpMethod"] == "GET"


@needs_console_script
def test_invoke_refuses_a_non_http_event_in_one_line_in_a_real_process(
    handlers: Path, tmp_path: Path
) -> None:
    """With the command's own logging: loading this bare app logs a line as it is wrapped, but a
    non-HTTP event is refused before the target is loaded, so stderr is that one line."""
    code, _, err = run_script("invoke", f"{handlers}:app")
    assert code == 0
    assert "WSGIHandler" in err  # the premise: loading the target writes to stderr

    path = event_file(tmp_path, {"Records": [{"eventSource": "aws:sqs", "body": "{}"}]})
    code, out, err = run_script("invoke", f"{handlers}:app", "--event", path)
    assert (code, out, err.count("\n")) == (1, "", 1)
    assert err.startswith(
        f"alb-adapter: {path}: not an HTTP request: this is an SQS message batch, and "
        "alb_adapter serves HTTP requests only ("
    )


LARGE_ANSWER = """
def handler(event, context):
    return {"statusCode": 200, "headers": {"content-type": "text/plain"}, "body": "x" * 900_000}
"""


@needs_console_script
@pytest.mark.parametrize("command", ["event", "invoke"])
def test_a_reader_that_stops_early_ends_it_quietly(command: str, tmp_path: Path) -> None:
    """`alb-adapter ... | head -c 1`: no BrokenPipeError traceback, exit code 141 (128 + SIGPIPE),
    as a shell reports for a tool the pipe's reader left. The output is far larger than a pipe's
    buffer, so the writer is still writing when the reader goes."""
    if command == "event":
        (tmp_path / "body.bin").write_bytes(bytes(range(256)) * 4000)  # ~1.4 MB of base64
        argv = ["event", "POST", "/up", "--data-file", str(tmp_path / "body.bin")]
        first = b"{"
    else:
        (tmp_path / "large_answer.py").write_text(LARGE_ANSWER)
        argv = ["invoke", f"{tmp_path / 'large_answer.py'}:handler"]
        first = b"s"  # of "source: ALB (single-value headers)", then the large answer
    script = console_script()
    assert script is not None
    process = subprocess.Popen(
        [script, *argv], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=subprocess_env()
    )
    try:
        assert process.stdout is not None
        assert process.stdout.read(1) == first
        process.stdout.close()  # as `head -c 1` does once it has its byte
        _, err = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)
    assert err.decode() == ""
    assert process.returncode == cli.EXIT_BROKEN_PIPE == 141


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def test_serve_the_flask_example_over_http() -> None:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "alb_adapter", "serve", FLASK_RELATIVE, "--port", str(port)],
        cwd=ROOT,
        env=subprocess_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        with httpx.Client(base_url=base, trust_env=False, timeout=10) as client:
            deadline = time.monotonic() + 20
            while True:
                assert process.poll() is None, process.communicate()
                try:
                    home = client.get("/")
                    break
                except httpx.TransportError:
                    assert time.monotonic() < deadline, "the server did not answer within 20 s"
                    time.sleep(0.05)
            assert home.status_code == 200
            assert home.headers["content-type"] == "text/html; charset=utf-8"
            assert "<h1>alb-adapter Flask example</h1>" in home.text
            # The event ALB built carried the client and the listener as the app sees them.
            assert f'<link rel="canonical" href="{base}/">' in home.text

            logo = client.get("/logo.png")
            assert (logo.status_code, logo.headers["content-type"]) == (200, "image/png")
            assert logo.content.startswith(PNG_SIGNATURE)
            assert logo.content.endswith(b"IEND\xaeB`\x82")

            trace = client.request("TRACE", "/")
            assert (trace.status_code, trace.headers["server"]) == (405, "awselb/2.0")
            big = client.post("/", content=b"x" * 2_000_000)
            assert big.status_code == 413
    finally:
        process.terminate()
        out, err = process.communicate(timeout=15)
    if sys.platform != "win32":  # there, terminate() kills without a signal to handle
        assert process.returncode == 0, err
    assert out == f"Local ALB on {base} → {FLASK_RELATIVE} (single-value headers)\n"
    assert "Traceback" not in err
    for line in ('"GET /" 200', '"GET /logo.png" 200', '"TRACE /" 405', '"POST /" 413'):
        assert line in err
    assert err.rstrip().endswith(f"Finished server process [{process.pid}]")


FORWARDED_ECHO = """
import json

def app(environ, start_response):
    seen = {key: environ.get(key) for key in ("REMOTE_ADDR", "wsgi.url_scheme", "HTTP_X_FORWARDED_FOR")}
    start_response("200 OK", [("Content-Type", "application/json")])
    return [json.dumps(seen).encode()]
"""


def test_serve_reload_trusts_no_client_forwarded_headers_over_http(tmp_path: Path) -> None:
    """Over real HTTP, through uvicorn's reloader and its worker process: a client's own
    X-Forwarded-For and -Proto neither replace the peer nor the scheme, and there is one Date."""
    (tmp_path / "forwarded_echo.py").write_text(FORWARDED_ECHO)
    port = free_port()
    argv = ["-m", "alb_adapter", "serve", "forwarded_echo:app", "--reload", "--port", str(port)]
    process = subprocess.Popen(
        [sys.executable, *argv],
        cwd=tmp_path,
        env=subprocess_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # the reloader and its worker stop together, by this group's id
    )
    try:
        response = wait_for_get(process, port, "/", {"X-Forwarded-For": "203.0.113.66"}, 30)
        assert response.status == 200
        assert json.loads(response.body) == {
            "REMOTE_ADDR": "127.0.0.1",
            "wsgi.url_scheme": "http",
            "HTTP_X_FORWARDED_FOR": "203.0.113.66, 127.0.0.1",
        }
        assert [name for name, _ in response.headers if name.lower() == "date"] == ["date"]
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.communicate(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.communicate(timeout=15)


RELOADED_APP = """
def app(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"version %d"]
"""


def test_serve_reload_answers_an_explained_502_while_the_function_cannot_load(
    tmp_path: Path,
) -> None:
    """--reload with a syntax error being fixed: requests get ALB's 502 (the reason logged), never
    a hang; the fix serves again, the listener never restarted."""
    module = tmp_path / "reloaded.py"
    module.write_text(RELOADED_APP % 1)
    port = free_port()
    argv = ["-m", "alb_adapter", "serve", "reloaded:app", "--reload", "--port", str(port)]
    argv += ["--environments", "thread"]
    process = subprocess.Popen(
        [sys.executable, *argv],
        cwd=tmp_path,
        env=subprocess_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # the reloader and its worker stop together, by this group's id
    )

    def after_writing(source: str, expected: int) -> tuple[int, bytes]:
        """Write ``source``, then GET until the answer has ``expected`` status (30 s at most).
        The file is written again every 2 s: the reloader compares modification times with its
        first look, which may come after a write made right after the server started."""
        deadline = time.monotonic() + 30
        while True:
            module.write_text(source)
            written = time.monotonic()
            while time.monotonic() - written < 2:
                response = wait_for_get(process, port, "/", {}, 30)
                if response.status == expected or time.monotonic() > deadline:
                    return response.status, response.body
                time.sleep(0.2)

    try:
        assert wait_for_get(process, port, "/", {}, 30).body == b"version 1"
        status, body = after_writing("def app(environ, start_response:\n", 502)  # SyntaxError
        assert status == 502
        assert b"502 Bad Gateway" in body
        assert after_writing(RELOADED_APP % 2, 200) == (200, b"version 2")
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            _, err = process.communicate(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            _, err = process.communicate(timeout=15)
    assert "target lambda failed to load; it answers 502 until the next reload: " in err
    assert "SyntaxError" in err


class RawResponse:
    """A response as it came off the wire, every header line kept (httpx would merge them)."""

    def __init__(self, status: int, headers: list[tuple[str, str]], body: bytes) -> None:
        self.status = status
        self.headers = headers
        self.body = body


def wait_for_get(
    process: subprocess.Popen[str], port: int, path: str, headers: dict[str, str], seconds: float
) -> RawResponse:
    """GET ``path`` with ``headers`` (and X-Forwarded-Proto: https) once the server answers."""
    import http.client

    deadline = time.monotonic() + seconds
    while True:
        assert process.poll() is None, process.communicate()
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        try:
            connection.request("GET", path, headers={**headers, "X-Forwarded-Proto": "https"})
            answer = connection.getresponse()
            return RawResponse(answer.status, answer.getheaders(), answer.read())
        except OSError:
            assert time.monotonic() < deadline, f"the server did not answer within {seconds} s"
            time.sleep(0.1)
        finally:
            connection.close()
