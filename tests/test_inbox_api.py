"""The inbox's JSON API against real durable runs, on SQLite and Postgres.

Runs are hosted in this process (DBOS launched on the test database); the app is driven through
httpx's ASGI transport, which exercises the whole middleware stack without a socket.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.support import (
    LOOKUP,
    TOKEN,
    TWO_CHARGES,
    hosting_runs,
    parked_run,
    wait_for,
)
from timestep.durable import approve, get_run, start_run
from timestep.inbox import create_app

BASE = "http://127.0.0.1:8765"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture
async def durable(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[str]:
    async with hosting_runs(db_url, tmp_path, monkeypatch) as url:
        yield url


@pytest.fixture
async def client(durable: str) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(durable, TOKEN)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE, headers=AUTH) as c:
        yield c


def decision_path(run_id: str, call_id: str, verb: str) -> str:
    return f"/api/runs/{run_id}/calls/{call_id}/{verb}"


async def timeline_events(client: httpx.AsyncClient, run_id: str) -> list[dict[str, Any]]:
    response = await client.get(f"/api/runs/{run_id}/timeline")
    assert response.status_code == 200
    events: list[dict[str, Any]] = response.json()["events"]
    return events


async def wait_for_event(client: httpx.AsyncClient, run_id: str, kind: str) -> list[dict[str, Any]]:
    for _ in range(300):
        events = await timeline_events(client, run_id)
        if any(e["type"] == kind for e in events):
            return events
        await asyncio.sleep(0.05)
    raise AssertionError(f"no {kind} event in the timeline of {run_id}")


async def test_lists_runs_by_status_with_pending_approvals(client: httpx.AsyncClient) -> None:
    parked = await parked_run()
    done = await start_run("Billing", LOOKUP)
    await done.result()

    everything = (await client.get("/api/runs")).json()["runs"]
    assert {r["run_id"] for r in everything} == {parked.run_id, done.run_id}

    waiting = (await client.get("/api/runs", params={"status": "waiting_approval"})).json()["runs"]
    assert [r["run_id"] for r in waiting] == [parked.run_id]
    (pending,) = waiting[0]["pending"]
    assert pending["tool_name"] == "charge" and pending["agent"] == "Billing"
    assert '"cents": 500' in pending["arguments"] and pending["requested_at"] > 0

    succeeded = (await client.get("/api/runs", params={"status": "succeeded", "limit": 5})).json()["runs"]
    assert [r["run_id"] for r in succeeded] == [done.run_id]
    assert succeeded[0]["output"] == "done: ada is a gold customer"

    one = (await client.get(f"/api/runs/{parked.run_id}")).json()
    assert one["status"] == "waiting_approval" and one["pending"] == waiting[0]["pending"]


async def test_list_runs_refuses_bad_parameters(client: httpx.AsyncClient) -> None:
    for params in ({"status": "parked"}, {"limit": "0"}, {"limit": "201"}, {"limit": "ten"}):
        response = await client.get("/api/runs", params=params)
        assert response.status_code == 400, params
        assert response.json()["error"] == "bad_request"


async def test_approve_resumes_the_run_and_the_timeline_shows_who_and_when(
    client: httpx.AsyncClient,
) -> None:
    info = await parked_run()
    call_id = info.pending[0].call_id
    response = await client.post(decision_path(info.run_id, call_id, "approve"), json={"reviewer": "alice"})
    assert response.status_code == 200
    sent = response.json()
    assert sent["decision"] == "approve" and sent["decided_by"] == "alice" and sent["always"] is False
    assert (await wait_for(info.run_id, "succeeded")).output == "done: charged ada 500"

    events = await timeline_events(client, info.run_id)
    kinds = [e["type"] for e in events]
    assert kinds[0] == "run_created" and kinds[-1] == "run_completed"
    assert kinds.index("approval_required") < kinds.index("decision") < kinds.index("tool_output")
    (decision,) = [e for e in events if e["type"] == "decision"]
    assert decision["data"]["decided_by"] == "alice" and decision["data"]["call_id"] == call_id
    assert decision["data"]["decided_at"] == pytest.approx(sent["decided_at"], abs=5)
    assert all(e["at"] is not None for e in events)


async def test_reject_with_message_reaches_the_model(client: httpx.AsyncClient) -> None:
    info = await parked_run()
    call_id = info.pending[0].call_id
    body = {"reviewer": "bob", "message": "Not without a purchase order."}
    response = await client.post(decision_path(info.run_id, call_id, "reject"), json=body)
    assert response.status_code == 200 and response.json()["message"] == body["message"]
    assert (await wait_for(info.run_id, "succeeded")).output == "done: Not without a purchase order."
    events = await timeline_events(client, info.run_id)
    (decision,) = [e["data"] for e in events if e["type"] == "decision"]
    assert decision["decision"] == "reject" and decision["decided_by"] == "bob"
    assert decision["message"] == body["message"]


async def test_always_approve_covers_the_other_calls_of_the_tool(client: httpx.AsyncClient) -> None:
    info = await parked_run(TWO_CHARGES)
    first, second = (p.call_id for p in info.pending)
    response = await client.post(decision_path(info.run_id, first, "approve"),
                                 json={"reviewer": "carol", "always": True})
    assert response.status_code == 200 and response.json()["always"] is True
    # The second call was decided by the same "always": deciding it again is refused.
    again = await client.post(decision_path(info.run_id, second, "reject"), json={"reviewer": "dan"})
    assert again.status_code == 409
    assert (await wait_for(info.run_id, "succeeded")).output == "done: charged ada 1 | charged bob 2"


async def test_a_decided_call_is_refused_not_applied_twice(client: httpx.AsyncClient) -> None:
    info = await parked_run()
    path = decision_path(info.run_id, info.pending[0].call_id, "approve")
    assert (await client.post(path, json={"reviewer": "alice"})).status_code == 200
    # At once, before the run has even received the first decision: refused, naming who.
    repeat = await client.post(path, json={"reviewer": "eve"})
    assert repeat.status_code == 409 and repeat.json()["error"] == "conflict"
    assert "already approved by alice" in repeat.json()["detail"]
    contradiction = await client.post(
        decision_path(info.run_id, info.pending[0].call_id, "reject"), json={"reviewer": "eve"}
    )
    assert contradiction.status_code == 409
    await wait_for(info.run_id, "succeeded")
    # And after the run finished.
    assert (await client.post(path, json={"reviewer": "eve"})).status_code == 409
    events = await timeline_events(client, info.run_id)
    assert [e["data"]["decided_by"] for e in events if e["type"] == "decision"] == ["alice"]


async def test_a_call_decided_elsewhere_is_refused(durable: str, client: httpx.AsyncClient) -> None:
    """Another inbox or the CLI decided first: the run's published decisions say so."""
    info = await parked_run(TWO_CHARGES)
    first = info.pending[0].call_id
    await approve(info.run_id, first, decided_by="cli-user")
    for _ in range(300):
        if first in (await get_run(info.run_id)).decisions:
            break
        await asyncio.sleep(0.05)
    else:
        raise AssertionError("the run never published the decision")
    response = await client.post(decision_path(info.run_id, first, "approve"), json={"reviewer": "alice"})
    assert response.status_code == 409 and "already approved" in response.json()["detail"]


async def test_unknown_run_and_unknown_call_are_404(client: httpx.AsyncClient) -> None:
    for path in ("/api/runs/no-such-run", "/api/runs/no-such-run/timeline",
                 "/api/events?run_id=no-such-run"):
        response = await client.get(path)
        assert response.status_code == 404, path
        assert response.json()["error"] == "not_found"
    for verb in ("approve", "reject"):
        response = await client.post(decision_path("no-such-run", "call_1", verb), json={"reviewer": "a"})
        assert response.status_code == 404
    info = await parked_run()
    for verb in ("approve", "reject"):
        response = await client.post(decision_path(info.run_id, "call_unknown", verb), json={"reviewer": "a"})
        assert response.status_code == 404 and "call_unknown" in response.json()["detail"]
    assert (await client.get("/api/nothing-here")).status_code == 404
    assert (await get_run(info.run_id)).status == "waiting_approval"  # nothing was decided


async def test_a_finished_run_refuses_decisions(client: httpx.AsyncClient) -> None:
    done = await start_run("Billing", LOOKUP)
    await done.result()
    response = await client.post(decision_path(done.run_id, "call_x", "approve"), json={"reviewer": "a"})
    assert response.status_code == 409 and "ended" in response.json()["detail"]


async def test_malformed_bodies_are_refused(client: httpx.AsyncClient) -> None:
    info = await parked_run()
    path = decision_path(info.run_id, info.pending[0].call_id, "reject")
    json_header = {"Content-Type": "application/json"}
    cases: list[tuple[dict[str, Any], int, str]] = [
        ({"content": b"{not json", "headers": json_header}, 400, "bad_request"),
        ({"content": b"\xff\xfe", "headers": json_header}, 400, "bad_request"),
        ({"json": ["reviewer", "a"]}, 400, "bad_request"),
        ({"json": {}}, 422, "validation_error"),
        ({"json": {"reviewer": "   "}}, 422, "validation_error"),
        ({"json": {"reviewer": 7}}, 422, "validation_error"),
        ({"json": {"reviewer": "a\nb"}}, 422, "validation_error"),
        ({"json": {"reviewer": "x" * 101}}, 422, "validation_error"),
        ({"json": {"reviewer": "a", "always": "yes"}}, 422, "validation_error"),
        ({"json": {"reviewer": "a", "message": ["no"]}}, 422, "validation_error"),
        ({"json": {"reviewer": "a", "decision": "approve"}}, 422, "validation_error"),
        ({"content": b"reviewer=a", "headers": {"Content-Type": "application/x-www-form-urlencoded"}},
         415, "unsupported_media_type"),
        ({"content": b'{"reviewer": "a"}', "headers": {"Content-Type": "text/plain"}},
         415, "unsupported_media_type"),
        ({"json": {"reviewer": "a", "message": "x" * 70_000}}, 413, "payload_too_large"),
    ]
    for kwargs, status, error in cases:
        response = await client.post(path, **kwargs)
        assert (response.status_code, response.json()["error"]) == (status, error), kwargs
    # "message" belongs to reject only.
    approve_path = decision_path(info.run_id, info.pending[0].call_id, "approve")
    response = await client.post(approve_path, json={"reviewer": "a", "message": "hi"})
    assert response.status_code == 422
    assert (await get_run(info.run_id)).status == "waiting_approval"  # nothing was decided
    wrong_method = await client.post("/api/runs", json={"reviewer": "a"})
    assert wrong_method.status_code == 405 and wrong_method.json()["error"] == "method_not_allowed"


async def test_a_database_no_run_was_hosted_on_shows_no_runs(db_url: str) -> None:
    """``timestep serve`` may start before any worker created DBOS's tables."""
    app = create_app(db_url, TOKEN)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE, headers=AUTH) as c:
        response = await c.get("/api/runs")
        assert response.status_code == 200 and response.json() == {"runs": []}
        assert (await c.get("/api/runs/r1")).status_code == 404
        assert (await c.get("/api/runs/r1/timeline")).status_code == 404
        response = await c.post(decision_path("r1", "c1", "approve"), json={"reviewer": "a"})
        assert response.status_code == 404
