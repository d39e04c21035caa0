"""A run's timeline: what happened so far, from its durable record, as JSON for the page.

``stream_run`` follows a run until it ends, which suits a terminal but not a request that must
answer now about a parked run. The timeline reads the same DBOS steps once and maps them with
the durable layer's own step-to-event function, so the page, ``stream_run`` and ``timestep
show`` speak the same event vocabulary. Each event also gets ``at``: when its step completed.
"""

from __future__ import annotations

from typing import Any

from timestep.durable import RunInfo, get_run, run_events

__all__ = ["run_timeline"]


async def run_timeline(run_id: str, database_url: str | None) -> dict[str, Any]:
    """``{"run": RunInfo, "events": [...]}`` for a run, or raise ``RunNotFoundError``."""
    info = await get_run(run_id, database_url=database_url)
    events: list[dict[str, Any]] = [
        {"type": "run_created", "seq": 0, "at": info.created_at,
         "data": {"agent": info.agent, "session_id": info.session_id}},
    ]
    for event in await run_events(run_id, database_url=database_url):
        entry = event.to_dict()
        entry.pop("run_id")
        events.append(entry)
    return {"run": _run_dict(info), "events": events}


def _run_dict(info: RunInfo) -> dict[str, Any]:
    return info.to_dict()
