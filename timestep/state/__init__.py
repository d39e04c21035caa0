"""Run-state snapshots: the ``run_states`` table (shared with Node) and ``RunStateStore``.

Public names are loaded lazily so that importing a submodule (e.g. ``timestep.state.codec``)
does not pull in the store, the database drivers or the agents SDK.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from timestep.state._rows import PYTHON_WRITER, STATE_TYPES, SnapshotRow, StateType
    from timestep.state.store import RunStateStore
    from timestep.state.table import SnapshotTable

__all__ = [
    "PYTHON_WRITER",
    "STATE_TYPES",
    "RunStateStore",
    "SnapshotRow",
    "SnapshotTable",
    "StateType",
]

_LAZY: dict[str, str] = {
    "PYTHON_WRITER": "timestep.state._rows",
    "STATE_TYPES": "timestep.state._rows",
    "RunStateStore": "timestep.state.store",
    "SnapshotRow": "timestep.state._rows",
    "SnapshotTable": "timestep.state.table",
    "StateType": "timestep.state._rows",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'timestep.state' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
