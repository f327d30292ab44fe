"""The handler module ``awslambdaric`` imports in an execution environment of the local ALB:
``python -m awslambdaric alb_adapter.emulator.awslambdaric_entry.handler``.

``awslambdaric`` only knows Lambda's ``module.function``; the local ALB also accepts
``path/to/file.py:attr``, ``module:attr`` and bare WSGI/ASGI apps. Importing this module loads the
function ``_HANDLER`` names exactly as the built-in runtime does (``bootstrap.load_function``), so
both runtimes serve the same handlers; a failure here is the function's init error, which
``awslambdaric`` reports to ``/runtime/init/error`` with the exception's type and message.
"""

from __future__ import annotations

from .bootstrap import load_function

handler = load_function()
