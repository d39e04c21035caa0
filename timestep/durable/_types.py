"""Typed shapes of the durable API: run info, pending approvals, events, timeout policy."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = [
    "DECISION_TOPIC",
    "STATUS_EVENT",
    "WORKFLOW_NAME",
    "PendingApproval",
    "RunEvent",
    "RunInfo",
    "RunStatus",
    "TimeoutPolicy",
]

#: The DBOS workflow name of a durable run: a contract with parked runs (do not rename).
WORKFLOW_NAME = "timestep.run"
#: DBOS message topic carrying approval decisions to a parked run.
DECISION_TOPIC = "timestep.decision"
#: DBOS event key under which a run publishes its status (pending approvals, usage).
STATUS_EVENT = "timestep.status"

RunStatus = Literal["queued", "running", "waiting_approval", "succeeded", "failed", "cancelled"]


@dataclass(frozen=True)
class PendingApproval:
    """A tool call waiting for a human decision."""

    call_id: str
    tool_name: str
    arguments: str
    agent: str
    #: Seconds since the epoch when the run parked on it.
    requested_at: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "call_id": self.call_id,
            "tool_name": self.tool_name,
            "arguments": self.arguments,
            "agent": self.agent,
            "requested_at": self.requested_at,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PendingApproval:
        return cls(
            call_id=str(data["call_id"]),
            tool_name=str(data["tool_name"]),
            arguments=str(data.get("arguments") or ""),
            agent=str(data.get("agent") or ""),
            requested_at=data.get("requested_at"),
        )


@dataclass(frozen=True)
class RunInfo:
    """What ``get_run`` knows about a durable run, from any process."""

    run_id: str
    status: RunStatus
    agent: str | None
    session_id: str | None
    pending: list[PendingApproval] = field(default_factory=list)
    output: Any = None
    usage: dict[str, int] = field(default_factory=dict)
    error: str | None = None
    created_at: float | None = None
    updated_at: float | None = None
    #: Every decision applied so far: call id -> ``"approve"`` or ``"reject"``.
    decisions: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "status": self.status,
            "agent": self.agent,
            "session_id": self.session_id,
            "pending": [p.to_dict() for p in self.pending],
            "output": self.output,
            "usage": dict(self.usage),
            "error": self.error,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
            "decisions": dict(self.decisions),
        }


@dataclass(frozen=True)
class RunEvent:
    """One durable event of a run, delivered by ``stream_run`` exactly once and in order.

    ``type`` is one of ``model_response`` (a completed turn: ``data["items"]``, ``data["usage"]``),
    ``tool_output`` (``call_id``, ``tool``, ``output``), ``approval_required`` (``pending``),
    ``decision`` (``call_id``, ``decision``, ``message``), ``session_write``, ``run_completed``
    (``output``, ``usage``), ``run_failed`` (``error``), ``run_cancelled``.
    ``seq`` is the DBOS step id it derives from (``0`` for the terminal event's ordering key).
    """

    type: str
    run_id: str
    seq: int
    data: dict[str, Any] = field(default_factory=dict)
    #: When the step behind the event completed (seconds since the epoch), if known.
    at: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"type": self.type, "run_id": self.run_id, "seq": self.seq, "at": self.at,
                "data": self.data}


@dataclass(frozen=True)
class TimeoutPolicy:
    """What a parked run does when no decision arrives in time.

    Args:
        after_seconds: How long to wait for decisions; ``None`` waits forever.
        action: ``"wait"`` keeps waiting, ``"reject"`` rejects the undecided calls (the model
            sees ``message``), ``"fail"`` ends the run in error.
        message: The rejection text for ``"reject"``.

    The deadline is recorded in the workflow when the run parks, so it survives restarts.
    """

    after_seconds: float | None = None
    action: Literal["wait", "reject", "fail"] = "wait"
    message: str = "The approval request timed out."

    def to_dict(self) -> dict[str, Any]:
        return {"after_seconds": self.after_seconds, "action": self.action, "message": self.message}

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> TimeoutPolicy:
        if not data:
            return cls()
        return cls(
            after_seconds=data.get("after_seconds"),
            action=data.get("action", "wait"),
            message=data.get("message") or cls.message,
        )
