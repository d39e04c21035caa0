"""Golden snapshot files: normalize volatile fields, compare, or rewrite on request.

Rewrite every golden file with ``TIMESTEP_UPDATE_GOLDEN=1`` (then review the diff: a change
means an SDK or the codec changed its format).
"""

from __future__ import annotations

import difflib
import json
import os
import re
from pathlib import Path
from typing import Any

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "runstate"
UPDATE = os.environ.get("TIMESTEP_UPDATE_GOLDEN") == "1"

_VOLATILE = (
    (re.compile(r"^trace_[0-9a-f]{32}$"), "trace_<volatile>"),
    (re.compile(r"^span_[0-9a-f]{24}$"), "span_<volatile>"),
    (
        re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})?$"),
        "<timestamp>",
    ),
)


def normalize(value: Any) -> Any:
    """Replace ids and timestamps that differ on every run (trace/span ids, span times)."""
    if isinstance(value, dict):
        return {k: normalize(v) for k, v in value.items()}
    if isinstance(value, list):
        return [normalize(v) for v in value]
    if isinstance(value, str):
        for pattern, replacement in _VOLATILE:
            if pattern.match(value):
                return replacement
    return value


def _pretty(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False, sort_keys=True)


def check(relative: str, actual: Any) -> None:
    """Compare ``actual`` (normalized here) with the golden file, or rewrite it if asked."""
    path = FIXTURES / relative
    value = normalize(actual)
    if UPDATE or not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(value, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        if not UPDATE:
            raise AssertionError(
                f"Golden file {relative} did not exist; written now, review and commit it."
            )
        return
    expected = json.loads(path.read_text(encoding="utf-8"))
    if expected != value:
        diff = "\n".join(
            difflib.unified_diff(
                _pretty(expected).splitlines(),
                _pretty(value).splitlines(),
                "golden",
                "now",
                lineterm="",
                n=2,
            )
        )
        raise AssertionError(
            f"Snapshot format changed for {relative} (an SDK upgrade or a codec change?).\n{diff}\n"
            "If intended, regenerate with TIMESTEP_UPDATE_GOLDEN=1 and review the diff."
        )


def load(relative: str) -> Any:
    return json.loads((FIXTURES / relative).read_text(encoding="utf-8"))
