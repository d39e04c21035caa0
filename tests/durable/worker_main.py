"""A durable-test worker process: ``python -m tests.durable.worker_main DB_URL [RUN_ID INPUT [SESSION]]``.

Imports the test app, launches DBOS (executor id ``local``, so a restarted worker recovers the
runs of the one it replaces), optionally starts a run, prints ``ready`` and serves until killed.
"""

from __future__ import annotations

import asyncio
import os
import sys

import tests.durable.app  # noqa: F401  (registers the agents)
from timestep.durable import TimeoutPolicy, launch, start_run


async def main(argv: list[str]) -> None:
    db_url = argv[0]
    launch(db_url)
    if len(argv) >= 3:
        reject_after = os.environ.get("TIMESTEP_TEST_REJECT_AFTER")
        policy = (
            TimeoutPolicy(after_seconds=float(reject_after), action="reject", message="Timed out.")
            if reject_after
            else None
        )
        await start_run(
            "Billing", argv[2], run_id=argv[1], session_id=argv[3] if len(argv) > 3 else None,
            timeout=policy,
        )
    print("ready", flush=True)
    while True:
        await asyncio.sleep(3600)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1:]))
