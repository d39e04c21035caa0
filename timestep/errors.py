"""The one exception hierarchy of timestep.

Every error timestep raises derives from :class:`TimestepError`. Errors that cross a DBOS step
boundary are pickled by DBOS (its default serializer), so every class with extra constructor
arguments defines ``__reduce__`` and the test suite round-trips each one through pickle.

Tree::

    TimestepError
    ├── UserError                      misuse of the API (bad arguments, unknown names)
    │   └── ConfigurationError         settings that cannot work (bad URL, contradictory options); also a ValueError
    ├── ModelError                     a model backend failed
    │   ├── ModelNotFoundError
    │   ├── ModelConnectionError       the host could not be reached
    │   ├── ModelTimeoutError
    │   └── ModelResponseError         the backend answered with an error (incl. mid-stream)
    ├── SnapshotError                  a stored run state cannot be written or read
    │   ├── SnapshotNotFoundError
    │   ├── SnapshotFormatError        malformed JSON or shape
    │   ├── SnapshotVersionError       unknown or newer ``$schemaVersion``
    │   ├── UnknownAgentError          the snapshot names an agent the graph does not have
    │   └── UnsupportedFeatureError    the state uses something the codec cannot carry
    ├── RunError                       durable-run operations
    │   ├── RunNotFoundError
    │   ├── CallNotFoundError
    │   ├── ApprovalConflictError      decision refused (already decided / resumed elsewhere)
    │   └── RunFailedError             the run ended in error; ``await handle.result()`` raises it
    └── InterruptionException          a run stopped for tool approval (when asked to raise)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

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
    "RunError",
    "RunFailedError",
    "RunNotFoundError",
    "SnapshotError",
    "SnapshotFormatError",
    "SnapshotNotFoundError",
    "SnapshotVersionError",
    "TimestepError",
    "UnknownAgentError",
    "UnsupportedFeatureError",
    "UserError",
]


class TimestepError(Exception):
    """Root of every error raised by timestep."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.message,))


class UserError(TimestepError):
    """The API was used in a way that cannot work; the message says what to do instead."""


class ConfigurationError(UserError, ValueError):
    """Settings are missing, malformed or contradictory.

    Also a ``ValueError``, so code that guards constructor arguments with ``except ValueError``
    (the convention of the original project and of most Python libraries) still catches it.
    """


class ModelError(TimestepError):
    """A model backend failed. ``model`` and ``host`` name where, when known."""

    def __init__(self, message: str, *, model: str | None = None, host: str | None = None) -> None:
        super().__init__(message)
        self.model = model
        self.host = host

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild_with_kwargs, (type(self), self.message, {"model": self.model, "host": self.host}))


class ModelNotFoundError(ModelError):
    """The backend does not know the model (pull it, or fix the name)."""


class ModelConnectionError(ModelError):
    """The backend host could not be reached."""


class ModelTimeoutError(ModelError):
    """The backend did not answer within the configured timeout."""


class ModelResponseError(ModelError):
    """The backend answered with an error, possibly in the middle of a stream."""

    def __init__(
        self,
        message: str,
        *,
        model: str | None = None,
        host: str | None = None,
        status_code: int | None = None,
    ) -> None:
        super().__init__(message, model=model, host=host)
        self.status_code = status_code

    def __reduce__(self) -> tuple[Any, ...]:
        return (
            _rebuild_with_kwargs,
            (
                type(self),
                self.message,
                {"model": self.model, "host": self.host, "status_code": self.status_code},
            ),
        )


class SnapshotError(TimestepError):
    """A stored run state cannot be written or read."""


class SnapshotNotFoundError(SnapshotError):
    """No active snapshot exists for the key."""

    def __init__(self, message: str, *, key: str | None = None) -> None:
        super().__init__(message)
        self.key = key

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild_with_kwargs, (type(self), self.message, {"key": self.key}))


class SnapshotFormatError(SnapshotError):
    """The stored JSON is malformed or does not have the RunState shape."""


class SnapshotVersionError(SnapshotError):
    """The snapshot's ``$schemaVersion`` is unknown or newer than this timestep supports."""


class UnknownAgentError(SnapshotError):
    """The snapshot names an agent that the agent graph passed in does not contain."""


class UnsupportedFeatureError(SnapshotError):
    """The run state uses a feature the cross-language codec cannot carry (named in ``feature``)."""

    def __init__(self, message: str, *, feature: str | None = None) -> None:
        super().__init__(message)
        self.feature = feature

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild_with_kwargs, (type(self), self.message, {"feature": self.feature}))


class RunError(TimestepError):
    """A durable-run operation failed."""


class RunNotFoundError(RunError):
    """No durable run has this id."""


class CallNotFoundError(RunError):
    """The run has no pending approval with this call id."""


class ApprovalConflictError(RunError):
    """A decision was refused: the call was already decided, or the run was resumed elsewhere."""


class RunFailedError(RunError):
    """The durable run ended in an error; ``cause`` is a short description of what failed."""


class InterruptionException(TimestepError):
    """A run stopped because tool calls need approval.

    Raised by :func:`timestep.run_agent` when called with ``raise_on_interruption=True``.
    ``interruptions`` are the SDK's ``ToolApprovalItem`` objects and ``state`` is the
    ``RunState`` to approve/reject and resume (or save with ``RunStateStore``).
    """

    def __init__(self, message: str, *, interruptions: Sequence[Any] = (), state: Any = None) -> None:
        super().__init__(message)
        self.interruptions = list(interruptions)
        self.state = state

    def __reduce__(self) -> tuple[Any, ...]:
        # RunState holds live agents and is not picklable; only the message crosses.
        return (type(self), (self.message,))


def _rebuild_with_kwargs(cls: type[TimestepError], message: str, kwargs: dict[str, Any]) -> TimestepError:
    return cls(message, **kwargs)
