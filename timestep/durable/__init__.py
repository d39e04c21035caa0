"""Durable runs on DBOS: every turn and every tool call a step, approvals parked on ``recv``."""

from timestep.durable._api import (
    RunHandle,
    approve,
    cancel_run,
    get_run,
    list_runs,
    reject,
    run_events,
    start_run,
    stream_run,
)
from timestep.durable._registry import register_agent, registered_names
from timestep.durable._runtime import launch, shutdown
from timestep.durable._session import SQLSession
from timestep.durable._tools import idempotency_key
from timestep.durable._types import PendingApproval, RunEvent, RunInfo, RunStatus, TimeoutPolicy
from timestep.durable._worker import DEFAULT_QUEUE, WorkerOptions, serve, serve_worker

__all__ = [
    "DEFAULT_QUEUE",
    "PendingApproval",
    "RunEvent",
    "RunHandle",
    "RunInfo",
    "RunStatus",
    "SQLSession",
    "TimeoutPolicy",
    "WorkerOptions",
    "approve",
    "cancel_run",
    "get_run",
    "idempotency_key",
    "launch",
    "list_runs",
    "register_agent",
    "registered_names",
    "reject",
    "run_events",
    "serve",
    "serve_worker",
    "shutdown",
    "start_run",
    "stream_run",
]
