from __future__ import annotations

import pytest


@pytest.fixture(params=[False, True], ids=["single-value", "multi-value"])
def multi(request: pytest.FixtureRequest) -> bool:
    """Run a test in both ALB header modes (lambda.multi_value_headers.enabled off and on)."""
    return bool(request.param)
