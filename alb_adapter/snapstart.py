"""Lambda SnapStart: hooks that keep a handler valid in every environment restored from a snapshot.

With SnapStart (Python 3.12 and later managed runtimes), Lambda runs the init phase once, when a
version is published, snapshots the initialised process and resumes later execution environments
from that snapshot, many of them and possibly long after. Whatever lifespan startup opened then
(connection pools, sockets registered with the event loop) is stale after a restore, and every
restored environment starts from the same pseudo-random state.

What this relies on, from Lambda's documentation of SnapStart runtime hooks for Python and the
``snapshot_restore_py`` library: the module exists only in the managed runtimes; its
``register_before_snapshot(func, *args, **kwargs)`` and ``register_after_restore(func, *args,
**kwargs)`` keep every registration for the life of the process (there is no way to remove one);
the runtime runs the before-snapshot hooks in reverse order of registration, then, in the restored
environment, the after-restore hooks in order of registration; an after-restore hook that raises
makes Lambda fail the restore instead of invoking the function; and loading the runtime plus every
after-restore hook must take less than 10 seconds, or the restore fails with a timeout.

The module is imported when a handler is built, never by ``import alb_adapter`` (WSGI functions
and cold starts without SnapStart do not pay for it); without it there is no snapshot to prepare.
"""

from __future__ import annotations

import weakref

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (cold start)

if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import TypeVar

    from .handler import BaseHandler

    Handler = TypeVar("Handler", bound=BaseHandler)

# Lambda gives the runtime's loading and all after-restore hooks 10 s together; a lifespan startup
# still running after this long fails the restore with its own message instead of a bare timeout,
# leaving the rest to the runtime and to the function's own hooks.
RESTART_TIMEOUT_SECONDS = 8.0


def register_hooks(
    handler: Handler,
    before_snapshot: Callable[[Handler], None],
    after_restore: Callable[[Handler], None],
) -> bool:
    """Have the runtime call ``before_snapshot(handler)`` before the snapshot and, after a
    restore, re-seed ``random`` and call ``after_restore(handler)``; False (and nothing
    registered) outside a runtime that takes snapshots.

    The registrations cannot be removed, so they hold only a weak reference to the handler: a
    dropped handler is not kept alive by them, and their calls do nothing once it is collected or
    closed. ``before_snapshot`` and ``after_restore`` must not hold the handler either (module
    functions, not bound methods)."""
    try:
        import snapshot_restore_py  # type: ignore[import-not-found,import-untyped,unused-ignore]
    except ImportError:
        return False
    reference = weakref.ref(handler)
    snapshot_restore_py.register_before_snapshot(_before_snapshot, reference, before_snapshot)
    snapshot_restore_py.register_after_restore(_after_restore, reference, after_restore)
    return True


def _before_snapshot(
    reference: weakref.ReferenceType[Handler], hook: Callable[[Handler], None]
) -> None:
    handler = reference()
    if handler is None or handler.closed:
        return
    hook(handler)


def _after_restore(
    reference: weakref.ReferenceType[Handler], hook: Callable[[Handler], None]
) -> None:
    handler = reference()
    if handler is None or handler.closed:
        return
    import random

    # Every environment restored from one snapshot would otherwise draw the same "random"
    # numbers; without an argument the seed comes from the operating system's randomness. First,
    # so that a lifespan startup run by the hook draws from the new state too.
    random.seed()
    hook(handler)
