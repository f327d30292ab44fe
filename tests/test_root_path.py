"""Request.root_path: a source's own prefix (an API Gateway stage) reaches the app as SCRIPT_NAME /
root_path, before the handler's base_path, in both app protocols."""

from __future__ import annotations

from urllib.parse import quote

import pytest

from alb_adapter import Config
from alb_adapter.asgi import build_scope
from alb_adapter.model import Request
from alb_adapter.wsgi import build_environ

CASES = [
    # (path, root_path, base_path) -> (script name, path info)
    ((b"/prod/items/1", b"/prod", ""), ("/prod", "/items/1")),
    ((b"/prod/account/x", b"/prod", "/account"), ("/prod/account", "/x")),
    ((b"/prod/accounts", b"/prod", "/account"), ("/prod", "/accounts")),
    ((b"/prod", b"/prod", ""), ("/prod", "")),
    ((b"/account/x", b"", "/account"), ("/account", "/x")),
    (("/stagé/é".encode(), "/stagé".encode(), ""), ("/stagé", "/é")),
]


def request(path: bytes, root_path: bytes) -> Request:
    return Request(method="GET", raw_path=quote(path), path=path, root_path=root_path)


@pytest.mark.parametrize(("given", "expected"), CASES)
def test_wsgi_script_name_and_path_info(
    given: tuple[bytes, bytes, str], expected: tuple[str, str]
) -> None:
    path, root_path, base_path = given
    environ = build_environ(request(path, root_path), Config(base_path=base_path))
    # PEP 3333: native strings holding the bytes one per character.
    latin1 = tuple(part.encode("utf-8").decode("latin-1") for part in expected)
    assert (environ["SCRIPT_NAME"], environ["PATH_INFO"]) == latin1


@pytest.mark.parametrize(("given", "expected"), CASES)
def test_asgi_root_path_prefixes_the_whole_path(
    given: tuple[bytes, bytes, str], expected: tuple[str, str]
) -> None:
    path, root_path, base_path = given
    scope = build_scope(request(path, root_path), Config(base_path=base_path), {})
    root, rest = expected
    assert (scope["root_path"], scope["path"]) == (root, root + rest)
