"""Node scripts from tests/js run against a real gateway: one JSON message a line until each case ends.

Every case of a test process runs in one Node process, tests/js/runner.mjs, started on first use and reused
by later cases, so the client libraries load (and Chromium starts) once per process instead of once per
case. A case that fails or times out takes that runner down with it (the next case starts a new one), and
the session closes the last one (`close_runner`, tests/conftest.py)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import queue
import subprocess
import threading
from collections import deque
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

JS = Path(__file__).resolve().parents[1] / "js"
RUNNER = JS / "runner.mjs"
# How many of the runner's last stderr lines a failure shows, and of the case's last messages.
STDERR_LINES = 80
LAST_MESSAGES = 5
# How long a runner whose stdin has ended gets to close Chromium and exit; then how long after SIGTERM.
CLOSING = 10.0
TERMINATING = 5.0


class Runner:
    """One `node runner.mjs`. Threads read its stdout into `lines` (None once it has ended) and keep the last
    lines of its stderr, so that neither pipe fills, whichever event loop the test reading it runs."""

    def __init__(self) -> None:
        self.process = subprocess.Popen(
            ["node", str(RUNNER)],
            cwd=JS,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            encoding="utf-8",
            errors="replace",
        )
        self.lines: queue.SimpleQueue[str | None] = queue.SimpleQueue()
        # Each stderr line with its number, counted from the runner's start.
        self.stderr: deque[tuple[int, str]] = deque(maxlen=STDERR_LINES)
        self.stderr_count = 0
        self.busy = False
        self.readers = [
            threading.Thread(target=self._read_stdout, name="node runner stdout", daemon=True),
            threading.Thread(target=self._read_stderr, name="node runner stderr", daemon=True),
        ]
        for reader in self.readers:
            reader.start()

    def _read_stdout(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.put(line)
        self.lines.put(None)

    def _read_stderr(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            self.stderr.append((self.stderr_count, line.rstrip("\n")))
            self.stderr_count += 1

    def send(self, request: dict[str, Any]) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(json.dumps(request) + "\n")
        self.process.stdin.flush()

    def stderr_since(self, mark: int) -> str:
        """What the runner wrote to stderr from its line `mark` on, as much as is kept."""
        lines = [line for number, line in list(self.stderr) if number >= mark]
        if not lines:
            return "(nothing on stderr)"
        return "\n".join(lines)

    def close(self, *, abort: bool = False) -> None:
        """Ends the runner: its stdin closed, it closes Chromium and exits. In the middle of a case (`abort`)
        or if it does not exit in time: SIGTERM (it exits, Chromium killed on the way out), then SIGKILL."""
        process = self.process
        if not abort:
            with contextlib.suppress(OSError):
                assert process.stdin is not None
                process.stdin.close()
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(CLOSING)
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(TERMINATING)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        with contextlib.suppress(OSError):
            assert process.stdin is not None
            process.stdin.close()
        for reader in self.readers:
            reader.join(TERMINATING)
        if not any(reader.is_alive() for reader in self.readers):
            assert process.stdout is not None and process.stderr is not None
            process.stdout.close()
            process.stderr.close()
        # Whatever still waits for a line gets the end.
        self.lines.put(None)


_runner: Runner | None = None


def _started() -> Runner:
    """The runner of this process, started if there is none or it has exited."""
    global _runner
    if _runner is not None and _runner.process.poll() is not None:
        close_runner()
    if _runner is None:
        _runner = Runner()
    return _runner


def close_runner(*, abort: bool = False) -> None:
    """Ends this process's runner, if it has one."""
    global _runner
    runner, _runner = _runner, None
    if runner is not None:
        runner.close(abort=abort)


async def run_script(
    script: str,
    options: dict[str, Any],
    *,
    seconds: float,
    progress: str | Callable[[dict[str, Any]], bool] | None = None,
    move: Callable[[int], Awaitable[None]] | None = None,
) -> list[dict[str, Any]]:
    """Every message `script` (a module of tests/js) prints for `options`; after each message holding the key
    `progress` (or for which `progress` is true, given a function), `move` is called with how many such
    messages came so far. The case must end without an error within `seconds`."""
    __tracebackhide__ = True  # a failure shows the case's error, not this function
    runner = _started()
    if runner.busy:
        raise RuntimeError(f"the Node runner runs one case at a time: {script} came while another ran")
    request = {"script": script, "options": options}
    mark = runner.stderr_count
    try:
        runner.send(request)
    except OSError:
        # It exited between two cases: a new one.
        close_runner()
        runner = _started()
        mark = runner.stderr_count
        runner.send(request)
    runner.busy = True

    def report(what: str, messages: list[dict[str, Any]]) -> str:
        last = "\n".join(json.dumps(m) for m in messages[-LAST_MESSAGES:]) or "(none)"
        return (
            f"{what}\n--- its last messages, of {len(messages)}:\n{last}\n"
            f"--- node {RUNNER.name} stderr:\n{runner.stderr_since(mark)}"
        )

    def counts(message: dict[str, Any]) -> bool:
        return progress(message) if callable(progress) else progress in message

    messages: list[dict[str, Any]] = []
    moved = 0
    end: dict[str, Any] | None = None
    timeout = asyncio.timeout(seconds)
    try:
        async with timeout:
            while (line := await asyncio.to_thread(runner.lines.get)) is not None:
                try:
                    message: dict[str, Any] = json.loads(line)
                except ValueError:
                    stray = f"{script}: not a JSON line on stdout: {line!r}"
                    raise AssertionError(report(stray, messages)) from None
                if "end" in message:
                    end = message
                    break
                messages.append(message)
                if progress is not None and counts(message):
                    moved += 1
                    if move is not None:
                        await move(moved)
    except TimeoutError:
        close_runner(abort=True)
        if timeout.expired():
            raise TimeoutError(report(f"{script} did not end within {seconds} s", messages)) from None
        raise
    except BaseException:
        # Whatever failed here (`move`, a cancellation), the case may still run: the runner goes with it.
        close_runner(abort=True)
        raise
    finally:
        runner.busy = False
    if end is None:
        close_runner()
        exited = f"node {RUNNER.name} exited ({runner.process.returncode}) during {script}"
        raise AssertionError(report(exited, messages))
    if end["end"] != "ok":
        # Whatever it left behind goes with the runner.
        close_runner()
        raise AssertionError(report(f"{script} failed: {end.get('error')}", messages))
    return messages
