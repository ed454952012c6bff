"""The early-warning work list in Debian's chromium: filter to firms with exposure, acknowledge the first.

On the store of warned_book.py, served by uvicorn. Screenshots go to tests/artifacts/screenshots/.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import select

from credit.monitoring.tables import EarlyWarningAction
from tests.api.conftest import LiveServer
from tests.api.console.test_browser import browser, page, screenshot, sign_in  # noqa: F401  (fixtures)
from tests.api.console.test_sign_in import key_id
from tests.api.console.warned_book import AT_RISK, WITH_EXPOSURE, WarnedBook, app_on_copy, warned_book

from playwright.sync_api import Page, expect  # noqa: E402  (after test_browser's skip without chromium)


@pytest.fixture(scope="module")
def warned(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[WarnedBook, LiveServer]]:
    book = warned_book(tmp_path_factory.mktemp("warned-browser"))
    with LiveServer(app_on_copy(book, tmp_path_factory.mktemp("warned-served"))) as live:
        yield book, live


def test_finance_filters_the_work_list_to_exposure_and_acknowledges_the_largest(page: Page, warned) -> None:  # noqa: ANN001, F811
    book, server = warned
    sign_in(page, server, book.keys["anna"])
    page.get_by_role("link", name="Early warnings").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Early warnings: work list")
    screenshot(page, "ew-1-work-list")

    page.get_by_label("Exposure").select_option("1")
    page.get_by_role("button", name="Filter").click()
    expect(page).to_have_url(f"{server.url}/console/early-warnings?exposure=1&product=&rule=&industry=")
    rows = page.locator("table.work-list tbody tr")
    expect(rows).to_have_count(len(WITH_EXPOSURE))
    assert [int(rows.nth(i).get_attribute("data-firm-id")) for i in range(len(WITH_EXPOSURE))] == WITH_EXPOSURE
    expect(rows.first.locator("td.at-risk")).to_have_text(AT_RISK[WITH_EXPOSURE[0]])
    screenshot(page, "ew-2-with-exposure")

    rows.first.get_by_role("button", name="Acknowledge the warning on Birch Build").click()
    expect(page.get_by_role("status")).to_have_text("Warning acknowledged.")
    expect(page.locator("tr[data-firm-id='102']")).to_contain_text("Acknowledged by anna")
    expect(page.locator("table.work-list tbody tr")).to_have_count(len(WITH_EXPOSURE))  # still filtered
    screenshot(page, "ew-3-acknowledged")

    app = server.server.config.app
    with app.state.sessionmaker() as session:
        [row] = session.scalars(select(EarlyWarningAction)).all()
    assert (row.firm_id, row.action, row.actor) == (102, "acknowledge", f"key:{key_id(app, 'anna')}")

    page.locator("tr[data-firm-id='102']").get_by_role("link", name="Work on it").click()
    expect(page.locator("section.work-log")).to_contain_text("anna acknowledged the warning.")
    screenshot(page, "ew-4-warning")
    page.get_by_role("link", name="← Early-warning work list").click()
    expect(page).to_have_url(f"{server.url}/console/early-warnings?exposure=1")
    expect(page.get_by_role("status")).to_have_count(0)
