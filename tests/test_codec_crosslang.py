"""Cross-language resume through the snapshot codec, against the real JS SDK in Node.

Every case of ``crosslang.cases`` runs in both directions (Python -> Node via ``encode_js`` and
``RunState.fromString``; Node -> Python via ``toString`` and ``decode_js``) with the origin and
the resumed run each streamed or not, plus double hops (Python -> Node -> Python and back).
The whole matrix costs two Node processes: jobs are batched per phase in a module fixture.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any

import pytest
from crosslang.cases import APPROVE, CASES, STREAMING, Case, job
from crosslang.checks import check_resumed, ok, sent
from crosslang.node import require_node, run_node
from crosslang.py_driver import drive

Report = dict[str, Any]
VARIANTS = [(case, o, r) for case in CASES for o, r in STREAMING]
DOUBLE_HOP = [(False, False, False), (True, True, True), (True, False, True)]
HOP_ACTIONS: list[list[Any]] = [["run"], [APPROVE, "run"], [APPROVE, "run"]]


def variant_id(case: Case, origin_stream: bool, resume_stream: bool) -> str:
    return f"{case.name}-{'stream' if origin_stream else 'plain'}-to-{'stream' if resume_stream else 'plain'}"


def hop_id(streams: tuple[bool, bool, bool]) -> str:
    return "-".join("stream" if s else "plain" for s in streams)


async def _safe(coro: Awaitable[Report]) -> Report:
    try:
        return await coro
    except Exception as error:  # reported per case, so one failure does not hide the others
        return {"error": f"{type(error).__name__}: {error}"}


def _hop_job(streams: tuple[bool, bool, bool], n: int, state: str | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"scenario": "two_calls", "actions": HOP_ACTIONS[n], "stream": streams[n]}
    if state is not None:
        out["state"] = state
    return out


async def _matrix() -> dict[str, dict[str, Report]]:
    ids = [variant_id(*v) for v in VARIANTS]
    hops = [hop_id(s) for s in DOUBLE_HOP]
    # 1. Python origins.
    py_origin = {
        i: await _safe(drive(job(c, c.origin, o)))
        for i, (c, o, _) in zip(ids, VARIANTS, strict=True)
    }
    pyhop_1 = {h: await _safe(drive(_hop_job(s, 0))) for h, s in zip(hops, DOUBLE_HOP, strict=True)}
    # 2. Node origins (one Node process).
    js_jobs = [job(c, c.origin, o) for c, o, _ in VARIANTS] + [_hop_job(s, 0) for s in DOUBLE_HOP]
    js_out = run_node("crosslang.mjs", js_jobs)
    js_origin = dict(zip(ids, js_out[: len(ids)], strict=True))
    jshop_1 = dict(zip(hops, js_out[len(ids) :], strict=True))
    # 3. Python resumes of Node snapshots (and the middle of Node -> Python -> Node).
    js2py: dict[str, Report] = {}
    for i, (c, _, r) in zip(ids, VARIANTS, strict=True):
        origin = js_origin[i]
        js2py[i] = (
            origin
            if "error" in origin
            else await _safe(drive(job(c, c.resume, r, origin["state"])))
        )
    jshop_2 = {
        h: jshop_1[h]
        if "error" in jshop_1[h]
        else await _safe(drive(_hop_job(s, 1, jshop_1[h]["state"])))
        for h, s in zip(hops, DOUBLE_HOP, strict=True)
    }
    # 4. Node resumes of Python snapshots, the middle of Python -> Node -> Python and the end of
    #    Node -> Python -> Node (one Node process).
    node_jobs: list[dict[str, Any]] = []
    slots: list[tuple[str, str]] = []
    for i, (c, _, r) in zip(ids, VARIANTS, strict=True):
        if "error" not in py_origin[i]:
            node_jobs.append(job(c, c.resume, r, py_origin[i]["state"]))
            slots.append(("py2js", i))
    for h, s in zip(hops, DOUBLE_HOP, strict=True):
        if "error" not in pyhop_1[h]:
            node_jobs.append(_hop_job(s, 1, pyhop_1[h]["state"]))
            slots.append(("pyhop_2", h))
        if "error" not in jshop_2[h]:
            node_jobs.append(_hop_job(s, 2, jshop_2[h]["state"]))
            slots.append(("jshop_3", h))
    results: dict[str, dict[str, Report]] = {"py2js": {}, "pyhop_2": {}, "jshop_3": {}}
    for (group, key), report in zip(slots, run_node("crosslang.mjs", node_jobs), strict=True):
        results[group][key] = report
    for group, origins in (("py2js", py_origin), ("pyhop_2", pyhop_1), ("jshop_3", jshop_2)):
        for key, origin in origins.items():
            results[group].setdefault(key, origin)  # the origin's error
    # 5. End of Python -> Node -> Python.
    pyhop_3 = {
        h: results["pyhop_2"][h]
        if "error" in results["pyhop_2"][h]
        else await _safe(drive(_hop_job(s, 2, results["pyhop_2"][h]["state"])))
        for h, s in zip(hops, DOUBLE_HOP, strict=True)
    }
    results.update(
        py_origin=py_origin,
        js_origin=js_origin,
        js2py=js2py,
        pyhop_1=pyhop_1,
        pyhop_3=pyhop_3,
        jshop_1=jshop_1,
        jshop_2=jshop_2,
    )
    return results


@pytest.fixture(scope="module")
def matrix() -> dict[str, dict[str, Report]]:
    require_node()
    return asyncio.run(_matrix())


@pytest.mark.parametrize(
    ("case", "origin_stream", "resume_stream"), VARIANTS, ids=[variant_id(*v) for v in VARIANTS]
)
def test_python_to_node(
    matrix: dict[str, dict[str, Report]], case: Case, origin_stream: bool, resume_stream: bool
) -> None:
    key = variant_id(case, origin_stream, resume_stream)
    origin = ok(matrix["py_origin"][key])
    assert len(origin["interruptions"]) == case.pending_at_origin
    check_resumed(case, origin, ok(matrix["py2js"][key]), js_form=True)


@pytest.mark.parametrize(
    ("case", "origin_stream", "resume_stream"), VARIANTS, ids=[variant_id(*v) for v in VARIANTS]
)
def test_node_to_python(
    matrix: dict[str, dict[str, Report]], case: Case, origin_stream: bool, resume_stream: bool
) -> None:
    key = variant_id(case, origin_stream, resume_stream)
    origin = ok(matrix["js_origin"][key])
    assert len(origin["interruptions"]) == case.pending_at_origin
    check_resumed(case, origin, ok(matrix["js2py"][key]), js_form=False)


@pytest.mark.parametrize("streams", DOUBLE_HOP, ids=[hop_id(s) for s in DOUBLE_HOP])
@pytest.mark.parametrize("direction", ["python-node-python", "node-python-node"])
def test_double_hop(
    matrix: dict[str, dict[str, Report]], direction: str, streams: tuple[bool, bool, bool]
) -> None:
    key = hop_id(streams)
    prefix = "pyhop" if direction.startswith("python") else "jshop"
    first, middle, last = (ok(matrix[f"{prefix}_{n}"][key]) for n in (1, 2, 3))
    assert [i["call_id"] for i in first["interruptions"]] == ["call_1"]
    # The middle hop approves call_1, runs it, and stops at call_2's approval.
    assert sent(middle) == [{"to": "ann@example.com", "subject": "First"}]
    assert [i["call_id"] for i in middle["interruptions"]] == ["call_2"]
    assert sent(last) == [{"to": "bo@example.com", "subject": "Second"}]
    assert last["final_output"] == "final: sent:bo@example.com:Second"
    usage = last["usage"]
    assert usage["requests"] == 3
    assert len(usage["requestUsageEntries" if prefix == "jshop" else "request_usage_entries"]) == 3
