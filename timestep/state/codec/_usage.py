"""Token usage between Python's ``serialize_usage`` and JS's ``Usage`` JSON.

Python 0.24.0 (``agents/usage.py``) keeps one aggregated details object per kind
(``input_tokens_details: [{cached_tokens, cache_write_tokens, cache_write_tokens_details}]``)
plus ``request_usage_entries``. JS 0.20.0 (``usage.js``, ``usageSchema`` in ``runState.js``)
keeps one details record of numbers per request (``inputTokensDetails: [{...}]``) plus
``requestUsageEntries``. Counts map one to one; details keep their numeric fields only (JS
validates ``record<string, number>``), and all-zero details are written as JS writes "none".
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from timestep.state.codec._common import JsonObject, as_list, as_object

__all__ = ["js_to_py", "py_to_js"]


def _numeric(details: Any) -> dict[str, int | float]:
    if not isinstance(details, Mapping):
        return {}
    return {
        str(k): v
        for k, v in details.items()
        if isinstance(v, int | float) and not isinstance(v, bool)
    }


def _py_details_list(value: Any) -> list[dict[str, int | float]]:
    records = value if isinstance(value, list) else [value]
    out = [_numeric(r) for r in records]
    return [r for r in out if any(r.values())]


def _sum_records(records: Sequence[Any]) -> dict[str, int | float]:
    total: dict[str, int | float] = {}
    for record in records:
        for key, value in _numeric(record).items():
            total[key] = total.get(key, 0) + value
    return total


def py_to_js(usage: Any, where: str, *, include_entries: bool = True) -> JsonObject:
    """Python usage JSON -> JS usage JSON (``include_entries`` False for per-response usage)."""
    obj = as_object(usage, where)
    out: JsonObject = {
        "requests": obj.get("requests", 0),
        "inputTokens": obj.get("input_tokens", 0),
        "outputTokens": obj.get("output_tokens", 0),
        "totalTokens": obj.get("total_tokens", 0),
        "inputTokensDetails": _py_details_list(obj.get("input_tokens_details")),
        "outputTokensDetails": _py_details_list(obj.get("output_tokens_details")),
    }
    entries = as_list(obj.get("request_usage_entries") or [], f"{where}.request_usage_entries")
    if include_entries and entries:
        out["requestUsageEntries"] = [
            {
                "inputTokens": entry.get("input_tokens", 0),
                "outputTokens": entry.get("output_tokens", 0),
                "totalTokens": entry.get("total_tokens", 0),
                "inputTokensDetails": {
                    k: v for k, v in _numeric(entry.get("input_tokens_details")).items() if v
                },
                "outputTokensDetails": {
                    k: v for k, v in _numeric(entry.get("output_tokens_details")).items() if v
                },
            }
            for entry in (as_object(e, f"{where}.request_usage_entries[]") for e in entries)
        ]
    return out


def _py_input_details(records: Any) -> JsonObject:
    total = _sum_records(records if isinstance(records, list) else [records])
    return {
        "cached_tokens": total.pop("cached_tokens", 0),
        "cache_write_tokens": total.pop("cache_write_tokens", 0),
        # Python writes the (nested, non-numeric) breakdown as null when absent; JS has none.
        "cache_write_tokens_details": None,
        **total,
    }


def _py_output_details(records: Any) -> JsonObject:
    total = _sum_records(records if isinstance(records, list) else [records])
    return {"reasoning_tokens": total.pop("reasoning_tokens", 0), **total}


def js_to_py(usage: Any, where: str) -> JsonObject:
    """JS usage JSON -> Python usage JSON (per-request details summed, as Python aggregates)."""
    obj = as_object(usage, where)
    entries = as_list(obj.get("requestUsageEntries") or [], f"{where}.requestUsageEntries")
    return {
        "requests": obj.get("requests", 0),
        "input_tokens": obj.get("inputTokens", 0),
        "input_tokens_details": [_py_input_details(obj.get("inputTokensDetails") or [])],
        "output_tokens": obj.get("outputTokens", 0),
        "output_tokens_details": [_py_output_details(obj.get("outputTokensDetails") or [])],
        "total_tokens": obj.get("totalTokens", 0),
        "request_usage_entries": [
            {
                "input_tokens": entry.get("inputTokens", 0),
                "output_tokens": entry.get("outputTokens", 0),
                "total_tokens": entry.get("totalTokens", 0),
                "input_tokens_details": _py_input_details(entry.get("inputTokensDetails") or {}),
                "output_tokens_details": _py_output_details(entry.get("outputTokensDetails") or {}),
            }
            for entry in (as_object(e, f"{where}.requestUsageEntries[]") for e in entries)
        ],
    }
