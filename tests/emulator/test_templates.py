"""Reading a CloudFormation/SAM template into the local ALB's listener (emulator/templates.py)."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from typing import Any

import pytest

from alb_adapter import cli
from alb_adapter.emulator import server
from alb_adapter.emulator.rules import (
    Condition,
    FixedResponse,
    Forward,
    HealthCheck,
    QueryPair,
    Redirect,
    Rule,
    RuleRequest,
)
from alb_adapter.emulator.templates import TemplateError, load_template

pytest.importorskip("cfnlint", reason="the 'templates' extra (cfn-lint) reads templates")

HANDLER = "def handler(event, context):\n    return {'statusCode': 200, 'body': 'ok'}\n"

#: A listener with every kind of condition and action, through parameters and intrinsics.
FULL = """
AWSTemplateFormatVersion: "2010-09-09"
Transform: AWS::Serverless-2016-10-31
Parameters:
  Stage:
    Type: String
    Default: dev
  ApiHost:
    Type: String
    Default: api.example.com
Conditions:
  IsProd: !Equals [!Ref Stage, prod]
  NotProd: !Not [!Condition IsProd]
Globals:
  Function:
    Timeout: 12
    Environment:
      Variables:
        SHARED: everywhere
Resources:
  Listener:
    Type: AWS::ElasticLoadBalancingV2::Listener
    Properties:
      LoadBalancerArn: arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/x/y
      Protocol: HTTP
      Port: 80
      DefaultActions:
        - Type: fixed-response
          FixedResponseConfig:
            StatusCode: "404"
            ContentType: text/plain
            MessageBody: !Sub "nothing here (${Stage})"
  ApiRule:
    Type: AWS::ElasticLoadBalancingV2::ListenerRule
    Properties:
      ListenerArn: !Ref Listener
      Priority: !If [IsProd, 1, 2]
      Conditions:
        - Field: host-header
          HostHeaderConfig:
            Values: [!Ref ApiHost]
        - Field: http-header
          HttpHeaderConfig:
            HttpHeaderName: X-Canary
            Values: ["on"]
        - Field: query-string
          QueryStringConfig:
            Values:
              - Key: version
                Value: v1
      Actions:
        - Type: forward
          ForwardConfig:
            TargetGroups:
              - TargetGroupArn: !Ref Api
                Weight: 9
              - TargetGroupArn: !Ref Servers
                Weight: 1
  OldRule:
    Type: AWS::ElasticLoadBalancingV2::ListenerRule
    Properties:
      ListenerArn: !Ref Listener
      Priority: 30
      Conditions:
        - Field: http-request-method
          HttpRequestMethodConfig:
            Values: [GET]
        - Field: source-ip
          SourceIpConfig:
            Values: [10.0.0.0/8]
        - Field: path-pattern
          Values: ["/old/*"]
      Actions:
        - Type: redirect
          RedirectConfig:
            Host: !Sub "${Stage}.example.com"
            Path: "/new/#{path}"
            StatusCode: HTTP_302
  ApiFunction:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: src/
      Handler: app.handler
      Runtime: python3.12
      Environment:
        Variables:
          TABLE: !Sub "${AWS::StackName}-table"
          MODE: !If [NotProd, debug, !Ref AWS::NoValue]
  Permission:
    Type: AWS::Lambda::Permission
    Properties:
      FunctionName: !GetAtt ApiFunction.Arn
      Action: lambda:InvokeFunction
      Principal: elasticloadbalancing.amazonaws.com
  Api:
    Type: AWS::ElasticLoadBalancingV2::TargetGroup
    DependsOn: Permission
    Properties:
      TargetType: lambda
      Targets:
        - Id: !GetAtt ApiFunction.Arn
      HealthCheckEnabled: "true"
      HealthCheckPath: /ping
      HealthCheckIntervalSeconds: 10
      HealthCheckTimeoutSeconds: 5
      Matcher:
        HttpCode: 200-299
  Servers:
    Type: AWS::ElasticLoadBalancingV2::TargetGroup
    Properties:
      TargetType: instance
      Port: 80
      Protocol: HTTP
      VpcId: vpc-1
"""


def write(tmp_path: Path, text: str, name: str = "stack.yaml") -> Path:
    (tmp_path / "src").mkdir(exist_ok=True)
    (tmp_path / "src" / "app.py").write_text(HANDLER, encoding="utf-8")
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def request(path: str, **headers: str) -> RuleRequest:
    return RuleRequest.from_http(
        "GET", path, "", list(headers.items()), "10.1.2.3", scheme="http", port=80
    )


def test_every_condition_action_and_intrinsic(tmp_path: Path) -> None:
    path = write(tmp_path, FULL)
    config = load_template(path, target_urls={"Servers": "http://127.0.0.1:9000"})

    assert config.rules == (
        Rule(
            2,  # Fn::If: Stage is dev
            (
                Condition("host-header", ("api.example.com",)),
                Condition("http-header", ("on",), http_header_name="X-Canary"),
                Condition("query-string", query_pairs=(QueryPair("version", "v1"),)),
            ),
            Forward((("Api", 9), ("Servers", 1))),
        ),
        Rule(
            30,
            (
                Condition("http-request-method", ("GET",)),
                Condition("source-ip", ("10.0.0.0/8",)),
                Condition("path-pattern", ("/old/*",)),
            ),
            Redirect(302, host="dev.example.com", path="/new/#{path}"),
        ),
    )
    assert config.default_action == FixedResponse(404, "text/plain", "nothing here (dev)")
    api, servers = config.targets["Api"], config.targets["Servers"]
    assert (api.handler, api.url, api.multi_value_headers, api.timeout) == (
        "app.handler",
        None,
        False,
        12.0,
    )
    assert api.health_check == HealthCheck(True, "/ping", 10.0, 5.0, 5, 2, "200-299")
    assert api.task_root == str((tmp_path / "src").resolve())
    assert api.environment == (
        ("SHARED", "everywhere"),
        ("TABLE", "stack-table"),
        ("MODE", "debug"),
    )
    assert api.origin == f"{path}: Api (ApiFunction)"
    assert (servers.handler, servers.url) == (None, "http://127.0.0.1:9000")
    _, action = config.select(request("/old/a/b"))
    assert isinstance(action, Redirect)
    assert action.location(request("/old/a/b")) == "http://dev.example.com/new/old/a/b"


def test_parameters_given_on_the_command_line_win(tmp_path: Path) -> None:
    path = write(tmp_path, FULL)
    config = load_template(
        path,
        parameters={"Stage": "prod", "ApiHost": "prod-api.example.com"},
        target_urls={"Servers": "http://127.0.0.1:9000"},
    )
    [api_rule, old_rule] = config.rules
    assert api_rule.priority == 1
    assert api_rule.conditions[0] == Condition("host-header", ("prod-api.example.com",))
    assert old_rule.action == Redirect(302, host="prod.example.com", path="/new/#{path}")
    assert ("MODE", "debug") not in config.targets["Api"].environment  # AWS::NoValue


def test_a_json_template_reads_the_same(tmp_path: Path) -> None:
    template = {
        "Resources": {
            "Listener": {
                "Type": "AWS::ElasticLoadBalancingV2::Listener",
                "Properties": {
                    "Protocol": "HTTPS",
                    "Port": 443,
                    "DefaultActions": [
                        {
                            "Type": "redirect",
                            "RedirectConfig": {"Host": "www.example.com", "StatusCode": "HTTP_301"},
                        }
                    ],
                },
            }
        }
    }
    path = write(tmp_path, json.dumps(template), name="stack.json")
    config = load_template(path)
    assert (config.rules, config.targets) == ((), {})
    assert config.default_action == Redirect(301, host="www.example.com")


def test_rules_joining_a_listener_outside_the_template_get_a_404_default(tmp_path: Path) -> None:
    """The Flask example's shape: the listener's ARN is a parameter."""
    path = write(
        tmp_path,
        """
        Parameters:
          ListenerArn: {Type: String}
        Resources:
          Rule:
            Type: AWS::ElasticLoadBalancingV2::ListenerRule
            Properties:
              ListenerArn: !Ref ListenerArn
              Priority: 7
              Conditions:
                - {Field: path-pattern, PathPatternConfig: {Values: [/shop, /shop/*]}}
              Actions:
                - {Type: fixed-response, FixedResponseConfig: {StatusCode: "200"}}
        """,
    )
    config = load_template(path, parameters={"ListenerArn": "arn:aws:elasticloadbalancing:x"})
    assert config.rules == (
        Rule(7, (Condition("path-pattern", ("/shop", "/shop/*")),), FixedResponse(200)),
    )
    assert config.default_action == FixedResponse(
        404,
        "text/plain",
        "No listener rule matched (the listener's default action is not in the template)",
    )


ONE_RULE = """
Resources:
  Listener:
    Type: AWS::ElasticLoadBalancingV2::Listener
    Properties:
      Protocol: HTTP
      Port: 80
      DefaultActions: [{Type: fixed-response, FixedResponseConfig: {StatusCode: "404"}}]
  AccountRule:
    Type: AWS::ElasticLoadBalancingV2::ListenerRule
    Properties:
      ListenerArn: !Ref Listener
      Priority: PRIORITY
      Conditions: [{Field: FIELD, PathPatternConfig: {Values: [/account/*]}}]
      Actions: [{Type: forward, TargetGroupArn: !Ref Servers}]
  Servers:
    Type: AWS::ElasticLoadBalancingV2::TargetGroup
    Properties: {TargetType: ip, Port: 80, Protocol: HTTP, VpcId: vpc-1}
"""


@pytest.mark.parametrize(
    ("priority", "field", "urls", "parameters", "message"),
    [
        (
            "10",
            "path-patern",
            {"Servers": "http://127.0.0.1:1"},
            {},
            "AccountRule: Conditions[0].Field: 'path-patern' is not one of path-pattern, "
            "host-header, http-header, http-request-method, query-string, source-ip",
        ),
        (
            "60000",
            "path-pattern",
            {"Servers": "http://127.0.0.1:1"},
            {},
            "AccountRule: priority: must be from 1 to 50000, not 60000",
        ),
        (
            "!ImportValue shared-priority",
            "path-pattern",
            {"Servers": "http://127.0.0.1:1"},
            {},
            "AccountRule.Priority: cannot evaluate Fn::ImportValue 'shared-priority' locally",
        ),
        (
            "!Ref Missing",
            "path-pattern",
            {"Servers": "http://127.0.0.1:1"},
            {},
            "AccountRule.Priority: Ref 'Missing': no value (a parameter without a Default "
            "needs --parameter Missing=...)",
        ),
        (
            "10",
            "path-pattern",
            {},
            {},
            "Servers: a target group of type ip is a server: give its address with "
            "--target-url Servers=http://127.0.0.1:PORT",
        ),
        (
            "10",
            "path-pattern",
            {"Servers": "ftp://x"},
            {},
            "Servers.url: 'ftp://x': must be http(s)://host[:port][/prefix]",
        ),
        (
            "10",
            "path-pattern",
            {"Servers": "http://127.0.0.1:1", "Other": "http://127.0.0.1:2"},
            {},
            "--target-url Other: no instance/ip target group of the listener has that logical "
            "id (its target groups: Servers)",
        ),
        (
            "10",
            "path-pattern",
            {"Servers": "http://127.0.0.1:1"},
            {"Stage": "prod"},
            "--parameter Stage: the template has no such parameter (parameters: none)",
        ),
    ],
    ids=[
        "field-typo",
        "priority",
        "import-value",
        "missing-parameter",
        "no-target-url",
        "bad-target-url",
        "unknown-target-url",
        "unknown-parameter",
    ],
)
def test_one_clear_error_naming_the_logical_id(
    tmp_path: Path,
    priority: str,
    field: str,
    urls: dict[str, str],
    parameters: dict[str, str],
    message: str,
) -> None:
    path = write(tmp_path, ONE_RULE.replace("PRIORITY", priority).replace("FIELD", field))
    with pytest.raises(TemplateError) as caught:
        load_template(path, parameters=parameters, target_urls=urls)
    assert str(caught.value) == f"{path}: {message}"


def test_function_code_outside_a_local_directory_is_named(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        Resources:
          Listener:
            Type: AWS::ElasticLoadBalancingV2::Listener
            Properties:
              Protocol: HTTP
              Port: 80
              DefaultActions: [{Type: forward, TargetGroupArn: !Ref Fn}]
          Function:
            Type: AWS::Lambda::Function
            Properties:
              Handler: app.handler
              Code: {S3Bucket: my-bucket, S3Key: app.zip}
          Fn:
            Type: AWS::ElasticLoadBalancingV2::TargetGroup
            Properties:
              TargetType: lambda
              Targets: [{Id: !GetAtt Function.Arn}]
        """,
    )
    with pytest.raises(TemplateError) as caught:
        load_template(path)
    assert str(caught.value) == (
        f"{path}: Function: Code: {{'S3Bucket': 'my-bucket', 'S3Key': 'app.zip'}}: the local "
        "ALB runs code from a local directory (CodeUri: path/to/dir)"
    )


def test_an_unreadable_template_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text("Resources: [unclosed\n", encoding="utf-8")
    with pytest.raises(TemplateError) as caught:
        load_template(path)
    assert str(caught.value).startswith(f"{path}: ")
    assert "\n" not in str(caught.value)


# --------------------------------------------------------------------------- serve --template


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            ["--template", "t.yaml", "--config", "rules.toml"],
            "give TARGET, --config or --template, not two: t.yaml names its own targets "
            "(got --config too)",
        ),
        (
            ["app:handler", "--template", "t.yaml"],
            "give TARGET, --config or --template, not two: t.yaml names its own targets "
            "(got TARGET too)",
        ),
        (
            ["--template", "t.yaml", "--timeout", "3"],
            "--timeout is set per target group or function in t.yaml, not on the command line",
        ),
        (["app:handler", "--listener", "Public"], "--listener applies to --template only"),
        (["app:handler", "--parameter", "A=1"], "--parameter applies to --template only"),
        (
            ["--config", "rules.toml", "--target-url", "Legacy=http://x"],
            "--target-url applies to --template only",
        ),
        (
            ["--template", "t.yaml", "--target-url", "Legacy"],
            "argument --target-url: --target-url 'Legacy': write LogicalId=http://host:port "
            "(see 'alb-adapter serve --help')",
        ),
    ],
    ids=["config", "target", "timeout", "listener", "parameter", "target-url", "no-equals"],
)
def test_serve_template_refuses_what_does_not_fit(
    capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    assert cli.main(["serve", *argv]) == 1
    assert capsys.readouterr().err == f"alb-adapter: {message}\n"


def test_serve_template_names_the_logical_id_before_listening(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path, ONE_RULE.replace("PRIORITY", "10").replace("FIELD", "path-pattern"))
    assert cli.main(["serve", "--template", str(path), "--port", "0"]) == 1
    assert capsys.readouterr().err == (
        f"alb-adapter: {path}: Servers: a target group of type ip is a server: give its address "
        "with --target-url Servers=http://127.0.0.1:PORT\n"
    )


# Two HTTPS listeners of one load balancer, and the Lambda function the second forwards to.
TWO_LISTENERS = """
Resources:
  Public:
    Type: AWS::ElasticLoadBalancingV2::Listener
    Properties:
      Protocol: HTTPS
      Port: 443
      DefaultActions: [{Type: fixed-response, FixedResponseConfig: {StatusCode: "404"}}]
  Admin:
    Type: AWS::ElasticLoadBalancingV2::Listener
    Properties:
      Protocol: HTTPS
      Port: 8443
      DefaultActions: [{Type: forward, TargetGroupArn: !Ref Fn}]
  Function:
    Type: AWS::Lambda::Function
    Properties:
      Code: src/
      Handler: app.handler
      Runtime: python3.12
  Fn:
    Type: AWS::ElasticLoadBalancingV2::TargetGroup
    Properties:
      TargetType: lambda
      Targets: [{Id: !GetAtt Function.Arn}]
"""


def test_a_template_with_several_listeners_runs_the_one_chosen(tmp_path: Path) -> None:
    path = write(tmp_path, TWO_LISTENERS)
    with pytest.raises(TemplateError) as caught:
        load_template(path)
    assert str(caught.value) == (
        f"{path}: several listeners (Public, Admin): choose one with serve --listener ID "
        "(load_template(..., listener=ID) from Python)"
    )
    assert load_template(path, listener="Public").default_action == FixedResponse(404)
    admin = load_template(path, listener="Admin")
    assert admin.default_action == Forward((("Fn", 1),))
    options: server.ServeOptions = {
        "target": None,
        "config": None,
        "multi_value_headers": False,
        "timeout": 30.0,
        "handler_options": {},
        "log_level": "warning",
        "template": str(path),
        "listener": "Admin",
    }
    assert server.listener_config(options).default_action == admin.default_action


def test_serve_template_reloads_on_a_change_to_the_functions_code(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """`serve --template --reload` rebuilds the template's listener in each worker process and
    watches the functions' code folders (CodeUri) besides the current directory."""
    import uvicorn.supervisors

    started: list[Any] = []

    class FakeReload:
        def __init__(self, config: Any, *, target: Any, sockets: list[Any]) -> None:
            started.append(config)

        def run(self) -> None:
            pass

    monkeypatch.setattr(uvicorn.supervisors, "ChangeReload", FakeReload)
    monkeypatch.delenv(server.RELOAD_ENV, raising=False)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    path = write(tmp_path, TWO_LISTENERS)
    argv = ["serve", "--template", str(path), "--listener", "Admin", "--reload", "--no-inspect"]
    assert cli.main([*argv, "--port", "0"]) == 0
    [config] = started
    assert sorted(map(str, config.reload_dirs)) == sorted(
        [str(elsewhere.resolve()), str((tmp_path / "src").resolve())]
    )
    app = server.reload_app()
    try:
        assert app.config.default_action == Forward((("Fn", 1),))
        assert app.config.targets["Fn"].handler == "app.handler"
    finally:
        monkeypatch.delenv(server.RELOAD_ENV)
    capsys.readouterr()


AUTHENTICATED = """
Resources:
  Listener:
    Type: AWS::ElasticLoadBalancingV2::Listener
    Properties:
      LoadBalancerArn: arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/x/y
      Protocol: HTTPS
      Port: 443
      DefaultActions:
        - Type: fixed-response
          FixedResponseConfig: {StatusCode: "404"}
  AccountRule:
    Type: AWS::ElasticLoadBalancingV2::ListenerRule
    Properties:
      ListenerArn: !Ref Listener
      Priority: 10
      Conditions:
        - Field: path-pattern
          Values: ["/account/*"]
      Actions:
        - Type: forward
          Order: 2
          TargetGroupArn: !Ref Account
        - Type: authenticate-oidc
          Order: 1
          AuthenticateOidcConfig:
            Issuer: https://idp.example.com
            AuthorizationEndpoint: https://idp.example.com/authorize
            TokenEndpoint: https://idp.example.com/token
            UserInfoEndpoint: https://idp.example.com/userinfo
            ClientId: shop
            ClientSecret: "{{resolve:secretsmanager:idp:SecretString:secret}}"
            OnUnauthenticatedRequest: deny
            SessionTimeout: 3600
  AccountFunction:
    Type: AWS::Lambda::Function
    Properties:
      Code: src/
      Handler: app.handler
      Runtime: python3.12
      Role: arn:aws:iam::123456789012:role/fn
  Permission:
    Type: AWS::Lambda::Permission
    Properties:
      FunctionName: !GetAtt AccountFunction.Arn
      Action: lambda:InvokeFunction
      Principal: elasticloadbalancing.amazonaws.com
  Account:
    Type: AWS::ElasticLoadBalancingV2::TargetGroup
    DependsOn: Permission
    Properties:
      TargetType: lambda
      Targets:
        - Id: !GetAtt AccountFunction.Arn
"""


def test_an_authenticate_action_before_the_forward_is_played_by_the_local_alb(
    tmp_path: Path,
) -> None:
    """The actions in their Order; the identity provider's settings kept, its secret not read."""
    config = load_template(write(tmp_path, AUTHENTICATED))
    [rule] = config.rules
    assert rule.action == Forward((("Account", 1),))
    authenticate = rule.authenticate
    assert authenticate is not None
    assert (
        authenticate.kind,
        authenticate.issuer,
        authenticate.client_id,
        authenticate.on_unauthenticated_request,
        authenticate.session_timeout,
    ) == ("oidc", "https://idp.example.com", "shop", "deny", 3600)
    assert "secret" not in repr(authenticate)


def test_an_unknown_authenticate_setting_is_named(tmp_path: Path) -> None:
    text = AUTHENTICATED.replace("SessionTimeout: 3600", "SessionTimeOut: 3600")
    with pytest.raises(TemplateError) as raised:
        load_template(write(tmp_path, text))
    assert str(raised.value).startswith(
        f"{tmp_path / 'stack.yaml'}: AccountRule.Actions[0].AuthenticateOidcConfig.SessionTimeOut: "
        "not a setting of authenticate-oidc (its settings: Issuer, AuthorizationEndpoint, "
    )
