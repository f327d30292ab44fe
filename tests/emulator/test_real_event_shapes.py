"""make_event (and so the emulator, which shares its code) against events AWS itself wrote: the same
fields, the same types, and the same event for the same request."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from alb_adapter.testing import make_event, make_health_check_event

CORPUS = Path(__file__).resolve().parents[2].parent / "shared" / "alb-events"
pytestmark = pytest.mark.skipif(
    not CORPUS.is_dir(), reason="the real ALB event corpus is not beside the repository"
)


def load(name: str) -> dict[str, Any]:
    event: dict[str, Any] = json.loads((CORPUS / name).read_text())
    return event


def shape(value: Any) -> Any:
    """The JSON types of an event, keys kept, values reduced to their type names."""
    if isinstance(value, dict):
        return {key: shape(item) for key, item in value.items()}
    if isinstance(value, list):
        return [shape(item) for item in value[:1]]
    return type(value).__name__


def test_the_health_check_is_the_documented_one() -> None:
    documented = load("aws-docs-elb/health-check-request.json")
    ours = make_health_check_event()
    documented["requestContext"] = ours["requestContext"]  # an account-specific ARN
    assert ours == documented


@pytest.mark.parametrize(
    ("name", "multi"),
    [
        ("aws-lambda-go/alb-lambda-target-request-headers-only.json", False),
        ("aws-lambda-go/alb-lambda-target-request-multivalue-headers.json", True),
        ("aws-lambda-dev-guide/request-example.json", False),
    ],
)
def test_same_fields_and_types_as_alb_events(name: str, multi: bool) -> None:
    real = load(name)
    ours = make_event("GET", "/lambda?query=1234ABCD", multi_value_headers=multi)
    assert set(ours) == set(real)
    field = "multiValueHeaders" if multi else "headers"
    real_shape, our_shape = shape(real), shape(ours)
    for key in ("requestContext", "httpMethod", "path", "body", "isBase64Encoded"):
        assert our_shape[key] == real_shape[key], key
    # Header maps: lowercase names, str (or [str]) values, and ALB's own headers in both.
    assert {type(v).__name__ for v in our_shape[field].values()} == {
        type(v).__name__ for v in real_shape[field].values()
    }
    for event in (real, ours):
        assert all(name == name.lower() for name in event[field])
    alb_added = {"x-amzn-trace-id", "x-forwarded-for", "x-forwarded-port", "x-forwarded-proto"}
    assert alb_added <= set(real[field]) & set(ours[field])


def test_the_same_request_gives_the_same_event() -> None:
    """The Go library's multi-value sample, rebuilt from the request curl made."""
    real = load("aws-lambda-go/alb-lambda-target-request-multivalue-headers.json")
    headers = {name: values[0] for name, values in real["multiValueHeaders"].items()}
    ours = make_event(
        "GET",
        "/?key=hello",
        headers={k: v for k, v in headers.items() if not k.startswith(("x-forwarded", "x-amzn"))},
        host=None,
        client_ip=headers["x-forwarded-for"],
        scheme="http",
        port=80,
        trace_id=headers["x-amzn-trace-id"],
        multi_value_headers=True,
    )
    ours["requestContext"] = real["requestContext"]
    # Same content; ALB's own headers are appended after the client's.
    assert {k: v for k, v in ours.items() if k != "multiValueHeaders"} == {
        k: v for k, v in real.items() if k != "multiValueHeaders"
    }
    assert dict(sorted(ours["multiValueHeaders"].items())) == dict(
        sorted(real["multiValueHeaders"].items())
    )
