"""The snapshot backend interface: one abstract class, one subclass per database dialect."""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Callable
from datetime import datetime
from typing import Any

from timestep.config import DatabaseURL
from timestep.errors import SnapshotFormatError
from timestep.state._rows import SnapshotRow, StateType, check_state_type

__all__ = ["SnapshotBackend"]


class SnapshotBackend(ABC):
    """Reads and writes ``run_states`` rows for one database.

    Every write is one transaction. Implementations migrate the schema on first use (once per
    database per process) and open their connection lazily, so constructing one is free.
    """

    def __init__(self, url: DatabaseURL) -> None:
        self.url = url

    @abstractmethod
    async def migrate(self) -> list[int]:
        """Apply pending migrations now; return the versions applied (``[]`` if none)."""

    @abstractmethod
    async def save(
        self,
        key: str,
        *,
        state_type: StateType,
        schema_version: str,
        state_json: str,
        native_json: str | None,
        writer: str | None,
    ) -> tuple[str, datetime]:
        """In one transaction: deactivate the key's active row, insert the new active row.

        Returns the new row's id and ``created_at``: the caller has the rest, and reading the
        JSON columns back cost more than the insert (~3 ms of a 50-turn save on Postgres,
        ``python -m bench --only snapshot``)."""

    @abstractmethod
    async def active(self, key: str) -> SnapshotRow | None:
        """The key's active row, or None. No side effects."""

    @abstractmethod
    async def mark_resumed(
        self, key: str, *, row_id: str | None, only_if_unresumed: bool, by: str | None = None
    ) -> SnapshotRow | None:
        """Atomically set ``resumed_at`` on the key's active row; return it, or None if nothing
        matched (no active row, a different active row than ``row_id``, or already resumed
        when ``only_if_unresumed``)."""

    @abstractmethod
    async def try_mark_resumed(
        self, key: str, *, row_id: str | None, only_if_unresumed: bool, by: str | None = None
    ) -> bool:
        """``mark_resumed`` without reading the row back: whether a row was marked."""

    @abstractmethod
    async def deactivate(self, key: str) -> int:
        """Mark the key's active row inactive (history is kept); return the rows changed."""

    @abstractmethod
    async def history(self, key: str, limit: int | None) -> list[SnapshotRow]:
        """Every row of the key, newest first."""

    @abstractmethod
    async def list_active(self, state_type: StateType | None, limit: int) -> list[SnapshotRow]:
        """Active rows of all keys, newest first."""

    @abstractmethod
    async def close(self) -> None:
        """Release connections. Idempotent; a later call reconnects."""

    def _row_from(self, r: tuple[Any, ...], to_time: Callable[[Any], datetime | None]) -> SnapshotRow:
        """A ``SnapshotRow`` from a row selected as ``id, run_id, state_type, schema_version,
        state_data, is_active, created_at, resumed_at, native_data, writer, resumed_by``;
        ``to_time`` decodes the dialect's timestamps."""
        state_data = self._json_object(r[4], "state_data")
        created_at = to_time(r[6])
        if state_data is None or created_at is None:  # NOT NULL columns
            raise SnapshotFormatError("run_states row without state_data or created_at.")
        return SnapshotRow(
            id=str(r[0]),
            run_id=str(r[1]),
            state_type=check_state_type(r[2]),
            schema_version=str(r[3]),
            state_data=state_data,
            is_active=bool(r[5]),
            created_at=created_at,
            resumed_at=to_time(r[7]),
            native_data=self._json_object(r[8], "native_data"),
            writer=r[9],
            resumed_by=r[10],
        )

    @staticmethod
    def _json_object(value: Any, column: str) -> dict[str, Any] | None:
        # JSONB comes back decoded from psycopg, TEXT from SQLite; both must be JSON objects.
        if value is None:
            return None
        if isinstance(value, str | bytes):
            try:
                value = json.loads(value)
            except ValueError as exc:
                raise SnapshotFormatError(f"run_states.{column} is not valid JSON: {exc}") from exc
        if not isinstance(value, dict):
            raise SnapshotFormatError(f"run_states.{column} is not a JSON object.")
        return value
