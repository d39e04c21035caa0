"""The cross-language cases through the shared Postgres ``run_states`` table.

Python saves and loads with ``RunStateStore``; Node reads and writes the table with ``pg`` and
exactly the SQL of database/README.md. Each direction also reads back the other side's
``final`` row, so both formats of a finished run are proven loadable by the other SDK.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from conftest import new_postgres_database
from crosslang.cases import CASES, Case, job
from crosslang.checks import check_resumed, ok
from crosslang.node import require_node, run_node
from crosslang.py_driver import drive

from timestep.state import RunStateStore, SnapshotTable
from timestep.state.codec import snapshot_state_type

Report = dict[str, Any]
DB_CASES = [
    c
    for c in CASES
    if c.name
    in {
        "approve_on_resume",
        "reject_on_origin",
        "always_reject",
        "second_interruption",
        "handoff",
        "dict_context",
        "trace",
        "unicode_numbers",
    }
]
VARIANTS = [(case, stream) for case in DB_CASES for stream in (False, True)]


def variant_id(case: Case, stream: bool) -> str:
    return f"{case.name}-{'stream' if stream else 'plain'}"


def _db(url: str, key: str, **flags: bool) -> dict[str, Any]:
    return {"url": url, "key": key, **flags}


async def _safe(job_: dict[str, Any]) -> Report:
    try:
        return await drive(job_)
    except Exception as error:
        return {"error": f"{type(error).__name__}: {error}"}


async def _final_rows(url: str, keys: list[str], agent_for: dict[str, Any]) -> dict[str, Report]:
    """Python reads back the rows Node finished (decode_js of a JS ``final`` snapshot)."""
    out: dict[str, Report] = {}
    for key in keys:
        try:
            async with RunStateStore(agent_for[key], key, url) as store:
                row = await store.load_row()
                state = await store.load()
            native = state.to_json()
            out[key] = {
                "row_type": row.state_type,
                "state_type": snapshot_state_type(state),
                "last_text": native["generated_items"][-1]["raw_item"]["content"][0]["text"],
            }
        except Exception as error:
            out[key] = {"error": f"{type(error).__name__}: {error}"}
    return out


async def _matrix(url: str) -> dict[str, dict[str, Report]]:
    from crosslang.py_driver import Recorder, make_agents

    ids = [variant_id(*v) for v in VARIANTS]
    # 1. Python origins saved by RunStateStore; 2. Node origins saved with the README SQL.
    py_origin = {
        i: await _safe({**job(c, c.origin, s), "db": _db(url, f"py-{i}", save=True)})
        for i, (c, s) in zip(ids, VARIANTS, strict=True)
    }
    js_origin = dict(
        zip(
            ids,
            run_node(
                "crosslang.mjs",
                [
                    {**job(c, c.origin, s), "db": _db(url, f"js-{i}", save=True)}
                    for i, (c, s) in zip(ids, VARIANTS, strict=True)
                ],
            ),
            strict=True,
        )
    )
    # 3. Python loads Node's rows, resumes, saves the final state.
    js2py = {
        i: await _safe({**job(c, c.resume, s), "db": _db(url, f"js-{i}", load=True, save=True)})
        for i, (c, s) in zip(ids, VARIANTS, strict=True)
    }
    # 4. Node loads Python's rows, resumes, saves; and reads back Python's final rows.
    node_jobs = [
        {**job(c, c.resume, s), "db": _db(url, f"py-{i}", load=True, save=True)}
        for i, (c, s) in zip(ids, VARIANTS, strict=True)
    ]
    node_jobs += [
        {**job(c, [], s), "db": _db(url, f"js-{i}", load=True)}
        for i, (c, s) in zip(ids, VARIANTS, strict=True)
    ]
    node_out = run_node("crosslang.mjs", node_jobs)
    py2js = dict(zip(ids, node_out[: len(ids)], strict=True))
    js_final_read = dict(zip(ids, node_out[len(ids) :], strict=True))
    # 5. Python reads back Node's final rows.
    agents = {
        f"py-{i}": make_agents(c.scenario, Recorder())[_start(c)]
        for i, (c, _) in zip(ids, VARIANTS, strict=True)
    }
    py_final_read = await _final_rows(url, list(agents), agents)
    return {
        "py_origin": py_origin,
        "js_origin": js_origin,
        "js2py": js2py,
        "py2js": py2js,
        "js_final_read": js_final_read,
        "py_final_read": {k.removeprefix("py-"): v for k, v in py_final_read.items()},
    }


def _start(case: Case) -> str:
    from crosslang.py_driver import SCENARIOS

    return str(SCENARIOS[case.scenario]["start"])


@pytest.fixture(scope="module")
def db_url(pg_server_url: str) -> str:
    return new_postgres_database(pg_server_url)


@pytest.fixture(scope="module")
def matrix(db_url: str) -> dict[str, dict[str, Report]]:
    require_node()
    return asyncio.run(_matrix(db_url))


async def _row_types(url: str, key: str) -> list[str]:
    async with SnapshotTable(url) as table:
        return [row.state_type for row in reversed(await table.history(key))]


@pytest.mark.parametrize(("case", "stream"), VARIANTS, ids=[variant_id(*v) for v in VARIANTS])
async def test_python_row_resumed_by_node(
    matrix: dict[str, dict[str, Report]], db_url: str, case: Case, stream: bool
) -> None:
    key = variant_id(case, stream)
    origin = ok(matrix["py_origin"][key])
    check_resumed(case, origin, ok(matrix["py2js"][key]), js_form=True)
    # Python's interrupted row, then Node's final row (the README's state_type recipe).
    assert await _row_types(db_url, f"py-{key}") == ["interrupted", "final"]
    back = ok(matrix["py_final_read"][key])
    assert back["row_type"] == back["state_type"] == "final"
    assert back["last_text"] == case.final_output


@pytest.mark.parametrize(("case", "stream"), VARIANTS, ids=[variant_id(*v) for v in VARIANTS])
async def test_node_row_resumed_by_python(
    matrix: dict[str, dict[str, Report]], db_url: str, case: Case, stream: bool
) -> None:
    key = variant_id(case, stream)
    origin = ok(matrix["js_origin"][key])
    check_resumed(case, origin, ok(matrix["js2py"][key]), js_form=False)
    assert await _row_types(db_url, f"js-{key}") == ["interrupted", "final"]
    back = ok(matrix["js_final_read"][key])
    assert back["interruptions"] == []
    assert back["native"]["currentStep"] == {
        "type": "next_step_final_output",
        "output": case.final_output,
    }
