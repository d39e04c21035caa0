"""The user module a durable-test worker imports: agents register themselves at import.

Tools record their executions in a SQLite "ledger" (``$TIMESTEP_TEST_LEDGER``) the way an
external system would: ``attempts`` counts every invocation, ``effects`` holds one row per
idempotency key (INSERT OR IGNORE), so a re-executed step shows up as an extra attempt but
never as a second effect.
"""

from __future__ import annotations

import os
import sqlite3

from agents import Agent, function_tool

import timestep
from tests.durable.rule_model import RuleModelProvider
from timestep.durable._failpoints import failpoint


def _ledger() -> sqlite3.Connection:
    conn = sqlite3.connect(os.environ["TIMESTEP_TEST_LEDGER"], timeout=30, isolation_level=None)
    conn.execute("CREATE TABLE IF NOT EXISTS attempts (tool TEXT, key TEXT)")
    conn.execute("CREATE TABLE IF NOT EXISTS effects (key TEXT PRIMARY KEY, tool TEXT, detail TEXT)")
    return conn


def record(tool: str, detail: str) -> None:
    key = timestep.idempotency_key()
    conn = _ledger()
    try:
        conn.execute("INSERT INTO attempts VALUES (?, ?)", (tool, key))
        failpoint("inside_tool")
        conn.execute("INSERT OR IGNORE INTO effects VALUES (?, ?, ?)", (key, tool, detail))
    finally:
        conn.close()


@function_tool(needs_approval=True)
def charge(customer: str, cents: int) -> str:
    """Charge a customer (needs a human's approval)."""
    record("charge", f"{customer}:{cents}")
    return f"charged {customer} {cents}"


@function_tool
def lookup(customer: str) -> str:
    """Look a customer up."""
    record("lookup", customer)
    return f"{customer} is a gold customer"


billing = Agent(name="Billing", instructions="Handle billing.", tools=[charge, lookup])
timestep.register_agent(billing, model_provider=RuleModelProvider())

if os.environ.get("TIMESTEP_TEST_EXTRA_AGENT"):
    # The "redeploy" variant: changed code with an added agent and tool.
    @function_tool
    def refund(customer: str) -> str:
        """Refund a customer."""
        return f"refunded {customer}"

    support = Agent(name="Support", instructions="Help.", tools=[refund])
    timestep.register_agent(support, model_provider=RuleModelProvider())
