"""Invoke the Flask example once, as ALB would, and print the ALB response as JSON.

    python examples/flask_app/invoke_sample.py                  # GET /
    python examples/flask_app/invoke_sample.py '/search?q=a+b'  # raw query, as the browser sent it
    python examples/flask_app/invoke_sample.py /logo.png --multi-value-headers

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
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path", nargs="?", default="/", help="raw request target (default: /)")
    parser.add_argument("--method", default="GET", help="HTTP method (default: GET)")
    parser.add_argument(
        "--multi-value-headers",
        action="store_true",
        help="the target group has lambda.multi_value_headers.enabled=true",
    )
    args = parser.parse_args(argv)

    # Run from anywhere (repo root, a fresh clone): import the example as Lambda would, by name.
    if str(HERE) not in sys.path:
        sys.path.insert(0, str(HERE))
    from flask_example import handler

    from alb_adapter.testing import LambdaContext, make_event

    event = make_event(args.method, args.path, multi_value_headers=args.multi_value_headers)
    response = handler(event, LambdaContext(function_name="flask-example"))
    json.dump(response, sys.stdout, indent=2, ensure_ascii=False)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
