"""Rules files as a user writes them: handler paths relative to the file (served over real HTTP
by `alb-adapter serve --config` from another directory), load errors that name the file, the rule
and the target, a path pattern that could never match, and one rule for numbers."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from alb_adapter.emulator.loader import TargetLoadError, load_lambda_target
from alb_adapter.emulator.rules import ConfigError, Target, load_config, parse_config

ROOT = Path(__file__).resolve().parents[2]
TIMEOUT = 10.0

HANDLER = """
def handler(event, context):
    return {"statusCode": 200, "headers": {"content-type": "text/plain"}, "body": "%s"}
"""

RULES = """
[targets.app]
handler = "{handler}"

[[rules]]
priority = 10
conditions = [{{ field = "path-pattern", values = ["/app/*"] }}]
actions = [{{ type = "forward", target_group = "app" }}]

[[rules]]
priority = 20
conditions = [{{ field = "path-pattern", values = ["/also/*"] }}]
actions = [{{ type = "forward", target_group = "app" }}]

[default_action]
type = "fixed-response"
status_code = "404"
"""


def site(tmp_path: Path, handler: str, files: dict[str, str]) -> Path:
    """A project folder: ``files`` and a rules.toml naming ``handler``; its rules file's path."""
    folder = tmp_path / "site"
    folder.mkdir()
    for name, text in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(text, encoding="utf-8")
    rules = folder / "rules.toml"
    rules.write_text(RULES.format(handler=handler), encoding="utf-8")
    return rules


def where(rules: Path) -> str:
    return f"{rules}: targets.app (forwarded to by rules[0] (priority 10), rules[1] (priority 20))"


# --------------------------------------------------------------------------- handler paths


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_serve_finds_a_relative_handler_file_beside_the_rules_file(tmp_path: Path) -> None:
    rules = site(tmp_path, "lambda/app.py:handler", {"lambda/app.py": HANDLER % "beside"})
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONIOENCODING": "utf-8"}
    argv = [sys.executable, "-m", "alb_adapter", "serve", "--config", str(rules)]
    process = subprocess.Popen(
        [*argv, "--port", str(port), "--log-level", "warning"],
        cwd=elsewhere,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        response = None
        deadline = time.monotonic() + 20.0
        with httpx.Client(timeout=TIMEOUT, trust_env=False) as client:
            while response is None:
                assert process.poll() is None, process.communicate(timeout=TIMEOUT)[1]
                assert time.monotonic() < deadline, "the local ALB did not start within 20 s"
                try:
                    response = client.get(f"http://127.0.0.1:{port}/app/x")
                except httpx.TransportError:
                    time.sleep(0.05)
    finally:
        process.terminate()  # this process only, by its pid
        try:
            _, err = process.communicate(timeout=TIMEOUT)
        except subprocess.TimeoutExpired:
            process.kill()
            _, err = process.communicate(timeout=TIMEOUT)
    assert (response.status_code, response.text) == (200, "beside")
    assert "Traceback" not in err


def test_a_relative_handler_file_is_read_from_the_rules_files_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rules = site(tmp_path, "lambda/app.py:handler", {"lambda/app.py": HANDLER % "x"})
    monkeypatch.chdir(tmp_path)
    target = load_config(rules).targets["app"]
    assert target.handler == f"{rules.parent / 'lambda' / 'app.py'}:handler"
    assert target.task_root == str(rules.parent)
    assert target.origin == where(rules)


def test_a_handler_module_is_imported_from_the_rules_files_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    module = "rules_file_module_beside"
    rules = site(tmp_path, f"{module}.handler", {f"{module}.py": HANDLER % "module"})
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", list(sys.path))
    monkeypatch.delitem(sys.modules, module, raising=False)
    target = load_config(rules).targets["app"]
    assert target.handler == f"{module}.handler"  # a module spec is kept as written
    handler = load_lambda_target(target)
    assert handler({}, None)["body"] == "module"


def test_a_handler_file_found_only_from_the_current_directory_still_loads_with_a_warning(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / "old").mkdir()
    (tmp_path / "old" / "app.py").write_text(HANDLER % "old")
    rules = site(tmp_path, "old/app.py:handler", {})
    monkeypatch.chdir(tmp_path)
    caplog.set_level(logging.WARNING, logger="alb_adapter.emulator")
    target = load_config(rules).targets["app"]
    assert target.handler == f"{tmp_path / 'old' / 'app.py'}:handler"
    assert [r.getMessage() for r in caplog.records if r.name == "alb_adapter.emulator"] == [
        f"{where(rules)}: handler 'old/app.py:handler': old/app.py is found from the current "
        "directory only; a relative path is read from the rules file's directory: write "
        "'../old/app.py:handler'"
    ]


def test_a_missing_handler_file_names_the_file_the_target_and_its_rules(tmp_path: Path) -> None:
    rules = site(tmp_path, "lambda/app.py:handler", {})
    with pytest.raises(ConfigError) as error:
        load_config(rules)
    assert str(error.value) == (
        f"{where(rules)}: handler 'lambda/app.py:handler': no such file "
        f"'{rules.parent / 'lambda' / 'app.py'}' (a relative path is read from the rules "
        "file's directory)"
    )


def test_a_load_error_names_the_file_the_target_and_its_rules(tmp_path: Path) -> None:
    rules = site(tmp_path, "broken.py:handler", {"broken.py": "def handler(:\n"})
    target = load_config(rules).targets["app"]
    with pytest.raises(TargetLoadError) as error:
        load_lambda_target(target)
    message = str(error.value)
    spec = f"{rules.parent / 'broken.py'}:handler"
    assert message.startswith(
        f"{where(rules)}: {spec}: importing '{rules.parent / 'broken.py'}' failed: SyntaxError: "
    )


def test_a_target_no_rule_uses_says_so(tmp_path: Path) -> None:
    rules = tmp_path / "rules.toml"
    rules.write_text(
        '[targets.spare]\nurl = "http://127.0.0.1:9"\n'
        '[default_action]\ntype = "fixed-response"\nstatus_code = "404"\n'
    )
    assert load_config(rules).targets["spare"].origin == (
        f"{rules}: targets.spare (no rule forwards to it)"
    )


# --------------------------------------------------------------------------- path patterns


def one_rule(condition: dict[str, object], **action: object) -> dict[str, object]:
    return {
        "rules": [
            {
                "priority": 10,
                "conditions": [condition],
                "actions": [{"type": "fixed-response", "status_code": "200", **action}],
            }
        ],
        "default_action": {"type": "fixed-response", "status_code": "404"},
    }


def test_a_path_pattern_without_a_leading_slash_is_refused() -> None:
    data = one_rule({"field": "path-pattern", "values": ["/ok/*", "api/*"]})
    with pytest.raises(ConfigError) as error:
        parse_config(data, source="rules.toml")
    assert str(error.value) == (
        "rules.toml: rules[0] (priority 10): conditions[0].values[1]: 'api/*' never matches: "
        "a request path starts with '/' (write '/api/*')"
    )


@pytest.mark.parametrize("pattern", ["*.png", "?img/*"])
def test_a_path_pattern_starting_with_a_wildcard_is_accepted(pattern: str) -> None:
    config = parse_config(one_rule({"field": "path-pattern", "values": [pattern]}))
    assert config.rules[0].conditions[0].values == (pattern,)


# --------------------------------------------------------------------------- numbers


def test_numbers_may_be_written_as_integers_or_strings_of_digits() -> None:
    def config(number: type[int] | type[str]) -> dict[str, object]:
        return {
            "targets": {
                "a": {
                    "url": "http://127.0.0.1:9",
                    "timeout": number(30),
                    "health_check": {
                        "interval": number(10),
                        "timeout": number(5),
                        "healthy_threshold": number(3),
                        "unhealthy_threshold": number(4),
                        "matcher": number(200),
                    },
                },
                "b": {"url": "http://127.0.0.1:10"},
            },
            "rules": [
                {
                    "priority": number(10),
                    "conditions": [{"field": "path-pattern", "values": ["/f"]}],
                    "actions": [{"type": "fixed-response", "status_code": number(503)}],
                },
                {
                    "priority": number(20),
                    "conditions": [{"field": "path-pattern", "values": ["/r"]}],
                    "actions": [
                        {"type": "redirect", "port": number(8443), "status_code": "HTTP_301"}
                    ],
                },
                {
                    "priority": number(30),
                    "conditions": [{"field": "path-pattern", "values": ["/w"]}],
                    "actions": [
                        {
                            "type": "forward",
                            "target_groups": [
                                {"name": "a", "weight": number(9)},
                                {"name": "b", "weight": number(1)},
                            ],
                        }
                    ],
                },
            ],
            "default_action": {"type": "forward", "target_group": "a"},
        }

    as_integers = parse_config(config(int))
    assert parse_config(config(str)) == as_integers
    assert [rule.priority for rule in as_integers.rules] == [10, 20, 30]
    assert as_integers.targets["a"] == Target(
        "a",
        url="http://127.0.0.1:9",
        timeout=30.0,
        health_check=as_integers.targets["a"].health_check,
    )
    check = as_integers.targets["a"].health_check
    assert (check.interval, check.timeout, check.healthy_threshold, check.matcher) == (
        10.0,
        5.0,
        3,
        "200",
    )


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("priority", "ten", "priority: must be an integer, not 'ten'"),
        ("priority", "-5", "priority: must be an integer, not '-5'"),
        ("priority", 10.0, "priority: must be an integer, not a float"),
        ("priority", "0", "priority: must be from 1 to 50000, not 0"),
        ("status_code", 20.0, "actions[0].status_code: must be a string, not a float"),
        ("status_code", 302, "actions[0].status_code: must be a 2XX, 4XX or 5XX code, not '302'"),
    ],
)
def test_numbers_are_checked_against_the_apis_type_and_range(
    field: str, value: object, message: str
) -> None:
    data = one_rule({"field": "path-pattern", "values": ["/x"]})
    rule = data["rules"][0]  # type: ignore[index]
    if field == "priority":
        rule["priority"] = value
        prefix = "rules.toml: rules[0]"
    else:
        rule["actions"][0]["status_code"] = value
        prefix = "rules.toml: rules[0] (priority 10)"
    with pytest.raises(ConfigError) as error:
        parse_config(data, source="rules.toml")
    assert str(error.value) == f"{prefix}: {message}"
