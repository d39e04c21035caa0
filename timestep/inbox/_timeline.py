"""A run's timeline: what happened so far, from its durable record, as JSON for the page.

``stream_run`` follows a run until it ends, which suits a terminal but not a request that must
answer now about a parked run. The timeline reads the same DBOS steps once and maps them with
the durable layer's own step-to-event function, so the page, ``stream_run`` and ``timestep
show`` speak the same event vocabulary. Each event also gets ``at``: when its step completed.
"""

from __future__ import annotations

from typing import Any

from timestep.durable import RunInfo, _runtime, get_run
from timestep.durable._api import _events_of

__all__ = ["run_timeline"]


async def run_timeline(run_id: str, database_url: str | None) -> dict[str, Any]:
    """``{"run": RunInfo, "events": [...]}`` for a run, or raise ``RunNotFoundError``."""
    info = await get_run(run_id, database_url=database_url)
    client = _runtime.client(_runtime.database_for(database_url).sqlalchemy_url)
    steps = await client.list_workflow_steps_async(run_id, load_output=True)
    events: list[dict[str, Any]] = [
        {"type": "run_created", "seq": 0, "at": info.created_at,
         "data": {"agent": info.agent, "session_id": info.session_id}},
    ]
    for step in steps:
        if step["completed_at_epoch_ms"] is None and step["error"] is None:
            break  # still running; later steps are shown once it completes, in order
        at = step["completed_at_epoch_ms"] or step["started_at_epoch_ms"]
        for event in _events_of(run_id, step):
            events.append({"type": event.type, "seq": event.seq,
                           "at": at / 1000 if at else None, "data": event.data})
    last_seq = events[-1]["seq"]
    ending = _ending(info)
    if ending is not None:
        events.append({"type": ending[0], "seq": last_seq + 1, "at": info.updated_at, "data": ending[1]})
    return {"run": info.to_dict(), "events": events}


def _ending(info: RunInfo) -> tuple[str, dict[str, Any]] | None:
    if info.status == "succeeded":
        return "run_completed", {"output": info.output, "usage": dict(info.usage)}
    if info.status == "failed":
        return "run_failed", {"error": info.error}
    if info.status == "cancelled":
        return "run_cancelled", {}
    return None
