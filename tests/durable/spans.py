"""When a durable run was doing work, from the step times in its durable record."""

from __future__ import annotations

from typing import Any

__all__ = ["max_overlap", "work_segments"]

#: Steps that only wait for a decision: a run inside them is parked, not working.
_WAIT_STEPS = {"DBOS.recv", "DBOS.sleep"}


def work_segments(steps: list[Any]) -> list[tuple[int, int]]:
    """A run's working spans (ms): its steps before the first approval wait, and after it.

    Times are stamped by the executing process, so spans of runs on one host share a clock.
    """
    names = [s["function_name"] for s in steps]
    cut = names.index("DBOS.recv") if "DBOS.recv" in names else len(steps)
    spans = []
    for part in (steps[:cut], [s for s in steps[cut:] if s["function_name"] not in _WAIT_STEPS]):
        times = [t for s in part for t in (s["started_at_epoch_ms"], s["completed_at_epoch_ms"]) if t]
        if times:
            spans.append((min(times), max(times)))
    return spans


def max_overlap(segments: list[tuple[int, int]]) -> int:
    """The largest number of half-open [start, end) intervals covering one instant."""
    edges = sorted([(start, 1) for start, _ in segments] + [(end, -1) for _, end in segments])
    depth = best = 0
    for _, step in edges:
        depth += step
        best = max(best, depth)
    return best
