"""Secrets never reach the database: a password in the database URL and an API key in the
environment are absent from every table after a full durable run (park, approve, finish)."""

from __future__ import annotations

import asyncio
import logging

import psycopg
import pytest

from timestep.durable import approve, get_run, launch, shutdown, start_run

PASSWORD = "s3cret-pw-7f1c"
API_KEY = "sk-test-secret-4b2a"


def with_password(libpq_url: str) -> str:
    # pgserver trusts local connections, so the password is accepted and ignored: what matters
    # is whether timestep ever writes it anywhere.
    return libpq_url.replace("postgresql://postgres:@", f"postgresql://postgres:{PASSWORD}@", 1)


def encodings(secret: str) -> list[str]:
    """The secret as it would appear in a text dump: plain, or inside a base64 blob (DBOS stores
    pickled inputs and outputs base64-encoded) at any of the three byte alignments."""
    import base64

    found = [secret]
    raw = secret.encode()
    for shift in range(3):
        encoded = base64.b64encode(b"\0" * shift + raw).decode()
        # Drop the characters that mix in the neighbouring bytes at either end.
        start = (shift * 4 + 2) // 3 + (1 if shift else 0)
        found.append(encoded[start : len(encoded) - 4])
    return found


def dump_all_text(libpq_url: str) -> str:
    with psycopg.connect(libpq_url) as conn:
        tables = conn.execute(
            "SELECT table_schema, table_name FROM information_schema.tables "
            "WHERE table_schema NOT IN ('pg_catalog', 'information_schema') AND table_type = 'BASE TABLE'"
        ).fetchall()
        chunks = []
        for schema, table in tables:
            rows = conn.execute(f'SELECT t::text FROM "{schema}"."{table}" t').fetchall()
            chunks.extend(r[0] for r in rows)
    return "\n".join(chunks)


async def test_no_password_or_key_in_the_database_or_logs(
    postgres_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: object, caplog: pytest.LogCaptureFixture
) -> None:
    import tests.durable.app  # noqa: F401  (registers Billing)

    monkeypatch.setenv("OPENAI_API_KEY", API_KEY)
    monkeypatch.setenv("TIMESTEP_TEST_LEDGER", str(tmp_path) + "/ledger.sqlite")
    caplog.set_level(logging.DEBUG)
    url = with_password(postgres_url)
    assert PASSWORD in url
    launch(url)
    try:
        handle = await start_run(
            "Billing", 'call charge({"customer": "ada", "cents": 5})', session_id="secret-check"
        )
        for _ in range(600):
            if (await get_run(handle.run_id)).status == "waiting_approval":
                break
            await asyncio.sleep(0.05)
        await approve(handle.run_id)
        assert await handle.result() == "done: charged ada 5"
    finally:
        shutdown()
    everything = dump_all_text(postgres_url)
    assert "charged ada 5" in everything  # the dump does see run data
    for secret in (PASSWORD, API_KEY):
        for form in encodings(secret):
            assert form not in everything, f"{secret!r} reached the database as {form!r}"
    assert PASSWORD not in caplog.text and API_KEY not in caplog.text
