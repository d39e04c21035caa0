"""End to end: a reviewer approves a parked run in headless Chromium and watches it finish live.

A real uvicorn server on 127.0.0.1 (random port) serves the inbox; the runs are hosted by this
test's process. The browser is Debian's ``chromium`` driven by Playwright for Python (no browser
download). The test saves the page to ``tests/artifacts/inbox.png`` (``TIMESTEP_INBOX_SCREENSHOT`` overrides
the path).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.server import running_server
from tests.e2e.support import (
    CHARGE,
    CHARGE_INJECTION,
    INJECTION,
    LOOKUP,
    TOKEN,
    hosting_runs,
    parked_run,
    wait_for,
)
from timestep.durable import start_run
from timestep.inbox import create_app

CHROMIUM = os.environ.get("TIMESTEP_CHROMIUM", "/usr/bin/chromium")
# No GPU, sandbox or network chatter in a container; the flags keep Chromium to the test page.
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
# Written to tests/artifacts/ (ignored by git) so a test run leaves the tree clean; the README's
# docs/inbox.png is refreshed deliberately with TIMESTEP_INBOX_SCREENSHOT=docs/inbox.png.
SCREENSHOT = Path(os.environ.get("TIMESTEP_INBOX_SCREENSHOT")
                  or Path(__file__).resolve().parent / "artifacts" / "inbox.png")

playwright_api = pytest.importorskip("playwright.async_api", reason="pip install playwright (the package only)")
pytestmark = [
    pytest.mark.skipif(
        not (os.path.exists(CHROMIUM) or shutil.which(CHROMIUM)),
        reason=f"no Chromium at {CHROMIUM} (apt-get install chromium; scripts/test does it as root)",
    ),
    # One backend is enough here: the API tests cover both; this one is about the browser.
    pytest.mark.parametrize("backend", ["sqlite"]),
]


@pytest.fixture
async def durable(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[str]:
    async with hosting_runs(db_url, tmp_path, monkeypatch) as url:
        yield url


async def test_reviewer_approves_in_the_browser_and_sees_the_run_finish_live(durable: str) -> None:
    done = await start_run("Billing", LOOKUP)
    await done.result()
    other = await parked_run(CHARGE)
    target = await parked_run(CHARGE_INJECTION)

    app = create_app(durable, TOKEN, poll_interval=0.3)
    with running_server(app) as base:
        async with playwright_api.async_playwright() as pw:
            browser = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            try:
                page = await browser.new_page(viewport={"width": 1280, "height": 860})
                dialogs: list[str] = []
                problems: list[str] = []

                async def on_dialog(dialog: Any) -> None:
                    dialogs.append(dialog.message)
                    await dialog.dismiss()

                page.on("dialog", on_dialog)
                # CSP violations and script errors surface here.
                page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
                page.on("pageerror", lambda e: problems.append(str(e)))

                await page.goto(f"{base}/login?token={TOKEN}")
                assert page.url == f"{base}/"  # the token left the address bar
                waiting = page.locator('section[data-status="waiting_approval"]')
                await waiting.locator(f'button.run[data-run-id="{target.run_id}"]').wait_for()
                assert await waiting.locator("button.run").count() == 2
                await page.fill("#reviewer", "alice")
                await page.click(f'button.run[data-run-id="{target.run_id}"]')

                card = page.locator("article.approval")
                await card.wait_for()
                assert await card.locator(".tool").text_content() == "charge"
                arguments = await card.locator("pre.arguments").text_content()
                assert arguments is not None and INJECTION in arguments and '"cents": 700' in arguments
                await page.locator('.timeline li[data-type="approval_required"]').wait_for()
                # The injection is text, not markup: no element was created, no script ran.
                assert await page.locator("img").count() == 0
                assert dialogs == []
                SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
                await page.screenshot(path=str(SCREENSHOT), full_page=True)

                await page.evaluate("window.__sameDocument = true")
                await card.get_by_role("button", name="Approve", exact=True).click()
                # Everything below arrives over the event stream: the page is never reloaded.
                status = page.locator("#run-status")
                await status.filter(has_text="Succeeded").wait_for(timeout=30_000)
                decision = page.locator('.timeline li[data-type="decision"]')
                await decision.wait_for()
                decision_text = await decision.text_content()
                assert decision_text is not None and "Approved" in decision_text and "alice" in decision_text
                await page.locator('.timeline li[data-type="run_completed"]').wait_for()
                output = await page.locator("pre.output").text_content()
                assert output is not None and f"charged {INJECTION} 700" in output
                succeeded = page.locator('section[data-status="succeeded"]')
                await succeeded.locator(f'button.run[data-run-id="{target.run_id}"]').wait_for()
                assert await page.evaluate("window.__sameDocument") is True

                # The other parked run: reject it with a message for the model.
                await page.click(f'button.run[data-run-id="{other.run_id}"]')
                card = page.locator(f'article.approval[data-call-id="{other.pending[0].call_id}"]')
                await card.locator(".reject-message").fill("Needs a purchase order.")
                await card.get_by_role("button", name="Reject", exact=True).click()
                await status.filter(has_text="Succeeded").wait_for(timeout=30_000)
                decision = page.locator('.timeline li[data-type="decision"]')
                await decision.filter(has_text="Needs a purchase order.").wait_for()
                decision_text = await decision.text_content()
                assert decision_text is not None and "Rejected" in decision_text and "alice" in decision_text

                assert await page.locator("img").count() == 0
                assert dialogs == [] and problems == []
            finally:
                await browser.close()

    info = await wait_for(target.run_id, "succeeded")
    assert info.output == f"done: charged {INJECTION} 700"
    assert (await wait_for(other.run_id, "succeeded")).output == "done: Needs a purchase order."
