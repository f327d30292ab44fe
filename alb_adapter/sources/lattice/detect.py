"""Which events are VPC Lattice V1 and V2 events: all the handler needs of this package until
such an event arrives (the parsers load then: sources/base.py).
"""

from __future__ import annotations

V1_SOURCE_NAME = "vpc-lattice-v1"
V2_SOURCE_NAME = "vpc-lattice-v2"


def is_lattice_v1_event(event: object) -> bool:
    """V1 is the only snake_case event: a ``raw_path`` string and ``method`` at the top, and no
    ``requestContext`` (which every other HTTP source sends). An ASGI scope handed to the handler
    by mistake has ``raw_path`` and ``method`` too, but its ``raw_path`` is bytes."""
    return (
        type(event) is dict
        and type(event.get("raw_path")) is str
        and "method" in event
        and "requestContext" not in event
    )


def is_lattice_v2_event(event: object) -> bool:
    """V2 says ``"version": "2.0"`` like an HTTP API 2.0 event, but its ``requestContext`` holds
    the Lattice ARNs directly and has no ``http`` object. ALB's ``targetGroupArn`` sits under
    ``requestContext.elb``, so an ``elb`` key rules the event out."""
    if type(event) is not dict or event.get("version") != "2.0":
        return False
    context = event.get("requestContext")
    return (
        type(context) is dict
        and ("serviceNetworkArn" in context or "targetGroupArn" in context)
        and "http" not in context
        and "elb" not in context
    )
