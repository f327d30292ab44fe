"""ALB event -> Request: the request side of the ALB codec, run on every invocation.

Each rule followed here is stated, with its evidence, in docs/alb-behaviour.md (rules 1-7).
"""

from __future__ import annotations

from ...errors import InvalidEvent
from ...log import logger
from ...model import Request
from ..fields import (
    addressed,
    as_list,
    check_text,
    checked_request,
    clean_headers,
    client_from_forwarded_for,
    header_name,
    multi_value_header_pairs,
    must_be,
    parse_method,
    parse_path,
    query_text,
    read_body,
)

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (cold start)

if TYPE_CHECKING:
    from collections.abc import Mapping

    from ...config import Config
    from ...model import Headers

SOURCE_NAME = "alb"
HEALTH_CHECK_AGENT_PREFIX = "ELB-HealthChecker/"


def is_alb_event(event: object) -> bool:
    """ALB marks its events with ``requestContext.elb`` (docs/alb-behaviour.md, "The event")."""
    if type(event) is not dict:
        return False
    request_context = event.get("requestContext")
    return type(request_context) is dict and "elb" in request_context


def is_multi_value(event: Mapping[str, object]) -> bool:
    """The target group's header mode, as the event shows it (rule 1): the response mirrors it."""
    return event.get("multiValueHeaders") is not None


def parse_event(event: dict[str, object], context: object, config: Config) -> Request:
    """Turn an ALB event into a Request (docs/alb-behaviour.md, rules 1-7).

    Raises InvalidEvent naming the field for a missing or mistyped field, and InvalidBody
    (carrying the rest of the request) when the body cannot be decoded, so the handler can answer
    400 in the header mode ALB expects.
    """
    method = parse_method(event.get("httpMethod"), "httpMethod")
    raw_path, path = parse_path(event.get("path"))

    if is_multi_value(event):
        headers = _multi_value_headers(event["multiValueHeaders"])
        query_string = _multi_value_query(event.get("multiValueQueryStringParameters"))
        if event.get("headers") or event.get("queryStringParameters"):
            logger().warning(
                "event mixes multi-value and single-value fields, which ALB never does; "
                "using multiValueHeaders/multiValueQueryStringParameters and ignoring "
                "headers/queryStringParameters"
            )
        last = dict(headers)  # the last value of each name: what ALB itself would act on
        # ALB may split X-Forwarded-For over several lines: they are one list, in order.
        forwarded_for = ",".join([value for name, value in headers if name == "x-forwarded-for"])
    else:
        last = _single_value_headers(event.get("headers"))
        headers = tuple(last.items())
        query_string = _single_value_query(event.get("queryStringParameters"))
        if event.get("multiValueQueryStringParameters"):
            # A hand-made event (serverless-wsgi's own tests) with single-value headers beside a
            # multi-value query. The header mode decides both fields, as on a real target group
            # (rule 1), so that query is not read: said, rather than lost without a word.
            logger().warning(
                "event mixes multi-value and single-value fields, which ALB never does; "
                "the headers are single-value, so multiValueQueryStringParameters is ignored "
                "and the query comes from queryStringParameters"
            )
        forwarded_for = last.get("x-forwarded-for", "")

    scheme, server = addressed(
        last.get("x-forwarded-proto"),
        last.get("x-forwarded-port"),
        last.get("host"),
        config.default_host,
    )
    user_agent = last.get("user-agent", "")

    body, body_error = read_body(event.get("body"), event.get("isBase64Encoded"))
    request = Request(
        method=method,
        raw_path=raw_path,
        path=path,
        query_string=query_string,
        headers=headers,
        body=body,
        scheme=scheme,
        server=server,
        client=client_from_forwarded_for(forwarded_for, config.trusted_hops),
        health_check=user_agent.startswith(HEALTH_CHECK_AGENT_PREFIX),
        source=SOURCE_NAME,
        event=event,
        context=context,
    )
    return checked_request(request, body_error)


# --------------------------------------------------------------------------- path and query


def _single_value_query(value: object) -> str:
    """``k=v`` pairs joined with ``&``, exactly as the client sent them (rule 3)."""
    if value is None:
        return ""
    field = "queryStringParameters"
    if type(value) is not dict:
        raise InvalidEvent(field, must_be("an object of strings", value))
    for key, item in value.items():
        if type(key) is not str:
            raise InvalidEvent(field, f"has a key that is not a string: {type(key).__name__}")
        if type(item) is not str:
            raise InvalidEvent(f"{field}[{key!r}]", must_be("a string", item))
    query = "&".join(map("=".join, value.items()))
    if not query.isascii():  # only text beyond ASCII can be text HTTP cannot carry
        for key, item in value.items():
            check_text(key, field)
            check_text(item, f"{field}[{key!r}]")
    return query_text(query, field)


def _multi_value_query(value: object) -> str:
    """Every ``k=v`` pair of every key, in order, joined with ``&`` (rule 3).

    As with headers, what ALB sends (lists of ASCII strings) is recognised by a few C-level
    passes; anything else is walked, and the walk names what is wrong. tests/test_alb_parse.py
    proves both give the same answer.
    """
    if value is None:
        return ""
    field = "multiValueQueryStringParameters"
    if type(value) is not dict:
        raise InvalidEvent(field, must_be("an object of string lists", value))
    if {list}.issuperset(map(type, value.values())):
        try:
            keys = "".join(value)  # even a key without values must be a string
            query = "&".join([key + "=" + item for key, items in value.items() for item in items])
        except TypeError:
            pass  # a key or an item that is not a string: the walk names it
        else:
            if keys.isascii() and query.isascii():
                return query_text(query, field)
    return walk_multi_value_query(value)


def walk_multi_value_query(value: dict[object, object]) -> str:
    """The reference path of ``_multi_value_query``: every key and item checked."""
    field = "multiValueQueryStringParameters"
    pairs: list[str] = []
    for key, items in value.items():
        if type(key) is not str:
            raise InvalidEvent(field, f"has a key that is not a string: {type(key).__name__}")
        check_text(key, field)
        for index, item in enumerate(as_list(items, f"{field}[{key!r}]")):
            item_field = f"{field}[{key!r}][{index}]"
            if type(item) is not str:
                raise InvalidEvent(item_field, must_be("a string", item))
            check_text(item, item_field)
            pairs.append(key + "=" + item)
    return query_text("&".join(pairs), field)


# --------------------------------------------------------------------------- headers


def _single_value_headers(value: object) -> dict[str, str]:
    """Lowercase name -> value, one per name (rule 4).

    ALB's own maps are already clean (lowercase names, ASCII values): ``clean_headers`` sees
    that in a few C-level passes and the map is taken as it is; any other map is walked, and the
    walk names what is wrong. tests/test_alb_parse.py proves both give the same answer.
    """
    if value is None:
        return {}
    if type(value) is not dict:
        raise InvalidEvent("headers", must_be("an object of strings", value))
    if clean_headers(value, value.values()):
        return value
    return walk_single_value_headers(value)


def walk_single_value_headers(value: dict[object, object]) -> dict[str, str]:
    """The reference path of ``_single_value_headers``: every name and value checked."""
    last: dict[str, str] = {}
    for name, item in value.items():
        lower = header_name(name, "headers")
        field = f"headers[{name!r}]"
        if type(item) is not str:
            raise InvalidEvent(field, must_be("a string", item))
        check_text(item, field)
        # A hand-made event may spell one name twice (Host, host): one value per name, the last,
        # as ALB's single-value mode itself keeps.
        last.pop(lower, None)
        last[lower] = item
    return last


def _multi_value_headers(value: object) -> Headers:
    """(lowercase name, value) pairs, every value of every name in order (rule 4); the fast
    check and the walk as in ``_single_value_headers``."""
    if type(value) is not dict:
        raise InvalidEvent("multiValueHeaders", must_be("an object of string lists", value))
    lists = value.values()
    # Every entry a list (one C-level pass over their types), then the usual clean check.
    if {list}.issuperset(map(type, lists)) and clean_headers(value, map("".join, lists)):
        return tuple([(name, item) for name, items in value.items() for item in items])
    return walk_multi_value_headers(value)


def walk_multi_value_headers(value: dict[object, object]) -> Headers:
    """The reference path of ``_multi_value_headers``: every name and item checked."""
    return tuple(multi_value_header_pairs(value, "multiValueHeaders"))


# --------------------------------------------------------------------------- addresses


# --------------------------------------------------------------------------- body
