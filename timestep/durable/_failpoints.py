"""Named crash points for fault-injection tests (inactive unless ``TIMESTEP_FAILPOINTS`` is set).

A test starts a worker subprocess with ``TIMESTEP_FAILPOINTS=<name>[,<name>...]`` and
``TIMESTEP_FAILPOINT_DIR=<dir>``. When execution reaches an armed point the process writes
``<dir>/<name>`` and stops there, so the test can ``kill -9`` it at exactly that place. Each
point fires once per process. In production the check is one environment lookup.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

__all__ = ["failpoint"]

_fired: set[str] = set()


def failpoint(name: str) -> None:
    armed = os.environ.get("TIMESTEP_FAILPOINTS")
    if not armed or name in _fired or name not in armed.split(","):
        return
    _fired.add(name)
    directory = Path(os.environ.get("TIMESTEP_FAILPOINT_DIR", "."))
    (directory / name).write_text(str(os.getpid()))
    while True:  # wait to be killed; blocking the event loop is the point
        time.sleep(3600)
