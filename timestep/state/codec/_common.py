"""Small shared pieces of the codec: JSON type aliases, agent references, error builders."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NoReturn

from timestep.errors import SnapshotFormatError, UnknownAgentError, UnsupportedFeatureError

__all__ = [
    "JsonObject",
    "agent_name",
    "agent_ref",
    "as_list",
    "as_object",
    "malformed",
    "refuse",
]

JsonObject = dict[str, Any]


def refuse(feature: str, detail: str) -> NoReturn:
    """Raise the codec's refusal for a state outside the supported subset."""
    raise UnsupportedFeatureError(
        f"The run state uses {feature}, which the cross-language snapshot codec cannot carry "
        f"({detail}). Keep this run in one language (resume it from the Python-native "
        "snapshot) or remove the feature.",
        feature=feature,
    )


def malformed(where: str, detail: str) -> NoReturn:
    raise SnapshotFormatError(f"Malformed run state snapshot at {where}: {detail}.")


def as_object(value: Any, where: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        malformed(where, f"expected an object, got {type(value).__name__}")
    return value


def as_list(value: Any, where: str) -> list[Any]:
    if not isinstance(value, list):
        malformed(where, f"expected a list, got {type(value).__name__}")
    return value


def agent_name(ref: Any, where: str, known_agents: frozenset[str] | None = None) -> str:
    """The agent name of a serialized ``{name, identity?}`` reference (same shape in both SDKs).

    ``identity`` only appears for duplicate agent names (Python 1.7 / JS 1.10), whose
    identity keys are computed differently by the two SDKs (js#1147), so they are refused.
    """
    obj = as_object(ref, where)
    name = obj.get("name")
    if not isinstance(name, str) or not name:
        malformed(where, "agent reference without a name")
    identity = obj.get("identity")
    if identity is not None and identity != name:
        refuse("duplicate agent names", f"agent {name!r} is serialized with identity {identity!r}")
    if known_agents is not None and name not in known_agents:
        raise UnknownAgentError(
            f"The snapshot names agent {name!r} ({where}), which is not in the agent graph passed "
            f"in (known: {', '.join(sorted(known_agents))}). Pass the same starting agent the run "
            "was started with."
        )
    return name


def agent_ref(name: str) -> JsonObject:
    return {"name": name}
