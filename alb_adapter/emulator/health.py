"""Health checks on ALB's schedule: a probe every ``interval``, ``healthy_threshold`` successes in
a row to become healthy, ``unhealthy_threshold`` failures to become unhealthy, each change logged.

Like ALB with a single target group, the emulator keeps routing to an unhealthy target (it fails
open); the log is the point: a health check that never passes locally will not pass on AWS.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from .rules import Target

log = logging.getLogger("alb_adapter.emulator.health")


class TargetHealth:
    """The state machine for one target: initial -> healthy / unhealthy."""

    def __init__(self, target: Target) -> None:
        self.target = target
        self.state = "initial"
        self.successes = 0
        self.failures = 0
        # The last probe, for the inspector's health table: its status (None: no answer), why
        # it failed when it did, and when (time.time()).
        self.last_status: int | None = None
        self.last_detail = ""
        self.last_checked: float | None = None

    def record(self, status: int | None, detail: str = "") -> str | None:
        """Count one probe; return the new state when it changed."""
        check = self.target.health_check
        self.last_status, self.last_detail, self.last_checked = status, detail, time.time()
        if status is not None and check.accepts(status):
            self.successes += 1
            self.failures = 0
            if self.state != "healthy" and self.successes >= check.healthy_threshold:
                return self._become("healthy", f"{self.successes} checks passed")
        else:
            self.failures += 1
            self.successes = 0
            threshold = check.unhealthy_threshold if self.state != "initial" else 1
            if self.state != "unhealthy" and self.failures >= threshold:
                why = f"status {status}" if status is not None else detail or "no answer"
                return self._become("unhealthy", f"{why} ({self.failures} failed in a row)")
        return None

    def _become(self, state: str, why: str) -> str:
        previous, self.state = self.state, state
        level = logging.INFO if state == "healthy" else logging.WARNING
        log.log(level, "target %s: %s -> %s: %s", self.target.name, previous, state, why)
        return state


class HealthChecker:
    """Runs one probe loop per target with health checks enabled."""

    def __init__(self) -> None:
        self.tasks: list[asyncio.Task[None]] = []
        self.health: dict[str, TargetHealth] = {}

    def start(self, target: Target, probe: Callable[[], Awaitable[int]]) -> None:
        health = TargetHealth(target)
        self.health[target.name] = health
        self.tasks.append(asyncio.get_running_loop().create_task(self._loop(health, probe)))

    async def _loop(self, health: TargetHealth, probe: Callable[[], Awaitable[int]]) -> None:
        check = health.target.health_check
        while True:
            try:
                status: int | None = await asyncio.wait_for(probe(), timeout=check.timeout)
                detail = ""
            except TimeoutError:
                status, detail = None, f"no answer within {check.timeout:g} s"
            except Exception as exc:  # noqa: BLE001 (a failed probe is a failed check)
                status, detail = None, f"{type(exc).__name__}: {exc}"
            health.record(status, detail)
            await asyncio.sleep(check.interval)

    async def stop(self) -> None:
        for task in self.tasks:
            task.cancel()
        for task in self.tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self.tasks.clear()
