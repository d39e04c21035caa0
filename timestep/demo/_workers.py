"""Worker subprocesses for the demo: real ``timestep worker`` processes, killed for real."""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path

from timestep.errors import TimestepError

__all__ = ["DemoFailed", "WorkerProcess", "timestep_command"]


class DemoFailed(TimestepError):
    """A step of the demo did not happen as it should (the message says which)."""


def timestep_command(*args: str) -> list[str]:
    """``timestep ARGS`` run with this interpreter (works whether or not the script is on PATH)."""
    return [sys.executable, "-m", "timestep.cli", *args]


class WorkerProcess:
    """One ``timestep worker timestep.demo.app`` subprocess; its stderr goes to a log file."""

    def __init__(
        self, number: int, *, queue: str, dead_after: float, env: dict[str, str], log_dir: Path
    ) -> None:
        self.number = number
        self.log_path = log_dir / f"worker-{number}.log"
        self.executor_id: str | None = None
        self._ready = threading.Event()
        with self.log_path.open("w") as stderr:
            self.proc = subprocess.Popen(
                timestep_command(
                    "worker",
                    "timestep.demo.app",
                    "--queue",
                    queue,
                    "--concurrency",
                    "4",
                    "--dead-after",
                    str(dead_after),
                ),
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=stderr,
                text=True,
            )
        # Read stdout on a thread: it finds the "ready" line and keeps the pipe drained.
        threading.Thread(target=self._read, name=f"demo-worker-{number}", daemon=True).start()

    @property
    def pid(self) -> int:
        return self.proc.pid

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            words = line.split()
            # `timestep worker` prints "worker <executor id> ready (...)" once it serves the queue.
            if len(words) >= 3 and words[0] == "worker" and words[2] == "ready":
                self.executor_id = words[1]
                self._ready.set()
        self._ready.set()  # EOF: the process ended; wait_ready reports it

    def wait_ready(self, timeout: float) -> str:
        if not self._ready.wait(timeout) or self.executor_id is None:
            raise DemoFailed(
                f"worker #{self.number} did not start (see {self.log_path}): {self.tail(3)}"
            )
        return self.executor_id

    def kill(self) -> int:
        """SIGKILL: no cleanup, no goodbye - what a crash or an OOM kill looks like."""
        self.proc.kill()
        return self.proc.wait(timeout=30)

    def stop(self, timeout: float = 15) -> None:
        """SIGTERM (the worker drains and leaves), then SIGKILL if it does not."""
        if self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()

    def tail(self, lines: int = 15) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return " | ".join(line.strip() for line in text.strip().splitlines()[-lines:])
