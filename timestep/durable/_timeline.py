"""A run's timeline: every recorded step of its workflow, classified, with timing and usage.

The durable record (DBOS's step rows) already holds everything a person wants to see about a
run: each model turn with its token usage, each tool call with its output, the park on approval
and the decision that ended it. This module reads those rows through a ``DBOSClient`` (from any
process) and names them; it never launches DBOS. Step names are the contract set by
``_workflow.py`` (``model:*``, ``tool:NAME#CALL_ID``, ``snapshot``, ``session.*``, ...).
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from typing import Any, Literal

from agents.items import ModelResponse
from dbos._sys_db import StepInfo

from timestep.durable import _runtime
from timestep.durable._types import WORKFLOW_NAME
from timestep.errors import RunNotFoundError

__all__ = ["StepKind", "TimelineStep", "run_timeline", "timeline_of"]

#: ``model`` a turn; ``tool`` a function-tool call; ``approval`` the run parked on pending
#: calls; ``decision`` the wait for (and arrival of) a decision; ``snapshot`` the final snapshot
#: row; ``session`` conversation reads/writes; ``status``, ``deadline`` and ``sleep`` are
#: bookkeeping (status events, approval deadlines, recv's durable timeout).
StepKind = Literal[
    "model",
    "tool",
    "approval",
    "decision",
    "snapshot",
    "session",
    "status",
    "deadline",
    "sleep",
    "other",
]

#: Kinds a person reading a timeline cares about; the rest is bookkeeping.
PRIMARY_KINDS: frozenset[str] = frozenset({"model", "tool", "approval", "decision", "snapshot"})

_SUMMARY_LIMIT = 240


@dataclass(frozen=True)
class TimelineStep:
    """One recorded step of a durable run."""

    #: The DBOS step id (its position in the workflow; also ``RunEvent.seq``).
    seq: int
    kind: StepKind
    #: The raw DBOS step name (``model:gpt-4.1``, ``tool:refund#call_1``, ``DBOS.recv``...).
    name: str
    #: Epoch seconds; ``completed_at`` is None while the step is still running (or parked).
    started_at: float | None
    completed_at: float | None
    #: Token usage of a model turn; None for other steps.
    usage: dict[str, int] | None
    #: One human-readable line: the calls a turn made, a tool's output, a decision.
    summary: str
    error: str | None = None
    #: For tool steps: the tool name and call id (parsed from the step name).
    tool: str | None = None
    call_id: str | None = None

    @property
    def duration_ms(self) -> float | None:
        if self.started_at is None or self.completed_at is None:
            return None
        return max(0.0, (self.completed_at - self.started_at) * 1000)

    @property
    def primary(self) -> bool:
        return self.kind in PRIMARY_KINDS

    def to_dict(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "kind": self.kind,
            "name": self.name,
            "started_at": self.started_at,
            "completed_at": self.completed_at,
            "duration_ms": self.duration_ms,
            "usage": self.usage,
            "summary": self.summary,
            "error": self.error,
            "tool": self.tool,
            "call_id": self.call_id,
        }


async def run_timeline(run_id: str, *, database_url: str | None = None) -> list[TimelineStep]:
    """Every recorded step of a run, in order (works from any process; never launches DBOS).

    Raises:
        RunNotFoundError: no durable run has this id.
    """
    client = _runtime.client(_runtime.database_for(database_url).sqlalchemy_url)
    statuses = await client.list_workflows_async(
        workflow_ids=[run_id], load_input=False, load_output=False
    )
    if not statuses or statuses[0].name != WORKFLOW_NAME:
        raise RunNotFoundError(f"No durable run has id {run_id!r}.")
    steps = await client.list_workflow_steps_async(run_id, load_output=True)
    return timeline_of(steps)


def timeline_of(steps: list[StepInfo]) -> list[TimelineStep]:
    """Classify DBOS step rows (as returned by ``list_workflow_steps``) into timeline steps."""
    timeline: list[TimelineStep] = []
    parked_at: float | None = None
    for step in (_classify(s) for s in sorted(steps, key=lambda s: s["function_id"])):
        if step.kind == "approval":
            parked_at = step.completed_at
        elif step.kind == "decision" and parked_at is not None:
            # A recv row records its latest execution: after a worker restart, the replay's.
            # The wait really began when the run parked, so the timeline measures it from there.
            if step.started_at is None or parked_at < step.started_at:
                step = dataclasses.replace(step, started_at=parked_at)
            parked_at = None
        timeline.append(step)
    return timeline


def _classify(step: StepInfo) -> TimelineStep:
    name = step["function_name"]
    output = step["output"]
    error = None if step["error"] is None else f"{type(step['error']).__name__}: {step['error']}"
    started = _seconds(step["started_at_epoch_ms"])
    completed = _seconds(step["completed_at_epoch_ms"])
    base: dict[str, Any] = {
        "seq": step["function_id"],
        "name": name,
        "started_at": started,
        "completed_at": completed,
        "error": error,
    }
    if name.startswith("model:"):
        if isinstance(output, ModelResponse):
            return TimelineStep(
                kind="model", usage=_usage(output), summary=_turn_summary(output), **base
            )
        return TimelineStep(
            kind="model",
            usage=None,
            summary="model call" if error else "calling the model…",
            **base,
        )
    if name.startswith("tool:"):
        tool, _, call_id = name[len("tool:") :].partition("#")
        summary = (
            _clip(_text(output)) if completed is not None or output is not None else "running…"
        )
        return TimelineStep(
            kind="tool", usage=None, summary=summary, tool=tool, call_id=call_id or None, **base
        )
    if name == "snapshot":
        if isinstance(output, list) and output:
            calls = ", ".join(
                f"{p.get('tool_name')}({p.get('call_id')})" for p in output if isinstance(p, dict)
            )
            return TimelineStep(
                kind="approval", usage=None, summary=f"parked: approval needed for {calls}", **base
            )
        return TimelineStep(kind="snapshot", usage=None, summary="final snapshot saved", **base)
    if name == "DBOS.recv":
        return TimelineStep(
            kind="decision", usage=None, summary=_decision_summary(output, completed), **base
        )
    if name == "DBOS.sleep":
        return TimelineStep(kind="sleep", usage=None, summary="approval wait timer", **base)
    if name == "DBOS.setEvent":
        return TimelineStep(kind="status", usage=None, summary="status published", **base)
    if name.startswith("session"):
        return TimelineStep(kind="session", usage=None, summary=name, **base)
    if name.startswith("approval."):
        return TimelineStep(kind="deadline", usage=None, summary=name, **base)
    return TimelineStep(kind="other", usage=None, summary=name, **base)


def _seconds(epoch_ms: int | None) -> float | None:
    return None if epoch_ms is None else epoch_ms / 1000


def _usage(response: ModelResponse) -> dict[str, int]:
    usage = response.usage
    return {
        "requests": usage.requests,
        "input_tokens": usage.input_tokens,
        "output_tokens": usage.output_tokens,
        "total_tokens": usage.total_tokens,
    }


def _turn_summary(response: ModelResponse) -> str:
    """What the model did in this turn: the tools it called, else the text it said."""
    calls: list[str] = []
    texts: list[str] = []
    for item in response.output:
        kind = getattr(item, "type", None)
        if kind == "function_call":
            calls.append(f"{getattr(item, 'name', '?')}({getattr(item, 'arguments', '')})")
        elif kind == "message":
            for part in getattr(item, "content", None) or []:
                text = getattr(part, "text", None)
                if isinstance(text, str):
                    texts.append(text)
        elif kind is not None:
            calls.append(str(kind))
    if calls:
        return _clip("calls " + ", ".join(calls))
    return _clip("says: " + " ".join(texts)) if texts else "(empty response)"


def _decision_summary(output: Any, completed: float | None) -> str:
    if completed is None and output is None:
        return "waiting for a decision…"
    if isinstance(output, dict) and output.get("decision"):
        verb = "approved" if output.get("decision") == "approve" else "rejected"
        target = output.get("call_id") or "all pending calls"
        extra = " (always)" if output.get("always") else ""
        by = f" by {output['decided_by']}" if output.get("decided_by") else ""
        message = f": {output['message']}" if output.get("message") else ""
        return _clip(f"{verb} {target}{extra}{by}{message}")
    return "no decision arrived in the wait window"


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    dump = getattr(value, "model_dump", None)
    if callable(dump):
        value = dump(mode="json")
    try:
        return json.dumps(value, default=str)
    except (TypeError, ValueError):
        return str(value)


def _clip(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= _SUMMARY_LIMIT else text[: _SUMMARY_LIMIT - 1] + "…"
