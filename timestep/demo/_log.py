"""The demo's witness log: one JSON line per model call and per tool execution.

The log is written by the code that does the work (the model wrapper, the tools), in whichever
worker process runs it, so counting its lines tells how many times each step really executed -
independently of DBOS's own record. Replayed steps return their recorded result without
calling that code, so they add no line.
"""

from __future__ import annotations

import json
import os
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["LOG_ENV", "Counts", "read_counts", "record"]

#: Path of the log file; unset means "do not log" (e.g. a worker started by hand).
LOG_ENV = "TIMESTEP_DEMO_LOG"


def record(kind: str, name: str) -> None:
    """Append one execution to the log (``kind`` is ``model`` or ``tool``)."""
    path = os.environ.get(LOG_ENV)
    if not path:
        return
    line = json.dumps({"kind": kind, "name": name, "pid": os.getpid(), "at": time.time()})
    # One short write in append mode: lines from concurrent processes do not interleave.
    with Path(path).open("a", encoding="utf-8") as log:
        log.write(line + "\n")


@dataclass
class Counts:
    """How many times the demo's model and tools executed, in total and per process."""

    model_calls: int = 0
    tools: Counter[str] = field(default_factory=Counter)
    #: pid → Counter of "model" and tool names.
    by_pid: dict[int, Counter[str]] = field(default_factory=dict)

    def tool(self, name: str) -> int:
        return self.tools[name]


def read_counts(path: Path) -> Counts:
    counts = Counts()
    if not path.exists():
        return counts
    for line in path.read_text(encoding="utf-8").splitlines():
        entry = json.loads(line)
        key = "model" if entry["kind"] == "model" else str(entry["name"])
        if entry["kind"] == "model":
            counts.model_calls += 1
        else:
            counts.tools[key] += 1
        counts.by_pid.setdefault(int(entry["pid"]), Counter())[key] += 1
    return counts
