"""Amazon VPC Lattice, for both event structures a Lambda target group may use (V1 and V2): the only
package that knows Lattice's JSON.

``detect`` recognises its events; ``request`` (event -> Request) and ``response`` (Response ->
dict) run in every invocation, imported with the first event of their kind; ``service`` is
Lattice's own side (building events, judging answers), used by the test helpers and the local
tools, never inside Lambda. docs/sources/lattice.md describes both structures and the choices made
where Lattice's behaviour is unconfirmed.
"""

from __future__ import annotations

from ..base import Source
from .detect import is_lattice_v1_event, is_lattice_v2_event

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (cold start)

if TYPE_CHECKING:
    from ..base import ParseEvent, RenderResponse


def _v1_codec() -> tuple[ParseEvent, RenderResponse]:
    from .request import parse_v1_event
    from .response import render_response

    return parse_v1_event, render_response


def _v2_codec() -> tuple[ParseEvent, RenderResponse]:
    from .request import parse_v2_event
    from .response import render_response

    return parse_v2_event, render_response


VPC_LATTICE_V2 = Source(
    name="vpc-lattice-v2",
    label="VPC Lattice (V2)",
    description=(
        'VPC Lattice, event structure V2 ("version": "2.0" with requestContext.serviceNetworkArn '
        "or targetGroupArn, and no requestContext.http)"
    ),
    matches=is_lattice_v2_event,
    codec=_v2_codec,
    known_by=("version", "path", "method", "requestContext.targetGroupArn"),
)

VPC_LATTICE_V1 = Source(
    name="vpc-lattice-v1",
    label="VPC Lattice (V1)",
    description="VPC Lattice, event structure V1 (snake_case raw_path and method)",
    matches=is_lattice_v1_event,
    codec=_v1_codec,
    known_by=("raw_path", "method"),
)

__all__ = ["VPC_LATTICE_V1", "VPC_LATTICE_V2"]
