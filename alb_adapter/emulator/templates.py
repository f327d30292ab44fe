"""The listener of a CloudFormation or SAM template, as the local ALB runs it.

A deployed site's load balancer is usually described once, in its template; reading that template
into the same ``ListenerConfig`` as a TOML rules file (``rules.py``) means the laptop runs what is
deployed, not a second description of it. The template is read by cfn-lint's own parser
(``cfnlint.decode``: YAML short forms such as ``!Ref``, JSON, duplicate keys), installed with the
``templates`` extra and imported only when a template is read.

What is read: the listener (``AWS::ElasticLoadBalancingV2::Listener``) and its default action, its
``ListenerRule`` resources (conditions, priority, one action: forward with weights, redirect,
fixed-response), the target groups they forward to (``TargetType: lambda``: the function, the
``lambda.multi_value_headers.enabled`` attribute and the health check; ``instance``/``ip``: the URL
given for the group's logical id, ``target_urls``), and the functions (``AWS::Serverless::Function``
with SAM's ``Globals``, ``AWS::Lambda::Function``: Handler, CodeUri or a local Code path as the task
root, Environment variables, Timeout). The listener rules are turned into the TOML file's shape and
validated by ``rules.parse_config``, so both formats obey exactly the same checks.

Intrinsic functions evaluated: ``Ref`` (parameters, pseudo parameters, resources), ``Fn::GetAtt``,
``Fn::Sub``, ``Fn::If`` with the template's ``Conditions`` (``Fn::Equals``, ``Fn::Not``,
``Fn::And``, ``Fn::Or``, ``Condition``), ``Fn::Join`` and ``Fn::Select``. A reference to a resource
stands for the resource itself (``ResourceRef``). Anything else (an ``Fn::ImportValue``, a parameter
without a value, a function code in S3) raises one ``TemplateError`` naming the logical id.

A template with no listener of its own (a rule added to an existing listener, whose ARN is a
parameter) gets a default action answering 404, as nothing else is known about that listener.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from .rules import ConfigError, ListenerConfig, parse_config

if TYPE_CHECKING:
    from collections.abc import Mapping

LISTENER = "AWS::ElasticLoadBalancingV2::Listener"
LISTENER_RULE = "AWS::ElasticLoadBalancingV2::ListenerRule"
TARGET_GROUP = "AWS::ElasticLoadBalancingV2::TargetGroup"
SERVERLESS_FUNCTION = "AWS::Serverless::Function"
LAMBDA_FUNCTION = "AWS::Lambda::Function"
LAMBDA_PERMISSION = "AWS::Lambda::Permission"
FUNCTION_TYPES = (SERVERLESS_FUNCTION, LAMBDA_FUNCTION)
MULTI_VALUE_ATTRIBUTE = "lambda.multi_value_headers.enabled"
#: What the pseudo parameters stand for locally (none of them changes how a request is routed).
PSEUDO_PARAMETERS = {
    "AWS::AccountId": "123456789012",
    "AWS::Region": "us-east-1",
    "AWS::Partition": "aws",
    "AWS::URLSuffix": "amazonaws.com",
    "AWS::StackId": "arn:aws:cloudformation:us-east-1:123456789012:stack/local/local",
}
#: The default action of a template whose rules join a listener defined elsewhere.
OUTSIDE_LISTENER_DEFAULT = {
    "type": "fixed-response",
    "status_code": "404",
    "content_type": "text/plain",
    "message_body": "No listener rule matched (the listener's default action is not in the "
    "template)",
}
#: ELBv2 condition fields and the property holding each one's values.
# The authenticate actions' configuration blocks, and their keys as the rules file names them.
AUTHENTICATE_CONFIGS = {
    "authenticate-oidc": "AuthenticateOidcConfig",
    "authenticate-cognito": "AuthenticateCognitoConfig",
}
AUTHENTICATE_KEYS = {
    "Issuer": "issuer",
    "AuthorizationEndpoint": "authorization_endpoint",
    "TokenEndpoint": "token_endpoint",
    "UserInfoEndpoint": "user_info_endpoint",
    "ClientId": "client_id",
    "UserPoolArn": "user_pool_arn",
    "UserPoolClientId": "user_pool_client_id",
    "UserPoolDomain": "user_pool_domain",
    "OnUnauthenticatedRequest": "on_unauthenticated_request",
    "SessionCookieName": "session_cookie_name",
    "SessionTimeout": "session_timeout",
    "Scope": "scope",
    "AuthenticationRequestExtraParams": "authentication_request_extra_params",
}

CONDITION_CONFIGS = {
    "path-pattern": "PathPatternConfig",
    "host-header": "HostHeaderConfig",
    "http-header": "HttpHeaderConfig",
    "http-request-method": "HttpRequestMethodConfig",
    "query-string": "QueryStringConfig",
    "source-ip": "SourceIpConfig",
}


class TemplateError(ConfigError):
    """A template the local ALB cannot run; the message names the file and the logical id:
    ``template.yaml: AccountRule: Conditions[0].Field: ...``."""


@dataclass(frozen=True)
class ResourceRef:
    """What ``Ref`` or ``Fn::GetAtt`` of a resource evaluates to: the resource, by logical id."""

    logical_id: str
    attribute: str | None = None

    def __str__(self) -> str:  # in Fn::Sub / Fn::Join: a stand-in for its physical id or ARN
        return self.logical_id if self.attribute is None else f"{self.logical_id}.{self.attribute}"


@dataclass(frozen=True)
class _FunctionPart:
    """What a TOML target table cannot hold: the function behind a Lambda target group, the
    directory its code is imported from (Lambda's task root) and its environment variables."""

    function: str | None = None
    task_root: str | None = None
    environment: tuple[tuple[str, str], ...] = ()


class _NoValue:
    """``AWS::NoValue``: the property it stands for is removed."""


NO_VALUE = _NoValue()


def read_template(path: str | Path) -> dict[str, object]:
    """The template as plain dicts and lists (YAML short forms as their ``Fn::`` long forms)."""
    try:
        from cfnlint.decode import (  # type: ignore[import-untyped,import-not-found,unused-ignore]
            decode,
        )
    except ImportError:
        raise TemplateError(
            f"{path}: reading a template needs cfn-lint: pip install 'alb-adapter[templates]'"
        ) from None
    template, problems = decode(str(path))
    if problems or template is None:
        reason = "; ".join(str(problem.message) for problem in problems) or "unreadable"
        raise TemplateError(f"{path}: {reason}")
    return _plain(template)  # type: ignore[return-value]


def _plain(value: object) -> object:
    """cfn-lint's nodes (dict and str subclasses carrying line marks) as plain Python values."""
    if isinstance(value, dict):
        return {str(key): _plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_plain(item) for item in value]
    if isinstance(value, bool):
        return bool(value)
    if isinstance(value, str):
        return str(value)
    return value


def load_template(
    path: str | Path,
    *,
    parameters: Mapping[str, str] | None = None,
    target_urls: Mapping[str, str] | None = None,
    listener: str | None = None,
) -> ListenerConfig:
    """The listener ``path`` describes, as ``rules.load_config`` gives a TOML file's.

    ``parameters`` override the template's parameter defaults (``--parameter Name=Value``);
    ``target_urls`` give each instance/ip target group's server by logical id
    (``--target-url Legacy=http://127.0.0.1:9000``); ``listener`` picks one listener when the
    template has several (by default: the only one, or the only HTTPS one).
    """
    source = str(path)
    template = read_template(path)
    reader = _TemplateReader(template, source, dict(parameters or {}), Path(path).resolve().parent)
    return reader.listener_config(dict(target_urls or {}), listener)


def _order(action: object) -> int:
    """An action's ``Order`` (ELBv2 runs a rule's actions by it), 0 when it has none."""
    order = _mapping(action).get("Order", 0)
    return order if isinstance(order, int) else int(str(order)) if str(order).isdigit() else 0


def _mapping(value: object) -> dict[str, object]:
    return {str(key): item for key, item in value.items()} if isinstance(value, dict) else {}


class _TemplateReader:
    """Evaluates a template's intrinsics and turns its load balancer into a ``ListenerConfig``."""

    def __init__(
        self, template: dict[str, object], source: str, parameters: dict[str, str], base: Path
    ) -> None:
        self.source = source
        self.base = base
        self.resources = {
            name: _mapping(resource)
            for name, resource in _mapping(template.get("Resources")).items()
        }
        self.globals = _mapping(_mapping(template.get("Globals")).get("Function"))
        self.parameters = self._parameter_values(_mapping(template.get("Parameters")), parameters)
        self.condition_specs = _mapping(template.get("Conditions"))
        self.conditions: dict[str, bool] = {}
        self.stack_name = Path(source).stem

    def fail(self, where: str, message: str) -> TemplateError:
        return TemplateError(f"{self.source}: {where}: {message}")

    # -- parameters and intrinsics -------------------------------------------------------------

    def _parameter_values(
        self, declared: dict[str, object], given: dict[str, str]
    ) -> dict[str, object]:
        unknown = sorted(set(given) - set(declared))
        if unknown:
            known = ", ".join(sorted(declared)) or "none"
            raise TemplateError(
                f"{self.source}: --parameter {unknown[0]}: the template has no such parameter "
                f"(parameters: {known})"
            )
        values: dict[str, object] = {}
        for name, spec in declared.items():
            if name in given:
                values[name] = given[name]
            elif "Default" in _mapping(spec):
                values[name] = _mapping(spec)["Default"]
            kind = str(_mapping(spec).get("Type", ""))
            is_list = kind.startswith("List<") or kind == "CommaDelimitedList"
            if is_list and isinstance(values.get(name), str):
                values[name] = [item.strip() for item in str(values[name]).split(",")]
        return values

    def condition(self, name: str, where: str) -> bool:
        if name not in self.conditions:
            if name not in self.condition_specs:
                raise self.fail(where, f"unknown condition {name!r}")
            self.conditions[name] = False  # a cycle reads as false instead of recursing forever
            self.conditions[name] = self.truth(self.condition_specs[name], f"Conditions.{name}")
        return self.conditions[name]

    def truth(self, value: object, where: str) -> bool:
        spec = _mapping(value)
        if len(spec) == 1:
            [(function, argument)] = spec.items()
            items = argument if isinstance(argument, list) else []
            if function == "Fn::Equals" and len(items) == 2:
                left, right = (self.evaluate(item, where) for item in items)
                return str(left) == str(right)
            if function == "Fn::Not" and len(items) == 1:
                return not self.truth(items[0], where)
            if function == "Fn::And" and items:
                return all(self.truth(item, where) for item in items)
            if function == "Fn::Or" and items:
                return any(self.truth(item, where) for item in items)
            if function == "Condition" and isinstance(argument, str):
                return self.condition(argument, where)
        raise self.fail(where, f"cannot evaluate the condition {value!r}")

    def evaluate(self, value: object, where: str) -> object:
        """``value`` with every intrinsic function evaluated (``NO_VALUE`` items removed)."""
        if isinstance(value, list):
            items = [self.evaluate(item, where) for item in value]
            return [item for item in items if item is not NO_VALUE]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            [(key, argument)] = value.items()
            if key == "Ref" or key.startswith("Fn::"):
                return self.intrinsic(key, argument, where)
        evaluated = {key: self.evaluate(item, f"{where}.{key}") for key, item in value.items()}
        return {key: item for key, item in evaluated.items() if item is not NO_VALUE}

    def intrinsic(self, function: str, argument: object, where: str) -> object:
        if function == "Ref" and isinstance(argument, str):
            return self.ref(argument, where)
        if function == "Fn::GetAtt":
            parts = argument.split(".", 1) if isinstance(argument, str) else argument
            if isinstance(parts, list) and len(parts) == 2 and parts[0] in self.resources:
                return ResourceRef(str(parts[0]), str(self.evaluate(parts[1], where)))
            raise self.fail(where, f"Fn::GetAtt {argument!r}: no such resource")
        if function == "Fn::Sub":
            return self.substitute(argument, where)
        if function == "Fn::If" and isinstance(argument, list) and len(argument) == 3:
            chosen = argument[1] if self.condition(str(argument[0]), where) else argument[2]
            return self.evaluate(chosen, where)
        if function == "Fn::Join" and isinstance(argument, list) and len(argument) == 2:
            items = self.evaluate(argument[1], where)
            if isinstance(items, list):
                return str(argument[0]).join(str(item) for item in items)
        if function == "Fn::Select" and isinstance(argument, list) and len(argument) == 2:
            items = self.evaluate(argument[1], where)
            index = self.evaluate(argument[0], where)
            if isinstance(items, list) and str(index).isdigit() and int(str(index)) < len(items):
                return items[int(str(index))]
        raise self.fail(where, f"cannot evaluate {function} {argument!r} locally")

    def ref(self, name: str, where: str) -> object:
        if name in self.parameters:
            return self.parameters[name]
        if name in PSEUDO_PARAMETERS:
            return PSEUDO_PARAMETERS[name]
        if name == "AWS::StackName":
            return self.stack_name
        if name == "AWS::NoValue":
            return NO_VALUE
        if name in self.resources:
            return ResourceRef(name)
        if name.startswith("AWS::"):
            raise self.fail(where, f"Ref {name!r}: this pseudo parameter has no local value")
        raise self.fail(
            where,
            f"Ref {name!r}: no value (a parameter without a Default needs --parameter {name}=...)",
        )

    def substitute(self, argument: object, where: str) -> str:
        if isinstance(argument, list) and len(argument) == 2:
            text, names = argument[0], _mapping(argument[1])
        else:
            text, names = argument, {}
        if not isinstance(text, str):
            raise self.fail(where, f"Fn::Sub {argument!r}: not a string")
        local = {name: self.evaluate(value, where) for name, value in names.items()}
        out: list[str] = []
        position = 0
        while (start := text.find("${", position)) != -1:
            out.append(text[position:start])
            if text.startswith("${!", start):  # ${!Literal} writes ${Literal}
                end = text.index("}", start)
                out.append("${" + text[start + 3 : end] + "}")
                position = end + 1
                continue
            end = text.find("}", start)
            if end == -1:
                raise self.fail(where, f"Fn::Sub {text!r}: unclosed '${{'")
            name = text[start + 2 : end]
            if name in local:
                value = local[name]
            elif "." in name and name.split(".", 1)[0] in self.resources:
                value = ResourceRef(*name.split(".", 1))
            else:
                value = self.ref(name, where)
            out.append(str(value))
            position = end + 1
        out.append(text[position:])
        return "".join(out)

    def properties(self, logical_id: str) -> dict[str, object]:
        """A resource's properties, evaluated (SAM's ``Globals`` beneath a function's own)."""
        resource = self.resources[logical_id]
        raw = _mapping(resource.get("Properties"))
        if resource.get("Type") == SERVERLESS_FUNCTION:
            raw = {**self.globals, **raw}
            if "Environment" in self.globals and "Environment" in _mapping(
                resource.get("Properties")
            ):
                variables = {
                    **_mapping(_mapping(self.globals["Environment"]).get("Variables")),
                    **_mapping(_mapping(raw["Environment"]).get("Variables")),
                }
                raw["Environment"] = {"Variables": variables}
        return _mapping(self.evaluate(raw, logical_id))

    def is_active(self, logical_id: str) -> bool:
        """Whether the resource exists in this stack (its ``Condition``, if any, is true)."""
        condition = self.resources[logical_id].get("Condition")
        return condition is None or self.condition(str(condition), logical_id)

    def of_type(self, kind: str) -> list[str]:
        return [
            name
            for name, resource in self.resources.items()
            if resource.get("Type") == kind and self.is_active(name)
        ]

    # -- the listener --------------------------------------------------------------------------

    def pick_listener(self, wanted: str | None) -> str | None:
        listeners = self.of_type(LISTENER)
        if wanted is not None:
            if wanted not in listeners:
                known = ", ".join(listeners) or "none"
                raise TemplateError(f"{self.source}: no listener {wanted!r} (listeners: {known})")
            return wanted
        if len(listeners) <= 1:
            return listeners[0] if listeners else None
        https = [name for name in listeners if self.properties(name).get("Protocol") == "HTTPS"]
        if len(https) == 1:
            return https[0]
        raise TemplateError(
            f"{self.source}: several listeners ({', '.join(listeners)}): choose one with "
            "serve --listener ID (load_template(..., listener=ID) from Python)"
        )

    def listener_config(self, target_urls: dict[str, str], wanted: str | None) -> ListenerConfig:
        listener = self.pick_listener(wanted)
        rule_ids: list[str] = []
        for rule_id in self.of_type(LISTENER_RULE):
            arn = self.properties(rule_id).get("ListenerArn")
            belongs = (
                arn == ResourceRef(listener)
                if listener
                else not (isinstance(arn, ResourceRef) and arn.logical_id in self.resources)
            )
            if belongs:
                rule_ids.append(rule_id)
        used: list[str] = []
        rules = [self.rule(rule_id, used) for rule_id in rule_ids]
        if listener is None:
            default: dict[str, object] = dict(OUTSIDE_LISTENER_DEFAULT)
        else:
            actions = self.properties(listener).get("DefaultActions")
            default = self.action(actions, f"{listener}.DefaultActions", used)
        targets = {name: self.target(name, target_urls) for name in dict.fromkeys(used)}
        unused = sorted(set(target_urls) - set(targets))
        if unused:
            raise TemplateError(
                f"{self.source}: --target-url {unused[0]}: no instance/ip target group of the "
                f"listener has that logical id (its target groups: {', '.join(targets) or 'none'})"
            )
        data = {
            "targets": {name: spec for name, (spec, _) in targets.items()},
            "rules": rules,
            "default_action": default,
        }
        protocol = None if listener is None else self.properties(listener).get("Protocol")
        try:
            config = parse_config(
                data,
                source=self.source,
                listener_protocol=protocol if protocol in ("HTTP", "HTTPS") else None,
            )
        except ConfigError as exc:
            raise TemplateError(self.by_logical_id(str(exc), rule_ids, listener)) from None
        placed = {
            name: dataclasses.replace(
                target,
                task_root=targets[name][1].task_root,
                environment=targets[name][1].environment,
                origin=f"{self.source}: {name}"
                + (f" ({targets[name][1].function})" if targets[name][1].function else ""),
            )
            for name, target in config.targets.items()
        }
        return dataclasses.replace(config, targets=placed)

    def by_logical_id(self, message: str, rule_ids: list[str], listener: str | None) -> str:
        """A ``parse_config`` error with its TOML position (``rules[1] (priority 20)``,
        ``default_action``) replaced by the resource it comes from."""
        prefix = f"{self.source}: "
        rest = message.removeprefix(prefix)
        for index, rule_id in enumerate(rule_ids):
            marker = f"rules[{index}]"
            if rest.startswith(marker):
                return f"{prefix}{rule_id}{rest[len(marker) :]}"
        if rest.startswith("default_action"):
            return f"{prefix}{listener}.DefaultActions{rest[len('default_action') :]}"
        if rest.startswith("targets."):
            return f"{prefix}{rest.removeprefix('targets.')}"
        return message

    # -- rules and actions ---------------------------------------------------------------------

    def rule(self, rule_id: str, used: list[str]) -> dict[str, object]:
        spec = self.properties(rule_id)
        conditions = spec.get("Conditions")
        if not isinstance(conditions, list):
            raise self.fail(rule_id, "Conditions: a list of conditions is required")
        return {
            "priority": spec.get("Priority"),
            "conditions": [
                self.condition_spec(item, f"{rule_id}: Conditions[{i}]")
                for i, item in enumerate(conditions)
            ],
            "actions": self.rule_actions(spec.get("Actions"), f"{rule_id}.Actions", used),
        }

    def rule_actions(self, actions: object, where: str, used: list[str]) -> list[dict[str, object]]:
        """A rule's actions: the one that answers, or an authenticate action and then it (in
        their ``Order``, as ELBv2 runs them). The local ALB plays the authenticate action with
        its own sign-in page (docs/emulator.md), so the identity provider's settings are kept
        for what they configure there and the client secret is not read at all."""
        if isinstance(actions, list) and len(actions) == 2:
            ordered = sorted(actions, key=_order)
            first = _mapping(ordered[0])
            if first.get("Type") in AUTHENTICATE_CONFIGS:
                return [
                    self.authenticate(first, f"{where}[0]"),
                    self.action([ordered[1]], where, used),
                ]
        return [self.action(actions, where, used)]

    def authenticate(self, action: dict[str, object], where: str) -> dict[str, object]:
        kind = str(action["Type"])
        config = _mapping(action.get(AUTHENTICATE_CONFIGS[kind]))
        out: dict[str, object] = {"type": kind}
        for key, value in config.items():
            if key in ("ClientSecret", "UseExistingClientSecret"):
                continue  # a secret, which the local sign-in does not need
            if key not in AUTHENTICATE_KEYS:
                raise TemplateError(
                    f"{self.source}: {where}.{AUTHENTICATE_CONFIGS[kind]}.{key}: not a setting of "
                    f"{kind} (its settings: {', '.join(AUTHENTICATE_KEYS)})"
                )
            out[AUTHENTICATE_KEYS[key]] = value
        return out

    def condition_spec(self, value: object, where: str) -> dict[str, object]:
        spec = _mapping(value)
        field = spec.get("Field")
        if field not in CONDITION_CONFIGS:
            raise TemplateError(
                f"{self.source}: {where}.Field: {field!r} is not one of "
                f"{', '.join(CONDITION_CONFIGS)}"
            )
        config = _mapping(spec.get(CONDITION_CONFIGS[str(field)]))
        values = config.get("Values", spec.get("Values"))
        out: dict[str, object] = {"field": field, "values": values}
        if field == "http-header":
            out["http_header_name"] = config.get("HttpHeaderName")
        if field == "query-string" and isinstance(values, list):
            out["values"] = [
                {
                    **({"key": pair["Key"]} if "Key" in _mapping(pair) else {}),
                    "value": _mapping(pair).get("Value"),
                }
                for pair in values
                if isinstance(pair, dict)
            ]
        return out

    def action(self, actions: object, where: str, used: list[str]) -> dict[str, object]:
        if not isinstance(actions, list) or not actions:
            raise TemplateError(f"{self.source}: {where}: a list of actions is required")
        kinds = [str(_mapping(action).get("Type")) for action in actions]
        if len(actions) != 1:
            raise TemplateError(
                f"{self.source}: {where}: {' + '.join(kinds)}: the local ALB runs one action per "
                "rule from a template (forward, redirect or fixed-response), or an authenticate "
                "action and then one"
            )
        action = _mapping(actions[0])
        kind = action.get("Type")
        if kind == "forward":
            groups = _mapping(action.get("ForwardConfig")).get("TargetGroups")
            if "TargetGroupArn" in action or not isinstance(groups, list):
                name = self.target_group_id(action.get("TargetGroupArn"), f"{where}[0]")
                used.append(name)
                return {"type": "forward", "target_group": name}
            weighted = []
            for i, group in enumerate(groups):
                name = self.target_group_id(
                    _mapping(group).get("TargetGroupArn"), f"{where}[0].TargetGroups[{i}]"
                )
                used.append(name)
                weighted.append({"name": name, "weight": _mapping(group).get("Weight", 1)})
            return {"type": "forward", "target_groups": weighted}
        if kind == "redirect":
            config = _mapping(action.get("RedirectConfig"))
            names = {
                "Protocol": "protocol",
                "Host": "host",
                "Port": "port",
                "Path": "path",
                "Query": "query",
                "StatusCode": "status_code",
            }
            return {"type": "redirect"} | {
                names[key]: value for key, value in config.items() if key in names
            }
        if kind == "fixed-response":
            config = _mapping(action.get("FixedResponseConfig"))
            names = {
                "StatusCode": "status_code",
                "ContentType": "content_type",
                "MessageBody": "message_body",
            }
            return {"type": "fixed-response"} | {
                names[key]: value for key, value in config.items() if key in names
            }
        raise TemplateError(
            f"{self.source}: {where}[0].Type: {kind!r}: the local ALB runs forward, redirect and "
            "fixed-response actions from a template"
        )

    def target_group_id(self, value: object, where: str) -> str:
        if (
            isinstance(value, ResourceRef)
            and self.resources.get(value.logical_id, {}).get("Type") == TARGET_GROUP
        ):
            return value.logical_id
        raise TemplateError(
            f"{self.source}: {where}.TargetGroupArn: {value!r} is not a target group of this "
            "template (write !Ref TheTargetGroup)"
        )

    # -- target groups and functions -----------------------------------------------------------

    def target(
        self, name: str, target_urls: dict[str, str]
    ) -> tuple[dict[str, object], _FunctionPart]:
        """The target group as a TOML target table, and what the TOML shape cannot hold (the
        function's task root, environment and logical id)."""
        spec = self.properties(name)
        kind = spec.get("TargetType", "instance")
        if kind != "lambda":
            if name not in target_urls:
                raise self.fail(
                    name,
                    f"a target group of type {kind} is a server: give its address with "
                    f"--target-url {name}=http://127.0.0.1:PORT",
                )
            return {"url": target_urls[name]}, _FunctionPart()
        targets = spec.get("Targets")
        if not isinstance(targets, list) or len(targets) != 1:
            raise self.fail(name, "Targets: a Lambda target group has exactly one function")
        function_ref = _mapping(targets[0]).get("Id")
        if not (
            isinstance(function_ref, ResourceRef)
            and self.resources.get(function_ref.logical_id, {}).get("Type") in FUNCTION_TYPES
        ):
            raise self.fail(
                name, f"Targets[0].Id: {function_ref!r} is not a function of this template"
            )
        function = function_ref.logical_id
        table, extra = self.function(function)
        attributes = {
            str(_mapping(item).get("Key")): _mapping(item).get("Value")
            for item in _list(spec.get("TargetGroupAttributes"))
        }
        multi = str(attributes.get(MULTI_VALUE_ATTRIBUTE, "false")).lower()
        if multi not in ("true", "false"):
            raise self.fail(name, f"{MULTI_VALUE_ATTRIBUTE}: {multi!r} is not true or false")
        table["multi_value_headers"] = multi == "true"
        health = self.health_check(spec)
        if health:
            table["health_check"] = health
        return table, dataclasses.replace(extra, function=function)

    def health_check(self, spec: dict[str, object]) -> dict[str, object]:
        names = {
            "HealthCheckEnabled": "enabled",
            "HealthCheckPath": "path",
            "HealthCheckIntervalSeconds": "interval",
            "HealthCheckTimeoutSeconds": "timeout",
            "HealthyThresholdCount": "healthy_threshold",
            "UnhealthyThresholdCount": "unhealthy_threshold",
        }
        out: dict[str, object] = {}
        for key, value in spec.items():
            if key in names:
                out[names[key]] = _boolean(value) if key == "HealthCheckEnabled" else value
        if "HttpCode" in _mapping(spec.get("Matcher")):
            out["matcher"] = _mapping(spec["Matcher"])["HttpCode"]
        return out

    def function(self, function: str) -> tuple[dict[str, object], _FunctionPart]:
        spec = self.properties(function)
        handler = spec.get("Handler")
        if not isinstance(handler, str) or not handler:
            raise self.fail(function, "Handler: required (e.g. app.handler)")
        code = spec.get("CodeUri", spec.get("Code"))
        if not isinstance(code, str):
            raise self.fail(
                function,
                f"{'CodeUri' if 'CodeUri' in spec else 'Code'}: {code!r}: the local ALB runs "
                "code from a local directory (CodeUri: path/to/dir)",
            )
        task_root = (self.base / code).resolve()
        if not task_root.is_dir():
            raise self.fail(
                function,
                f"CodeUri {code!r}: no such directory {str(task_root)!r} (read from the "
                "template's directory)",
            )
        table: dict[str, object] = {"handler": handler}
        if "Timeout" in spec:
            table["timeout"] = spec["Timeout"]
        variables = _mapping(_mapping(spec.get("Environment")).get("Variables"))
        environment = tuple((str(key), str(value)) for key, value in variables.items())
        return table, _FunctionPart(function, str(task_root), environment)


def _boolean(value: object) -> object:
    """``true``, ``"true"`` (as CloudFormation accepts either) → True; else unchanged."""
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    return value


def _list(value: object) -> list[object]:
    return value if isinstance(value, list) else []


# --------------------------------------------------------------------------------------------
# check-template: what breaks ALB -> Lambda and cfn-lint lets through.

#: Target group attribute keys of the ELBv2 API (ModifyTargetGroupAttributes); cfn-lint accepts
#: any string as a key, so a misspelt one is only refused at deploy time.
TARGET_GROUP_ATTRIBUTES = (
    "deregistration_delay.timeout_seconds",
    "deregistration_delay.connection_termination.enabled",
    "lambda.multi_value_headers.enabled",
    "load_balancing.algorithm.type",
    "load_balancing.algorithm.anomaly_mitigation",
    "load_balancing.cross_zone.enabled",
    "preserve_client_ip.enabled",
    "proxy_protocol_v2.enabled",
    "slow_start.duration_seconds",
    "stickiness.enabled",
    "stickiness.type",
    "stickiness.app_cookie.cookie_name",
    "stickiness.app_cookie.duration_seconds",
    "stickiness.lb_cookie.duration_seconds",
    "target_failover.on_deregistration",
    "target_failover.on_unhealthy",
    "target_group_health.dns_failover.minimum_healthy_targets.count",
    "target_group_health.dns_failover.minimum_healthy_targets.percentage",
    "target_group_health.unhealthy_state_routing.minimum_healthy_targets.count",
    "target_group_health.unhealthy_state_routing.minimum_healthy_targets.percentage",
)
#: Health-check defaults by target type when the template leaves them out (ELBv2 API).
HEALTH_CHECK_DEFAULTS = {"lambda": (35, 30), "instance": (30, 5), "ip": (30, 5)}
ELB_PRINCIPAL = "elasticloadbalancing.amazonaws.com"


@dataclass(frozen=True)
class Finding:
    """One problem ``check_template`` found: where (the logical id), what is wrong, the fix.
    A ``warning`` may be intended (it is a guess from the code); an ``error`` fails deployment
    or routing."""

    severity: str  # "error" or "warning"
    logical_id: str
    problem: str
    fix: str

    def line(self, source: str) -> str:
        return f"{source}: {self.severity}: {self.logical_id}: {self.problem} Fix: {self.fix}"


def check_template(path: str | Path) -> list[Finding]:
    """The ALB -> Lambda problems of the template at ``path`` that cfn-lint does not report:
    listener-rule condition fields and target-group attribute keys that do not exist, a health
    check whose timeout is not below its interval, a Lambda target group without the permission
    for ``elasticloadbalancing.amazonaws.com`` or without ``DependsOn`` on it, and (a warning)
    multi-value headers off for a function whose code sets several cookies.

    Raises TemplateError when the template cannot be read at all."""
    template = read_template(path)
    resources = {
        name: _mapping(resource) for name, resource in _mapping(template.get("Resources")).items()
    }
    base = Path(path).resolve().parent
    global_function = _mapping(_mapping(template.get("Globals")).get("Function"))
    findings: list[Finding] = []
    for name, resource in resources.items():
        kind = resource.get("Type")
        properties = _mapping(resource.get("Properties"))
        if kind == LISTENER_RULE:
            findings += _check_conditions(name, properties)
        elif kind == TARGET_GROUP:
            findings += _check_target_group(name, resource, properties)
            if properties.get("TargetType") == "lambda":
                findings += _check_lambda_target(
                    name, resource, properties, resources, base, global_function
                )
    return findings


def _suggest(wrong: str, known: tuple[str, ...] | list[str]) -> str:
    import difflib

    close = difflib.get_close_matches(wrong, known, n=1)
    return f"write {close[0]!r}" if close else f"use one of {', '.join(known)}"


def _check_conditions(name: str, properties: dict[str, object]) -> list[Finding]:
    findings: list[Finding] = []
    fields = list(CONDITION_CONFIGS)
    for index, condition in enumerate(_list(properties.get("Conditions"))):
        spec = _mapping(condition)
        where = f"Conditions[{index}]"
        field = spec.get("Field")
        if isinstance(field, str) and field not in CONDITION_CONFIGS:
            findings.append(
                Finding(
                    "error",
                    name,
                    f"{where}.Field {field!r} is not a condition field (the rule is refused at "
                    "deploy time).",
                    _suggest(field, fields) + ".",
                )
            )
            continue
        configs = [key for key in spec if key.endswith("Config")]
        expected = CONDITION_CONFIGS.get(str(field))
        for key in configs:
            if key != expected:
                findings.append(
                    Finding(
                        "error",
                        name,
                        f"{where}: {key} does not go with Field {field!r}.",
                        f"write {expected}, or change the Field.",
                    )
                )
    return findings


def _check_target_group(
    name: str, resource: dict[str, object], properties: dict[str, object]
) -> list[Finding]:
    findings: list[Finding] = []
    for index, item in enumerate(_list(properties.get("TargetGroupAttributes"))):
        key = _mapping(item).get("Key")
        value = _mapping(item).get("Value")
        if isinstance(key, str) and key not in TARGET_GROUP_ATTRIBUTES:
            findings.append(
                Finding(
                    "error",
                    name,
                    f"TargetGroupAttributes[{index}].Key {key!r} is not a target group attribute "
                    "(the stack fails to create or update).",
                    _suggest(key, TARGET_GROUP_ATTRIBUTES) + ".",
                )
            )
        elif (
            key == MULTI_VALUE_ATTRIBUTE
            and isinstance(value, str | bool)
            and str(value).lower() not in ("true", "false")
        ):
            findings.append(
                Finding(
                    "error",
                    name,
                    f"{MULTI_VALUE_ATTRIBUTE} is {value!r}, not 'true' or 'false'.",
                    'write "true" or "false".',
                )
            )
    kind = str(properties.get("TargetType", "instance"))
    default_interval, default_timeout = HEALTH_CHECK_DEFAULTS.get(kind, (30, 5))
    interval = _digits(properties.get("HealthCheckIntervalSeconds", default_interval))
    timeout = _digits(properties.get("HealthCheckTimeoutSeconds", default_timeout))
    if interval is not None and timeout is not None and timeout >= interval:
        findings.append(
            Finding(
                "error",
                name,
                f"HealthCheckTimeoutSeconds ({timeout}) is not below HealthCheckIntervalSeconds "
                f"({interval}): ELBv2 refuses the target group.",
                f"lower HealthCheckTimeoutSeconds below {interval}, or raise the interval.",
            )
        )
    return findings


def _digits(value: object) -> int | None:
    """A number written in the template (``30`` or ``"30"``); None for an intrinsic function."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return None


def _refers_to(value: object) -> str | None:
    """The logical id ``value`` points at: ``!Ref X``, ``!GetAtt X.Arn``, ``!Sub "${X.Arn}"``."""
    spec = _mapping(value)
    if "Ref" in spec and isinstance(spec["Ref"], str):
        return spec["Ref"]
    if "Fn::GetAtt" in spec:
        target = spec["Fn::GetAtt"]
        parts = target.split(".", 1) if isinstance(target, str) else _list(target)
        return str(parts[0]) if parts else None
    if "Fn::Sub" in spec and isinstance(spec["Fn::Sub"], str):
        text = spec["Fn::Sub"]
        if text.startswith("${") and text.endswith("}") and text.count("${") == 1:
            return text[2:-1].split(".", 1)[0]
    return None


def _depends_on(resource: dict[str, object]) -> list[str]:
    value = resource.get("DependsOn")
    return [value] if isinstance(value, str) else [str(item) for item in _list(value)]


def _check_lambda_target(
    name: str,
    resource: dict[str, object],
    properties: dict[str, object],
    resources: dict[str, dict[str, object]],
    base: Path,
    global_function: dict[str, object],
) -> list[Finding]:
    targets = _list(properties.get("Targets"))
    function = _refers_to(_mapping(targets[0]).get("Id")) if targets else None
    if function is None or resources.get(function, {}).get("Type") not in FUNCTION_TYPES:
        return []  # a function outside this template: its permission is outside it too
    permissions = [
        other
        for other, spec in resources.items()
        if spec.get("Type") == LAMBDA_PERMISSION
        and _refers_to(_mapping(spec.get("Properties")).get("FunctionName")) == function
        and _mapping(spec.get("Properties")).get("Principal") == ELB_PRINCIPAL
        and _mapping(spec.get("Properties")).get("Action") in ("lambda:InvokeFunction", "lambda:*")
    ]
    findings: list[Finding] = []
    if not permissions:
        findings.append(
            Finding(
                "error",
                name,
                f"no AWS::Lambda::Permission lets {ELB_PRINCIPAL} invoke {function}: "
                "registering the function as a target fails at deploy time.",
                f"add a permission (FunctionName: !GetAtt {function}.Arn, Action: "
                f"lambda:InvokeFunction, Principal: {ELB_PRINCIPAL}) and DependsOn: on it.",
            )
        )
    elif not set(permissions) & set(_depends_on(resource)):
        findings.append(
            Finding(
                "error",
                name,
                f"the target group does not depend on {permissions[0]}: CloudFormation may "
                "register the function before ALB may invoke it, and the deployment fails.",
                f"add DependsOn: {permissions[0]} to {name}.",
            )
        )
    attributes = {
        _mapping(item).get("Key"): _mapping(item).get("Value")
        for item in _list(properties.get("TargetGroupAttributes"))
    }
    if str(attributes.get(MULTI_VALUE_ATTRIBUTE, "false")).lower() == "false":
        cookies = _cookies_set(resources[function], base, global_function)
        if cookies is not None and cookies[1] >= 2:
            findings.append(
                Finding(
                    "warning",
                    name,
                    f"{MULTI_VALUE_ATTRIBUTE} is off, and {cookies[0]} sets cookies in "
                    f"{cookies[1]} places: several Set-Cookie headers in one response then "
                    "travel as case variants of the name, which AWS does not document "
                    "(docs/alb-behaviour.md, rule 11), and repeated query parameters and "
                    "headers reach the app as one value.",
                    f'add TargetGroupAttributes Key: {MULTI_VALUE_ATTRIBUTE}, Value: "true" '
                    "(the handler reads either format).",
                )
            )
    return findings


def _cookies_set(
    function: dict[str, object], base: Path, global_function: dict[str, object]
) -> tuple[str, int] | None:
    """The handler's module file (relative to the template) and how many places in it set a
    cookie (``set_cookie(`` calls, ``Set-Cookie`` literals); None when the code is not a local
    directory holding that module (an S3 package, a build folder not built yet)."""
    properties = {**global_function, **_mapping(function.get("Properties"))}
    code = properties.get("CodeUri", properties.get("Code"))
    handler = properties.get("Handler")
    if not isinstance(code, str) or not isinstance(handler, str) or "." not in handler:
        return None
    module = handler.rpartition(".")[0].replace(".", "/") + ".py"
    file = base / code / module
    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    lowered = text.lower()
    count = lowered.count("set_cookie(") + lowered.count("set-cookie")
    return str(Path(code) / module), count
