"""Live updates: server-sent events pushed when runs park, resume or finish.

Runs live in the database and any process may change them, so the server polls. One shared
watcher polls ``list_runs`` every ``interval`` seconds while at least one page is connected
(N open tabs cost one query loop, not N) and stops when the last one disconnects. A connection
that follows one run (``?run_id=``) also polls that run's timeline. Events:

- ``runs``: ``{"runs": [RunInfo, ...]}`` on connect and whenever any listed run changed;
- ``timeline``: ``{"run": RunInfo, "events": [...]}`` on connect and whenever it changed.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import AsyncIterator
from typing import Any

from timestep.inbox._store import RunStore

__all__ = ["RunWatcher", "event_stream", "format_event"]

logger = logging.getLogger("timestep.inbox")

# A comment line this often keeps proxies from closing an idle stream and lets a server notice
# a vanished client even when nothing changes.
KEEPALIVE_SECONDS = 15.0
RUNS_LIMIT = 100

Runs = list[dict[str, Any]]


class RunWatcher:
    """Polls the run list for every subscriber at once, only while someone listens."""

    def __init__(self, store: RunStore, *, interval: float = 0.5, limit: int = RUNS_LIMIT) -> None:
        self.store = store
        self.interval = interval
        self.limit = limit
        self._subscribers: set[asyncio.Queue[Runs]] = set()
        self._task: asyncio.Task[None] | None = None
        self._latest: Runs | None = None

    @property
    def subscribers(self) -> int:
        return len(self._subscribers)

    @property
    def polling(self) -> bool:
        return self._task is not None and not self._task.done()

    @contextlib.asynccontextmanager
    async def subscribe(self) -> AsyncIterator[asyncio.Queue[Runs]]:
        # Size 1: a slow client gets the newest list, never a backlog of stale ones.
        queue: asyncio.Queue[Runs] = asyncio.Queue(maxsize=1)
        if self._latest is not None:
            queue.put_nowait(self._latest)
        self._subscribers.add(queue)
        if not self.polling:
            self._task = asyncio.create_task(self._poll(), name="timestep-inbox-watcher")
        try:
            yield queue
        finally:
            self._subscribers.discard(queue)
            if not self._subscribers:
                # No await here: this runs while the disconnected client's request is being
                # cancelled, and any await would be cancelled too.
                self._halt()

    async def stop(self) -> None:
        """Stop polling (server shutdown)."""
        task = self._halt()
        if task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    def _halt(self) -> asyncio.Task[None] | None:
        task, self._task = self._task, None
        self._latest = None  # not watched any more, so it would go stale
        if task is not None:
            task.cancel()
        return task

    async def _poll(self) -> None:
        last = ""
        while True:
            try:
                runs = [r.to_dict() for r in await self.store.list(limit=self.limit)]
            except Exception as exc:  # the database may be restarting; keep the stream alive
                logger.warning("inbox could not list runs: %s", type(exc).__name__)
            else:
                fingerprint = json.dumps(runs, sort_keys=True, default=str)
                if fingerprint != last:
                    last = fingerprint
                    self._latest = runs
                    for queue in list(self._subscribers):
                        _put_latest(queue, runs)
            await asyncio.sleep(self.interval)


def _put_latest(queue: asyncio.Queue[Runs], runs: Runs) -> None:
    if queue.full():
        with contextlib.suppress(asyncio.QueueEmpty):
            queue.get_nowait()
    queue.put_nowait(runs)


def format_event(event: str, data: Any) -> str:
    # json.dumps never emits a raw newline, so the payload is always one ``data:`` line.
    return f"event: {event}\ndata: {json.dumps(data, default=str)}\n\n"


async def event_stream(watcher: RunWatcher, run_id: str | None) -> AsyncIterator[str]:
    """The body of ``GET /api/events``; ends when the client disconnects (cancellation)."""
    async with watcher.subscribe() as queue:
        yield "retry: 2000\n\n"
        last_timeline = ""
        last_sent = time.monotonic()
        while True:
            chunks: list[str] = []
            try:
                runs = await asyncio.wait_for(queue.get(), timeout=watcher.interval)
            except TimeoutError:
                pass
            else:
                chunks.append(format_event("runs", {"runs": runs}))
            if run_id is not None:
                try:
                    timeline = await watcher.store.timeline(run_id)
                except Exception as exc:
                    logger.warning("inbox could not read a timeline: %s", type(exc).__name__)
                else:
                    fingerprint = json.dumps(timeline, sort_keys=True, default=str)
                    if fingerprint != last_timeline:
                        last_timeline = fingerprint
                        chunks.append(format_event("timeline", timeline))
            if not chunks and time.monotonic() - last_sent > KEEPALIVE_SECONDS:
                chunks.append(": keepalive\n\n")
            if chunks:
                last_sent = time.monotonic()
                yield "".join(chunks)
