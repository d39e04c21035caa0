"""``SnapshotTable``: the ``run_states`` table without an agent (JSON in, typed rows out).

``RunStateStore`` is built on it; the durable layer and the CLI use it directly, e.g. to check
``resumed_at`` before resuming a parked run ("a row that Node loaded for resumption must not
also be resumed by a parked Python workflow").
"""

from __future__ import annotations

from types import TracebackType
from typing import Any

from timestep.config import DatabaseURL, resolve_database_url
from timestep.errors import SnapshotNotFoundError, UserError
from timestep.state._backends import SnapshotBackend, create_backend
from timestep.state._rows import (
    PYTHON_WRITER,
    SnapshotRow,
    StateType,
    check_key,
    check_state_type,
    dumps_json,
    schema_version_of,
)

__all__ = ["SnapshotTable"]


class SnapshotTable:
    """The ``run_states`` table of one database.

    Args:
        url: A database URL (``postgresql://…`` or ``sqlite:///…``) or a resolved
            :class:`~timestep.config.DatabaseURL`. None resolves it the usual way: env
            ``TIMESTEP_DB_URL``, ``PG_CONNECTION_URI``, ``DBOS_SYSTEM_DATABASE_URL``, else the
            embedded SQLite file in the app directory.

    The connection opens on first use, and the schema is migrated then (once per database per
    process). Use ``async with SnapshotTable(url) as table:`` or call :meth:`close`.
    """

    def __init__(self, url: str | DatabaseURL | None = None) -> None:
        self._url = url if isinstance(url, DatabaseURL) else resolve_database_url(url)
        self._backend: SnapshotBackend = create_backend(self._url)

    @property
    def url(self) -> DatabaseURL:
        """The resolved database (prints with the password masked)."""
        return self._url

    def __repr__(self) -> str:
        return f"SnapshotTable({self._url.redacted!r})"

    async def migrate(self) -> list[int]:
        """Apply pending migrations now (normally automatic); return the versions applied."""
        return await self._backend.migrate()

    async def save_json(
        self,
        key: str,
        state_data: dict[str, Any],
        native_data: dict[str, Any] | None = None,
        *,
        state_type: StateType,
        schema_version: str | None = None,
        writer: str | None = None,
    ) -> SnapshotRow:
        """Make ``state_data`` the key's active snapshot; the previous one becomes history.

        One transaction: deactivate the old active row, insert the new one. Concurrent saves
        on one key, from any process, leave exactly one active row.

        Args:
            key: The snapshot key (session id, else run id).
            state_data: The RunState in JS form (camelCase, ``$schemaVersion``).
            native_data: Python's ``RunState.to_json()`` of the same state, or None. Only pass
                it when ``state_data`` was produced from it.
            state_type: ``interrupted``, ``checkpoint`` or ``final``.
            schema_version: Defaults to ``state_data["$schemaVersion"]``.
            writer: Who produced ``native_data``; defaults to this Python's
                ``python/openai-agents <version>`` when ``native_data`` is given.

        Returns:
            The inserted row.
        """
        key = check_key(key)
        if not isinstance(state_data, dict):
            raise UserError(
                f"state_data must be a JSON object (dict); got {type(state_data).__name__}."
            )
        if native_data is not None and not isinstance(native_data, dict):
            raise UserError(
                f"native_data must be a dict or None; got {type(native_data).__name__}."
            )
        state_type = check_state_type(state_type)
        version = schema_version_of(state_data, schema_version)
        if native_data is not None and writer is None:
            writer = PYTHON_WRITER
        row_id, created_at = await self._backend.save(
            key,
            state_type=state_type,
            schema_version=version,
            state_json=dumps_json(state_data, "state_data"),
            native_json=None if native_data is None else dumps_json(native_data, "native_data"),
            writer=writer,
        )
        return SnapshotRow(
            id=row_id,
            run_id=key,
            state_type=state_type,
            schema_version=version,
            state_data=state_data,
            is_active=True,
            created_at=created_at,
            resumed_at=None,
            native_data=native_data,
            writer=writer,
        )

    async def active(self, key: str) -> SnapshotRow | None:
        """The key's active row, or None. Does not touch ``resumed_at``."""
        return await self._backend.active(check_key(key))

    async def get(self, key: str) -> SnapshotRow:
        """The key's active row. Does not touch ``resumed_at``.

        Raises:
            SnapshotNotFoundError: the key has no active snapshot.
        """
        row = await self.active(key)
        if row is None:
            raise not_found(key)
        return row

    async def mark_resumed(
        self,
        key: str,
        *,
        row_id: str | None = None,
        only_if_unresumed: bool = False,
        by: str | None = None,
    ) -> SnapshotRow | None:
        """Record that the key's active snapshot is being resumed (sets ``resumed_at``).

        Atomic (one UPDATE that re-checks the row): with ``row_id`` it marks only if that row
        is still the active one; with ``only_if_unresumed`` only if nobody marked it before,
        which makes it a claim — of two resumers, exactly one gets the row. ``by`` names the
        claimer (stored in ``resumed_by``) so it can recognise its own claim later.

        Returns:
            The marked row, or None when nothing matched (no active row, a different active
            row, or already resumed with ``only_if_unresumed``); call :meth:`active` to see which.
        """
        return await self._backend.mark_resumed(
            check_key(key), row_id=row_id, only_if_unresumed=only_if_unresumed, by=by
        )

    async def try_mark_resumed(
        self,
        key: str,
        *,
        row_id: str | None = None,
        only_if_unresumed: bool = False,
        by: str | None = None,
    ) -> bool:
        """:meth:`mark_resumed` without reading the row back: True when a row was marked."""
        return await self._backend.try_mark_resumed(
            check_key(key), row_id=row_id, only_if_unresumed=only_if_unresumed, by=by
        )

    async def deactivate(self, key: str) -> int:
        """Deactivate the key's active snapshot, keeping it as history. Returns rows changed (0/1)."""
        return await self._backend.deactivate(check_key(key))

    async def history(self, key: str, *, limit: int | None = None) -> list[SnapshotRow]:
        """All rows of the key, active or not, newest first."""
        if limit is not None and limit < 0:
            raise UserError("limit must be >= 0 or None.")
        return await self._backend.history(check_key(key), limit)

    async def list_active(
        self, *, state_type: StateType | None = None, limit: int = 50
    ) -> list[SnapshotRow]:
        """Active rows across all keys, newest first (optionally of one state type)."""
        if state_type is not None:
            state_type = check_state_type(state_type)
        if limit < 0:
            raise UserError("limit must be >= 0.")
        return await self._backend.list_active(state_type, limit)

    async def close(self) -> None:
        """Close the connection (idempotent; a later call reconnects)."""
        await self._backend.close()

    async def __aenter__(self) -> SnapshotTable:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()


def not_found(key: str, hint: str = "") -> SnapshotNotFoundError:
    """The error for a key without an active snapshot (names the key)."""
    message = f"No active run state snapshot for key {key!r}."
    return SnapshotNotFoundError(message + (f" {hint}" if hint else ""), key=key)
