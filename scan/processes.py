"""The scan's child processes (demo servers, wapiti), kept in one place so that they are all
stopped however the scan ends: normally, on an error, or on SIGINT or SIGTERM."""

from __future__ import annotations

import signal
import subprocess
import threading
from collections.abc import Sequence
from pathlib import Path
from types import FrameType

_running: set[subprocess.Popen[bytes]] = set()
_lock = threading.Lock()
stopping = threading.Event()


def start(command: Sequence[str], log: Path, env: dict[str, str]) -> subprocess.Popen[bytes]:
    """Start `command` with its output in `log` and no input; stop() or stop_all() ends it."""
    with _lock:
        if stopping.is_set():
            raise InterruptedError("the scan is stopping")
        with log.open("wb") as output:
            process = subprocess.Popen(  # noqa: S603 - our own commands, arguments we built
                list(command),
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=subprocess.STDOUT,
            )
        _running.add(process)
    return process


def stop(process: subprocess.Popen[bytes]) -> None:
    """End a process: SIGTERM, then SIGKILL after 15 seconds."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    with _lock:
        _running.discard(process)


def stop_all(_signum: int, _frame: FrameType | None = None) -> None:
    """Signal handler: end every running child (SIGTERM: wapiti would answer SIGINT with a
    question on its terminal); the threads waiting on them then return."""
    stopping.set()
    with _lock:
        running = list(_running)
    for process in running:
        if process.poll() is None:
            process.terminate()


def stop_on_signals() -> None:
    """Stop every child on SIGINT and SIGTERM (call from the main thread)."""
    signal.signal(signal.SIGINT, stop_all)
    signal.signal(signal.SIGTERM, stop_all)
