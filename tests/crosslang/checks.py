"""Assertions shared by the file-path and database-path cross-language tests."""

from __future__ import annotations

from typing import Any

from crosslang.cases import Case

Report = dict[str, Any]


def ok(report: Report) -> Report:
    assert "error" not in report, report.get("error")
    return report


def sent(report: Report) -> list[dict[str, str]]:
    return [{"to": e["to"], "subject": e["subject"]} for e in report["executed"]]


def check_resumed(case: Case, origin: Report, resumed: Report, *, js_form: bool) -> None:
    """What the resuming side of ``case`` must have observed (``js_form``: it was Node)."""
    assert resumed["interruptions"] == []
    # The fake model echoes the last tool output it saw, so this proves the tool result (or the
    # rejection message) reached the model on the resuming side.
    assert resumed["final_output"] == case.final_output
    assert sent(resumed) == case.executed
    assert resumed["lookups"] == case.lookups
    usage = resumed["usage"]
    tokens, entries = (
        ("inputTokens", "requestUsageEntries")
        if js_form
        else ("input_tokens", "request_usage_entries")
    )
    assert usage["requests"] == case.requests
    assert usage[tokens] == case.input_tokens
    assert len(usage[entries]) == case.requests
    native = resumed["native"]
    if case.context is not None:
        assert [e["user"] for e in resumed["executed"]] == ["u1"] * len(case.executed)
        assert native["context"]["context"] == case.context
    if case.trace:
        origin_trace = origin["trace_id"]
        assert origin_trace and origin_trace.startswith("trace_")
        assert set(resumed["trace_ids"]) == {origin_trace}
    inputs = native["inputGuardrailResults" if js_form else "input_guardrail_results"]
    outputs = native["outputGuardrailResults" if js_form else "output_guardrail_results"]
    assert [g["guardrail"]["name"] for g in inputs] == case.input_guardrails
    assert [g["guardrail"]["name"] for g in outputs] == case.output_guardrails
