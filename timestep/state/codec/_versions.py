"""The snapshot schema versions this codec is pinned to.

Both SDKs fail fast on versions they do not know, and both renumber often (Python 1.0-1.21 and
JS 1.0-1.22 within about a year), so the codec accepts exactly the versions of the pinned SDKs
and an upgrade must come with new golden fixtures (tests/fixtures/runstate/).
"""

from __future__ import annotations

from agents.run_state import CURRENT_SCHEMA_VERSION

__all__ = ["JS_SCHEMA_VERSION", "JS_SDK_VERSION", "PY_SCHEMA_VERSION", "PY_SDK_VERSION"]

#: What ``encode_js`` writes and the only JS version ``decode_js`` reads (@openai/agents-core 0.20.0).
JS_SCHEMA_VERSION = "1.22"
JS_SDK_VERSION = "0.20.0"
#: What ``decode_js`` hands to the Python SDK (openai-agents 0.24.0).
PY_SCHEMA_VERSION = "1.21"
PY_SDK_VERSION = "0.24.0"

if CURRENT_SCHEMA_VERSION != PY_SCHEMA_VERSION:  # pragma: no cover - guards an SDK upgrade
    raise ImportError(
        f"timestep's snapshot codec is pinned to Python RunState schema {PY_SCHEMA_VERSION} "
        f"(openai-agents {PY_SDK_VERSION}) but the installed SDK writes {CURRENT_SCHEMA_VERSION}. "
        "Install the pinned openai-agents version or upgrade the codec with new golden fixtures."
    )
