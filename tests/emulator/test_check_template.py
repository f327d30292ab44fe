"""``alb-adapter check-template``: deliberately broken copies of the migration example's template,
each caught with its logical id, what is wrong and the fix; cfn-lint passes every one of them
(which is why the command exists), and the repository's own templates pass both."""

from __future__ import annotations

from pathlib import Path

import pytest

from alb_adapter import cli

cfnlint_api = pytest.importorskip("cfnlint.api", reason="the 'templates' extra (cfn-lint)")

ROOT = Path(__file__).resolve().parents[2]
MIGRATION = ROOT / "examples" / "migration" / "template.yaml"
PERMISSION = """  # ALB invokes the function with its own service principal.
  AccountInvokePermission:
    Type: AWS::Lambda::Permission
    Properties:
      FunctionName: !GetAtt AccountFunction.Arn
      Action: lambda:InvokeFunction
      Principal: elasticloadbalancing.amazonaws.com
      SourceAccount: !Ref AWS::AccountId

"""
DEPENDS_ON = "    DependsOn: AccountInvokePermission\n"
COOKIE_WARNING = (
    "warning: Account: lambda.multi_value_headers.enabled is off, and "
    "../flask_app/flask_example.py sets cookies in 2 places: several Set-Cookie headers in one "
    "response then travel as case variants of the name, which AWS does not document "
    "(docs/alb-behaviour.md, rule 11), and repeated query parameters and headers reach the app "
    'as one value. Fix: add TargetGroupAttributes Key: lambda.multi_value_headers.enabled, Value: "true" '
    "(the handler reads either format)."
)

#: name -> (the edits, the lines check-template prints after "<file>: ", the exit status)
BROKEN: dict[str, tuple[list[tuple[str, str]], list[str], int]] = {
    "condition-field-typo": (
        [("- Field: path-pattern\n          PathPatternConfig:\n            Values: [/account",
          "- Field: path-patern\n          PathPatternConfig:\n            Values: [/account")],
        ["error: AccountRule: Conditions[0].Field 'path-patern' is not a condition field (the "
         "rule is refused at deploy time). Fix: write 'path-pattern'."],
        1,
    ),
    "condition-config-mismatch": (
        [("- Field: path-pattern\n          PathPatternConfig:\n            Values: [/robots",
          "- Field: host-header\n          PathPatternConfig:\n            Values: [/robots")],
        ["error: Robots: Conditions[0]: PathPatternConfig does not go with Field 'host-header'. "
         "Fix: write HostHeaderConfig, or change the Field."],
        1,
    ),
    "attribute-key-typo": (
        [("- Key: lambda.multi_value_headers.enabled", "- Key: lambda.multi_value_header.enabled")],
        ["error: Account: TargetGroupAttributes[0].Key 'lambda.multi_value_header.enabled' is "
         "not a target group attribute (the stack fails to create or update). Fix: write "
         "'lambda.multi_value_headers.enabled'.",
         COOKIE_WARNING],
        1,
    ),
    "health-check-timeout": (
        [("HealthCheckTimeoutSeconds: 30", "HealthCheckTimeoutSeconds: 40")],
        ["error: Account: HealthCheckTimeoutSeconds (40) is not below "
         "HealthCheckIntervalSeconds (35): ELBv2 refuses the target group. Fix: lower "
         "HealthCheckTimeoutSeconds below 35, or raise the interval."],
        1,
    ),
    "no-permission": (
        [(PERMISSION, ""), (DEPENDS_ON, "")],
        ["error: Account: no AWS::Lambda::Permission lets elasticloadbalancing.amazonaws.com "
         "invoke AccountFunction: registering the function as a target fails at deploy time. "
         "Fix: add a permission (FunctionName: !GetAtt AccountFunction.Arn, Action: "
         "lambda:InvokeFunction, Principal: elasticloadbalancing.amazonaws.com) and DependsOn: "
         "on it."],
        1,
    ),
    "no-depends-on": (
        [(DEPENDS_ON, "")],
        ["error: Account: the target group does not depend on AccountInvokePermission: "
         "CloudFormation may register the function before ALB may invoke it, and the deployment "
         "fails. Fix: add DependsOn: AccountInvokePermission to Account."],
        1,
    ),
    "multi-value-off": (
        [('Value: "true"', 'Value: "false"')],
        [COOKIE_WARNING],
        0,
    ),
}  # fmt: skip


def broken_copy(tmp_path: Path, edits: list[tuple[str, str]]) -> Path:
    """The migration template with ``edits`` applied, beside it (so CodeUri still points at the
    Flask example)."""
    text = MIGRATION.read_text(encoding="utf-8")
    for old, new in edits:
        assert text.count(old) == 1, old
        text = text.replace(old, new)
    directory = tmp_path / "migration"
    directory.mkdir()
    (tmp_path / "flask_app").symlink_to(MIGRATION.parent.parent / "flask_app")
    path = directory / "template.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def cfn_lint_errors(path: Path) -> list[str]:
    matches = cfnlint_api.lint_all(path.read_text(encoding="utf-8"))
    return [str(match) for match in matches if match.rule.id.startswith("E")]


@pytest.mark.parametrize("name", list(BROKEN))
def test_each_broken_template_is_caught_with_its_logical_id(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str
) -> None:
    edits, lines, status = BROKEN[name]
    path = broken_copy(tmp_path, edits)
    assert cfn_lint_errors(path) == []  # cfn-lint lets it through
    assert cli.main(["check-template", str(path)]) == status
    out, err = capsys.readouterr()
    errors = sum(line.startswith("error:") for line in lines)
    summary = f"{errors} error(s), {len(lines) - errors} warning(s)"
    assert out.splitlines() == [f"{path}: {line}" for line in lines] + [f"{path}: {summary}"]
    assert err == ""


def test_the_repository_templates_pass_both(capsys: pytest.CaptureFixture[str]) -> None:
    templates = sorted(ROOT.glob("examples/*/template.yaml"))
    assert [path.parent.name for path in templates] == ["fastapi_app", "flask_app", "migration"]
    for path in templates:
        assert cfn_lint_errors(path) == [], path
    assert cli.main(["check-template", *map(str, templates)]) == 0
    assert capsys.readouterr().out.splitlines() == [f"{path}: OK" for path in templates]


def test_an_unreadable_template_fails_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "missing.yaml"
    assert cli.main(["check-template", str(missing), str(MIGRATION)]) == 1
    out, err = capsys.readouterr()
    assert out.splitlines() == [f"{MIGRATION}: OK"]
    assert err == f"alb-adapter: {missing}: Template file not found: {missing}\n"
