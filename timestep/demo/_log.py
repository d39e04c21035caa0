"""The demo's witness log: one JSON line per model call and tool execution, and per step seen.

Two kinds of lines, written in whichever worker process does the work:

* ``model`` / ``tool``: by the code that does the work (the model wrapper, the tools). A replayed
  step returns its recorded result without calling that code, so it adds no such line: these
  count real executions, independently of DBOS's own record.
* ``turn`` / ``passed``: by SDK hooks that run in workflow code after every turn and tool call,
  executed or replayed. A restarted worker going through the run again shows up here only.
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
    """Append one line to the log (``kind``: ``model``, ``tool``, ``turn`` or ``passed``)."""
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
    #: pid → Counter of "model", tool names, "turn" (turns gone through) and "passed" (tool
    #: calls gone through), executed or replayed.
    by_pid: dict[int, Counter[str]] = field(default_factory=dict)

    def tool(self, name: str) -> int:
        return self.tools[name]

    def seen_by(self, pid: int) -> Counter[str]:
        return self.by_pid.get(pid, Counter())


def read_counts(path: Path) -> Counts:
    counts = Counts()
    if not path.exists():
        return counts
    for line in path.read_text(encoding="utf-8").splitlines():
        entry = json.loads(line)
        kind = str(entry["kind"])
        key = str(entry["name"]) if kind == "tool" else kind
        if kind == "model":
            counts.model_calls += 1
        elif kind == "tool":
            counts.tools[key] += 1
        counts.by_pid.setdefault(int(entry["pid"]), Counter())[key] += 1
    return counts
