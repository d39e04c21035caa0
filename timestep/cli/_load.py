"""Importing the user's agent module, so its ``register_agent`` calls run in this process.

``MODULE`` is a dotted module (``myapp.agents``, found from the current directory like
``python -m`` would) or a path to a ``.py`` file. ``MODULE:AGENT`` also names the agent: a
registered agent name, or a module attribute holding an ``Agent``.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

from timestep.errors import UserError

__all__ = ["import_user_module", "resolve_agent", "split_target"]


def split_target(target: str) -> tuple[str, str | None]:
    """``"pkg.mod:Agent"`` → ``("pkg.mod", "Agent")``; a Windows drive letter is not a separator."""
    module, sep, agent = target.rpartition(":")
    if not sep or not module or (len(module) == 1 and agent.startswith(("\\", "/"))):
        return target, None
    return module, agent or None


def import_user_module(spec: str) -> ModuleType:
    """Import ``spec`` (dotted name or ``.py`` path) the way ``timestep worker`` does; return it."""
    from timestep.durable._worker import import_app_module

    try:
        import_app_module(spec)
    except UserError:
        raise
    except Exception as exc:
        if os.environ.get("TIMESTEP_DEBUG"):
            raise
        # The user's own code failed (a syntax error, a failing import): name it, in one line.
        raise UserError(
            f"Importing {spec!r} failed: {type(exc).__name__}: {exc} "
            "(set TIMESTEP_DEBUG=1 for the traceback)."
        ) from exc
    name = Path(spec).stem if spec.endswith(".py") or os.sep in spec else spec
    return sys.modules[name]


def resolve_agent(module: ModuleType, name: str | None) -> str:
    """The registered agent name ``name`` designates after importing ``module``.

    ``name`` may be a registered agent name or an attribute of the module holding an ``Agent``
    (registered now if it was not). Without ``name`` the module must register exactly one agent.
    """
    from agents import Agent

    from timestep.durable import register_agent, registered_names

    known = registered_names()
    if name is None:
        if len(known) == 1:
            return known[0]
        listed = ", ".join(known) or "none"
        raise UserError(
            f"Name the agent to run as {module.__name__}:AGENT (registered agents: {listed})."
        )
    if name in known:
        return name
    value: Any = getattr(module, name, None)
    if isinstance(value, Agent):
        if value.name not in known:
            register_agent(value)
        return value.name
    listed = ", ".join(known) or "none"
    raise UserError(
        f"Module {module.__name__!r} has no agent {name!r} (registered agents: {listed}; "
        "call timestep.register_agent(agent) in the module)."
    )
