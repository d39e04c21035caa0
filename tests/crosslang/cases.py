"""The cross-language case matrix: each case runs in both directions, streamed and not.

A case is an origin side (runs, maybe decides, stops at an interruption) and a resuming side
(loads the other language's snapshot, maybe decides, runs to completion), plus what the
resuming side must observe. The same case definitions drive Python -> Node and Node -> Python.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

APPROVE: dict[str, Any] = {"decide": [{"kind": "approve"}]}
DENIAL = "Denied by a human reviewer."
REJECT: dict[str, Any] = {"decide": [{"kind": "reject", "message": DENIAL}]}
ALWAYS_APPROVE: dict[str, Any] = {"decide": [{"kind": "approve", "always": True}]}
NEVER = "Never for this tool."
ALWAYS_REJECT: dict[str, Any] = {"decide": [{"kind": "reject", "always": True, "message": NEVER}]}

BOB = {"to": "bob@example.com", "subject": "Hi"}
ANN = {"to": "ann@example.com", "subject": "First"}
BO = {"to": "bo@example.com", "subject": "Second"}
CY = {"to": "cy@example.com", "subject": "Handed off"}
EVE = {"to": "eve@example.com", "subject": "Chatty"}
DEE = {"to": "dee@example.com", "subject": "Parallel"}
ZOE = {"to": "zo\u00eb@ex\u00e4mple.com", "subject": "Gr\u00fc\u00dfe \u2713 \U0001f600 \u2028"}


@dataclass(frozen=True)
class Case:
    name: str
    scenario: str
    origin: list[Any]
    resume: list[Any]
    final_output: str
    #: tool executions the resuming side performs ({to, subject}; user checked separately)
    executed: list[dict[str, str]]
    requests: int
    context: dict[str, Any] | None = None
    trace: bool = False
    #: guardrail names the resuming side's final snapshot must carry
    input_guardrails: list[str] = field(default_factory=list)
    output_guardrails: list[str] = field(default_factory=lambda: ["polite"])
    #: lookup_contact executions on the resuming side (a completed call must not run again)
    lookups: list[str] = field(default_factory=list)
    #: the fake model's step indexes that ran (step k costs 10 * (k + 1) input tokens)
    steps: tuple[int, ...] | None = None
    #: the origin is a fresh state (before the first turn) instead of a run
    fresh: bool = False
    #: approvals pending when the origin stops
    pending: int = 1

    @property
    def pending_at_origin(self) -> int:
        return 0 if self.fresh else self.pending

    @property
    def input_tokens(self) -> int:
        return sum(10 * (k + 1) for k in (self.steps or range(self.requests)))


CASES: list[Case] = [
    Case(
        "approve_on_resume",
        "basic",
        ["run"],
        [APPROVE, "run"],
        f"final: sent:{BOB['to']}:Hi",
        [BOB],
        2,
    ),
    Case("reject_on_resume", "basic", ["run"], [REJECT, "run"], f"final: {DENIAL}", [], 2),
    Case(
        "approve_on_origin",
        "basic",
        ["run", APPROVE],
        ["run"],
        f"final: sent:{BOB['to']}:Hi",
        [BOB],
        2,
    ),
    Case("reject_on_origin", "basic", ["run", REJECT], ["run"], f"final: {DENIAL}", [], 2),
    Case(
        "always_approve",
        "two_calls",
        ["run", ALWAYS_APPROVE],
        ["run"],
        f"final: sent:{BO['to']}:Second",
        [ANN, BO],
        3,
    ),
    Case("always_reject", "two_calls", ["run", ALWAYS_REJECT], ["run"], f"final: {NEVER}", [], 3),
    Case(
        "second_interruption",
        "two_calls",
        ["run", APPROVE, "run"],
        [APPROVE, "run"],
        f"final: sent:{BO['to']}:Second",
        [BO],
        3,
    ),
    Case(
        "handoff",
        "handoff",
        ["run"],
        [APPROVE, "run"],
        f"final: sent:{CY['to']}:Handed off",
        [CY],
        3,
        input_guardrails=["no_secrets"],
    ),
    Case(
        "dict_context",
        "basic",
        ["run"],
        [APPROVE, "run"],
        f"final: sent:{BOB['to']}:Hi",
        [BOB],
        2,
        context={"user_id": "u1", "tenant": "acme"},
    ),
    Case(
        "trace",
        "basic",
        ["run"],
        [APPROVE, "run"],
        f"final: sent:{BOB['to']}:Hi",
        [BOB],
        2,
        trace=True,
    ),
    # Two calls in one response: the lookup ran on the origin, only the send runs on resume.
    Case(
        "parallel_calls",
        "parallel",
        ["run"],
        [APPROVE, "run"],
        "final: sent:dee@example.com:Parallel",
        [DEE],
        2,
        steps=(0, 2),
    ),
    # A rejected call in the history, then a second interruption.
    Case(
        "reject_then_second",
        "two_calls",
        ["run", REJECT, "run"],
        [APPROVE, "run"],
        f"final: sent:{BO['to']}:Second",
        [BO],
        3,
    ),
    # Two approvals pending at once: one approved, one rejected on the resuming side.
    Case(
        "two_pending",
        "two_pending",
        ["run"],
        [{"decide": [{"kind": "approve"}, {"kind": "reject", "message": DENIAL}]}, "run"],
        f"final: {DENIAL}",
        [{"to": "fay@example.com", "subject": "A"}],
        2,
        steps=(0, 2),
        pending=2,
    ),
    # An assistant message before the call in the same response.
    Case(
        "message_and_call",
        "chatty",
        ["run"],
        [APPROVE, "run"],
        "final: sent:eve@example.com:Chatty",
        [EVE],
        2,
    ),
    # A checkpoint before the first turn: the resuming side runs everything.
    Case(
        "fresh_checkpoint",
        "basic",
        [],
        ["run", APPROVE, "run"],
        f"final: sent:{BOB['to']}:Hi",
        [BOB],
        2,
        context={"user_id": "u1", "tenant": "acme"},
        fresh=True,
    ),
    Case(
        "unicode_numbers",
        "unicode",
        ["run", APPROVE],
        ["run"],
        f"final: sent:{ZOE['to']}:{ZOE['subject']}",
        [ZOE],
        2,
    ),
]

STREAMING: list[tuple[bool, bool]] = [(False, False), (True, False), (False, True), (True, True)]


def job(case: Case, actions: list[Any], stream: bool, state: str | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "scenario": case.scenario,
        "actions": actions,
        "stream": stream,
        "trace": case.trace,
        "context": case.context,
    }
    if state is not None:
        out["state"] = state
    elif case.fresh and actions is case.origin:
        out["fresh"] = True
    return out
