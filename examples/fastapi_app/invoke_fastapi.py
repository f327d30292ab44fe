"""Invoke the FastAPI example once, as ALB would, and print the ALB response as JSON.

    python examples/fastapi_app/invoke_fastapi.py                    # GET /
    python examples/fastapi_app/invoke_fastapi.py '/search?q=a+b%2Bc' # raw query, as sent
    python examples/fastapi_app/invoke_fastapi.py /events --multi-value-headers
    python examples/fastapi_app/invoke_fastapi.py /login --method POST \\
        --form username=ada --form password=x

No AWS account needed: the event comes from ``alb_adapter.testing.make_event``, the same builder
the tests and the local emulator use, so what prints here is what the load balancer would get.
``ALB_BASE_PATH=/shop`` mounts the app under ``/shop`` (then ask for ``/shop/``).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("path", nargs="?", default="/", help="raw request target (default: /)")
    parser.add_argument("--method", default="GET", help="HTTP method (default: GET)")
    parser.add_argument("--json", dest="json_body", help="a JSON request body")
    parser.add_argument(
        "--form", action="append", default=[], metavar="NAME=VALUE", help="a form field"
    )
    parser.add_argument("--cookie", help="a Cookie header, e.g. 'session=...'")
    parser.add_argument(
        "--multi-value-headers",
        action="store_true",
        help="the target group has lambda.multi_value_headers.enabled=true",
    )
    args = parser.parse_args(argv)

    # Run from anywhere (repo root, a fresh clone): import the example as Lambda would, by name.
    if str(HERE) not in sys.path:
        sys.path.insert(0, str(HERE))
    from fastapi_example import handler

    from alb_adapter.testing import LambdaContext, make_event

    form = [(name, value) for name, _, value in (field.partition("=") for field in args.form)]
    event = make_event(
        args.method,
        args.path,
        json=json.loads(args.json_body) if args.json_body else None,
        form=form or None,
        headers={"cookie": args.cookie} if args.cookie else None,
        multi_value_headers=args.multi_value_headers,
    )
    # The lifespan shutdown (closing the database) runs at interpreter exit, as on Lambda.
    response = handler(event, LambdaContext(function_name="fastapi-example"))
    json.dump(response, sys.stdout, indent=2, ensure_ascii=False)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
