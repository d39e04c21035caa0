"""timestep: durable OpenAI Agents SDK runs on DBOS, with snapshots Node.js can resume.

The public API is exactly ``__all__``. Names are loaded lazily so ``import timestep`` stays cheap
(the durable layer pulls in DBOS and SQLAlchemy only when first used).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from timestep.errors import (
    ApprovalConflictError,
    CallNotFoundError,
    ConfigurationError,
    InterruptionException,
    ModelConnectionError,
    ModelError,
    ModelNotFoundError,
    ModelResponseError,
    ModelTimeoutError,
    RunError,
    RunFailedError,
    RunNotFoundError,
    SnapshotError,
    SnapshotFormatError,
    SnapshotNotFoundError,
    SnapshotVersionError,
    TimestepError,
    UnknownAgentError,
    UnsupportedFeatureError,
    UserError,
)

if TYPE_CHECKING:
    from timestep.durable import (
        RunEvent,
        RunHandle,
        RunInfo,
        TimeoutPolicy,
        approve,
        cancel_run,
        get_run,
        idempotency_key,
        list_runs,
        register_agent,
        reject,
        start_run,
        stream_run,
    )
    from timestep.models import (
        MultiModelProvider,
        MultiModelProviderMap,
        OllamaModel,
        OllamaModelProvider,
    )
    from timestep.run import consume_result, run_agent
    from timestep.state import RunStateStore

_LAZY: dict[str, str] = {
    "run_agent": "timestep.run",
    "consume_result": "timestep.run",
    "MultiModelProvider": "timestep.models",
    "MultiModelProviderMap": "timestep.models",
    "OllamaModel": "timestep.models",
    "OllamaModelProvider": "timestep.models",
    "RunStateStore": "timestep.state",
    "RunEvent": "timestep.durable",
    "RunHandle": "timestep.durable",
    "RunInfo": "timestep.durable",
    "TimeoutPolicy": "timestep.durable",
    "approve": "timestep.durable",
    "cancel_run": "timestep.durable",
    "get_run": "timestep.durable",
    "idempotency_key": "timestep.durable",
    "list_runs": "timestep.durable",
    "register_agent": "timestep.durable",
    "reject": "timestep.durable",
    "start_run": "timestep.durable",
    "stream_run": "timestep.durable",
}

__all__ = [
    "ApprovalConflictError",
    "CallNotFoundError",
    "ConfigurationError",
    "InterruptionException",
    "ModelConnectionError",
    "ModelError",
    "ModelNotFoundError",
    "ModelResponseError",
    "ModelTimeoutError",
    "MultiModelProvider",
    "MultiModelProviderMap",
    "OllamaModel",
    "OllamaModelProvider",
    "RunError",
    "RunEvent",
    "RunFailedError",
    "RunHandle",
    "RunInfo",
    "RunNotFoundError",
    "RunStateStore",
    "SnapshotError",
    "SnapshotFormatError",
    "SnapshotNotFoundError",
    "SnapshotVersionError",
    "TimeoutPolicy",
    "TimestepError",
    "UnknownAgentError",
    "UnsupportedFeatureError",
    "UserError",
    "approve",
    "cancel_run",
    "consume_result",
    "get_run",
    "idempotency_key",
    "list_runs",
    "register_agent",
    "reject",
    "run_agent",
    "start_run",
    "stream_run",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'timestep' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
