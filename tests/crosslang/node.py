"""Run the Node half of the cross-language tests (tests/node/*.mjs) with batched JSON jobs."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

NODE_DIR = Path(__file__).resolve().parents[1] / "node"


def require_node() -> None:
    """Skip without Node; fail loudly when Node is there but the pinned SDK is not installed."""
    if shutil.which("node") is None:
        pytest.skip("node is not on PATH (the cross-language tests need Node 20+)")
    if not (NODE_DIR / "node_modules" / "@openai" / "agents-core").is_dir():
        pytest.fail("The pinned JS SDK is not installed: run `cd tests/node && npm ci`.")


def run_node(script: str, payload: Any, *, timeout: float = 180) -> Any:
    """``node tests/node/<script>`` with ``payload`` as JSON on stdin; returns parsed stdout."""
    require_node()
    proc = subprocess.run(
        ["node", str(NODE_DIR / script)],
        input=json.dumps(payload),  # ASCII escapes survive lone surrogates
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=timeout,
        cwd=NODE_DIR,
        check=False,
    )
    if proc.returncode != 0:
        raise AssertionError(f"node {script} failed ({proc.returncode}):\n{proc.stderr}")
    return json.loads(proc.stdout)
