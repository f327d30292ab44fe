"""Which events are API Gateway REST API and HTTP API payload 1.0 events: all the handler needs
of this package until such an event arrives (the parsers load then: sources/base.py).
"""

from __future__ import annotations

REST_SOURCE_NAME = "apigw-rest"
HTTP_V1_SOURCE_NAME = "apigw-http-v1"


def _is_http_event_context(request_context: object) -> bool:
    """False for the API Gateway WebSocket events, which are not HTTP requests but may share this
    format's keys (live ``$connect`` events carry both header maps; AWS's Go library's WebSocket
    fixture even has ``httpMethod``, ``path`` and ``resource``): their ``requestContext`` says
    ``eventType`` and ``connectionId``."""
    return not (
        type(request_context) is dict
        and ("eventType" in request_context or "connectionId" in request_context)
    )


def _has_resource_id(request_context: object) -> bool:
    """Whether ``requestContext.resourceId`` names a resource. REST APIs have resources; HTTP
    APIs have routes and send ``resourceId: null``."""
    if type(request_context) is not dict:
        return False
    resource_id = request_context.get("resourceId")
    return type(resource_id) is str and resource_id != ""


def is_rest_event(event: object) -> bool:
    """A REST API proxy event: ``httpMethod`` and ``resource``, and no ``version``.

    SAM CLI's local emulation of a REST API adds ``"version": "1.0"``; such an event is still
    told from an HTTP API's by its resource id, which only REST APIs have.
    """
    if type(event) is not dict or "httpMethod" not in event or "resource" not in event:
        return False
    request_context = event.get("requestContext")
    if not _is_http_event_context(request_context):
        return False
    version = event.get("version")
    return version is None or (version == "1.0" and _has_resource_id(request_context))


def is_http_v1_event(event: object) -> bool:
    """An HTTP API event in payload format 1.0: ``httpMethod`` and ``"version": "1.0"``.

    A number in ``version`` (``2``, as a .NET test fixture of a 1.0 event has it) is taken for the
    same format: only payload 1.0 has ``httpMethod``, and payload 2.0 says ``"2.0"`` as a string.
    """
    if type(event) is not dict or "httpMethod" not in event:
        return False
    version = event.get("version")
    if version != "1.0" and type(version) not in (int, float):
        return False
    request_context = event.get("requestContext")
    return _is_http_event_context(request_context) and not _has_resource_id(request_context)
