"""Stale scores and the two owed figures in a real browser (Debian's chromium, the fixtures of test_browser.py).

A referred application's firm is re-scored into another grade after it applied (a newer batch
row in the store's ``firm_scores``); the queue marks the row, the application page shows both
dated scores and its review form warns, the decision page shows both; the firm page of a line
in use labels what the firm owes its sellers and what it owes us. Full-page screenshots go
beside test_browser.py's, in tests/artifacts/screenshots/.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi import FastAPI

from api.app import create_app
from credit.audit import DecisionRecord
from credit.origination.tables import CreditLineApplicationRecord as Application
from credit.settings import Settings
from tests.api.conftest import LiveServer
from tests.api.console.book import CreditBook, book_copy
from tests.api.console.rescore import rescore
from tests.api.console.test_browser import browser, page, screenshot, sign_in  # noqa: F401 - fixtures reused
from tests.api.console.tracking import Registry

pytestmark = [
    # MLflow's own code, not ours (as test_browser.py)
    pytest.mark.filterwarnings("ignore:The ``noload`` loader strategy is deprecated"),
    pytest.mark.filterwarnings("ignore:Operation with range is deprecated"),
]

from playwright.sync_api import Page, expect  # noqa: E402 - after test_browser's skip without chromium


@pytest.fixture(scope="module")
def served(book: CreditBook, registry: Registry,
           tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LiveServer, FastAPI]]:
    """The console on its own copy of the book, and its app, whose store a test writes."""
    app = create_app(Settings(database_url=book_copy(book, tmp_path_factory.mktemp("scores-store")),
                              serving_folder=str(book.serving), tracking_uri=registry.tracking_uri))
    with LiveServer(app) as live:
        yield live, app


def test_a_referral_whose_firm_was_rescored_is_flagged_in_the_queue_and_the_review_form_warns(
        page: Page, served: tuple[LiveServer, FastAPI], book: CreditBook) -> None:  # noqa: F811
    server, app = served
    decision_id = book.referred[0]
    with app.state.sessionmaker() as session:
        application = session.get(Application, decision_id)
        firm_id, scored_then = application.firm_id, application.score_as_of
        then = session.get(DecisionRecord, decision_id).result["grade"]
    moved = rescore(app, firm_id, then)
    now = "D" if then == "E" else "E"

    sign_in(page, server, book.keys["finance"])
    row = page.locator(f"tr[data-decision-id='{decision_id}']")
    marker = row.locator("[data-score-moved='grade']")
    expect(marker).to_be_visible()
    expect(marker).to_have_text(f"grade moved {then} → {now}")
    expect(row.locator("td.score-now")).to_contain_text(f"(scored {moved.as_of})")
    expect(row.locator("td.score-then")).to_contain_text(f"(scored {scored_then})")
    screenshot(page, "scores-1-queue-grade-moved")

    row.get_by_role("link", name="Review").click()
    warning = page.locator("section.review").get_by_role("alert")
    expect(warning).to_be_visible()
    expect(warning).to_contain_text(f"The grade moved from {then} to {now} since this application was scored on "
                                    f"{scored_then}")
    expect(warning).to_contain_text("check before you decide.")
    expect(page.locator(".score-facts")).to_contain_text(f"at application {then}")
    screenshot(page, "scores-2-application-grade-moved")

    page.get_by_role("link", name="Audit record").click()
    expect(page.locator(".score-facts")).to_contain_text(f"at the decision {then}")
    screenshot(page, "scores-3-decision-grade-moved")


def test_the_firm_page_labels_what_the_firm_owes_its_sellers_and_what_it_owes_us(
        page: Page, served: tuple[LiveServer, FastAPI], book: CreditBook) -> None:  # noqa: F811
    server, _ = served
    firm = book.approved_firms[4]  # its line used to 80% of the limit, half an order captured (book.py)
    sign_in(page, server, book.keys["finance"])
    page.goto(f"{server.url}/console/firms/{firm}")
    owed = page.locator("section.owed")
    expect(owed.get_by_role("heading", name="What it owes, and to whom")).to_be_visible()
    expect(owed.locator("tr[data-owed='sellers'] th")).to_have_text("Owed to its sellers: open marketplace invoices")
    expect(owed.locator("tr[data-owed='posted'] th")).to_have_text("Owed to us: posted exposure on its credit line")
    expect(owed.locator("tr[data-owed='difference']")).to_be_visible()
    owed.scroll_into_view_if_needed()
    screenshot(page, "scores-4-firm-owed")
