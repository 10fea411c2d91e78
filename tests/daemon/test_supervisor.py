"""The supervisor on its own, with components written for the test (the supervisor is the
code under test; faults go in through its documented seam, ``inject_fault``)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re

import pytest

from agenticmail.daemon.component import Scope
from agenticmail.daemon.supervisor import RUNNING, STOPPED, Supervisor


class Part:
    """Records its starts and stops; runs a task that idles until cancelled."""

    def __init__(self, name: str, log: list[str], *, fail_start: bool = False,
                 fail_stop: bool = False) -> None:
        self.name, self.log = name, log
        self.fail_start, self.fail_stop = fail_start, fail_stop

    async def start(self, stack: Scope) -> None:
        self.log.append(f"start {self.name}")
        stack.callback(self._stopped)
        if self.fail_start:
            raise OSError(f"{self.name} cannot start")
        stack.spawn(asyncio.Event().wait(), "idle")

    def _stopped(self) -> None:
        self.log.append(f"stop {self.name}")
        if self.fail_stop:
            raise RuntimeError(f"{self.name} cannot stop")


async def _until(predicate: object, timeout: float = 10.0) -> None:
    async def poll() -> None:
        while not predicate():  # type: ignore[operator]
            await asyncio.sleep(0.005)
    await asyncio.wait_for(poll(), timeout)


def _delays(caplog: pytest.LogCaptureFixture, name: str) -> list[float]:
    pattern = re.compile(rf"^restarting {name} in ([0-9.]+) s$")
    return [float(m.group(1)) for r in caplog.records if (m := pattern.match(r.getMessage()))]


def test_stops_in_reverse_and_only_what_started() -> None:
    log: list[str] = []
    sup = Supervisor([Part("a", log), Part("b", log), Part("c", log, fail_start=True),
                      Part("d", log)])

    async def main() -> None:
        async with contextlib.AsyncExitStack() as stack:
            await sup.start(stack)

    with pytest.raises(OSError, match="c cannot start"):
        asyncio.run(main())
    assert log == ["start a", "start b", "start c", "stop c", "stop b", "stop a"]
    assert {n: s["state"] for n, s in sup.status().items()} == {
        "a": STOPPED, "b": STOPPED, "c": STOPPED, "d": STOPPED}


def test_a_failing_stop_does_not_stop_the_others() -> None:
    log: list[str] = []
    sup = Supervisor([Part("a", log), Part("b", log, fail_stop=True), Part("c", log)])

    async def main() -> None:
        async with contextlib.AsyncExitStack() as stack:
            await sup.start(stack)
            assert sup.healthy

    asyncio.run(main())  # does not raise
    assert log[3:] == ["stop c", "stop b", "stop a"]


def test_backoff_doubles_up_to_its_cap_and_starts_afresh_after_a_healthy_run(
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="agenticmail.daemon.supervisor")
    log: list[str] = []
    sup = Supervisor([Part("a", log)], backoff=0.01, max_backoff=0.04, healthy_after=0.2)

    async def main() -> None:
        async with contextlib.AsyncExitStack() as stack:
            await sup.start(stack)
            sup.inject_fault("a", RuntimeError("boom"), starts=4)
            await _until(lambda: sup.status()["a"]["restarts"] == 1)
            delays = _delays(caplog, "a")
            assert len(delays) == 5
            assert delays[0] < delays[1] < delays[2]  # 0.01, 0.02, 0.04 (±20 %)
            assert all(d <= 0.05 for d in delays)  # capped at 0.04 (+20 %, logged to 0.01 s)
            assert sup.status()["a"]["last_error"] == "RuntimeError: boom"
            # runs longer than healthy_after: the next crash waits the base delay again
            await asyncio.sleep(0.3)
            caplog.clear()
            sup.inject_fault("a", RuntimeError("again"))
            await _until(lambda: sup.status()["a"]["restarts"] == 2)
            assert _delays(caplog, "a")[0] <= 0.01  # 0.01 +-20 %, logged to 0.01 s
            assert sup.status()["a"]["state"] == RUNNING

    asyncio.run(main())
    crash = next(r for r in caplog.records if r.getMessage().startswith("a crashed"))
    assert crash.exc_info is not None
