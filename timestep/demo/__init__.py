"""timestep's offline demo: a refunds agent whose run survives a SIGKILL of its worker.

``timestep demo`` plays it; ``timestep worker timestep.demo.app`` serves its agent by hand.
``run_demo`` is imported lazily so that workers importing ``timestep.demo.app`` stay light.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from timestep.demo._script import run_demo

__all__ = ["run_demo"]


def __getattr__(name: str) -> Any:
    if name == "run_demo":
        from timestep.demo._script import run_demo

        return run_demo
    raise AttributeError(f"module 'timestep.demo' has no attribute {name!r}")
