"""Reviewers' decisions, applied at most once.

The durable API treats a repeated identical decision as a no-op, which is right for scripts that
retry; a reviewer clicking "approve" on a call someone already decided must instead be told so.
The run publishes its decisions (``RunInfo.decisions``) only once it has received them, so this
module also remembers what it sent until the run catches up, and serializes decisions, so two
quick clicks cannot both pass the check.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, Literal

from timestep.durable import approve, reject
from timestep.errors import ApprovalConflictError, CallNotFoundError
from timestep.inbox._store import RunStore

__all__ = ["Decision", "DecisionDesk"]

logger = logging.getLogger("timestep.inbox")

_ENDED = ("succeeded", "failed", "cancelled")
# Entries are needed only until the run republishes its status (well under a second when it is
# hosted); the bound keeps a long-lived server's memory flat.
_MAX_REMEMBERED = 10_000


@dataclass(frozen=True)
class Decision:
    """A decision the inbox sent to a run."""

    run_id: str
    call_id: str
    decision: Literal["approve", "reject"]
    always: bool
    message: str | None
    decided_by: str
    decided_at: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "call_id": self.call_id,
            "decision": self.decision,
            "always": self.always,
            "message": self.message,
            "decided_by": self.decided_by,
            "decided_at": self.decided_at,
        }


class DecisionDesk:
    """Checks and sends decisions for one database."""

    def __init__(self, store: RunStore) -> None:
        self._store = store
        self._database_url = store.database_url
        self._lock = asyncio.Lock()
        self._sent: OrderedDict[tuple[str, str], Decision] = OrderedDict()

    async def decide(
        self,
        run_id: str,
        call_id: str,
        decision: Literal["approve", "reject"],
        *,
        reviewer: str,
        always: bool = False,
        message: str | None = None,
    ) -> Decision:
        """Send one decision, or raise.

        Raises:
            RunNotFoundError: no run has this id.
            CallNotFoundError: the run has no pending call with this id.
            ApprovalConflictError: the call was already decided, or the run has ended.
        """
        async with self._lock:
            info = await self._store.get(run_id)
            earlier = self._sent.get((run_id, call_id))
            recorded = info.decisions.get(call_id)
            if earlier is not None:
                raise ApprovalConflictError(
                    f"Call {call_id} of run {run_id} was already {_past(earlier.decision)} "
                    f"by {earlier.decided_by}."
                )
            if recorded is not None:
                raise ApprovalConflictError(f"Call {call_id} of run {run_id} was already {_past(recorded)}.")
            if info.status in _ENDED:
                raise ApprovalConflictError(f"Run {run_id} has already ended ({info.status}); nothing to decide.")
            pending = {p.call_id: p for p in info.pending}
            if call_id not in pending:
                raise CallNotFoundError(f"Run {run_id} has no pending call {call_id!r}.")
            if decision == "approve":
                await approve(run_id, call_id, always=always, decided_by=reviewer,
                              database_url=self._database_url)
            else:
                await reject(run_id, call_id, message=message, always=always, decided_by=reviewer,
                             database_url=self._database_url)
            sent = Decision(run_id, call_id, decision, always, message, reviewer, time.time())
            covered = [call_id]
            if always:
                # The run applies "always" to every pending call of the same tool (see
                # timestep.durable._workflow._apply_decision); those are decided now too.
                tool = pending[call_id].tool_name
                covered += [c for c, p in pending.items() if p.tool_name == tool and c != call_id]
            for covered_id in covered:
                self._remember((run_id, covered_id), sent)
            logger.info("run %s call %s: %s by %s", run_id, call_id, _past(decision), reviewer)
            return sent

    def _remember(self, key: tuple[str, str], decision: Decision) -> None:
        self._sent[key] = decision
        while len(self._sent) > _MAX_REMEMBERED:
            self._sent.popitem(last=False)


def _past(decision: str) -> str:
    return {"approve": "approved", "reject": "rejected"}.get(decision, decision)
