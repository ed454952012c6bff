"""The financing page in a real browser (Debian's chromium via Playwright, as test_browser.py): a finance key signs
in and finds each product's rows, booked through the ORM and the real journal on a copy of the console's book
(financings.py), then follows a loan to its borrower's page. Screenshots go to tests/artifacts/screenshots/.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from api.app import create_app
from credit import clock
from credit.settings import Settings
from credit.store.engine import make_engine
from tests.api.conftest import LiveServer
from tests.api.console.book import CreditBook, book_copy
from tests.api.console.financings import Financings, seed_financings

CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOTS = Path(__file__).resolve().parents[3] / "tests" / "artifacts" / "screenshots"

if not CHROMIUM.exists():
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"CI=true but {CHROMIUM} is missing: run `make browser`", pytrace=False)
    pytest.skip(f"{CHROMIUM} is missing: `make browser` installs it", allow_module_level=True)

from playwright.sync_api import Page, expect, sync_playwright  # noqa: E402


@pytest.fixture(scope="module")
def served(book: CreditBook, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LiveServer, Financings]]:
    url = book_copy(book, tmp_path_factory.mktemp("financing-browser"))
    engine = make_engine(url)
    with Session(engine) as session:
        seeded = seed_financings(session, clock.now())
        session.expunge_all()
    engine.dispose()
    app = create_app(Settings(database_url=url, serving_folder=str(book.serving),
                              tracking_uri=f"sqlite:///{tmp_path_factory.mktemp('mlflow') / 'none.db'}"))
    with LiveServer(app) as live:
        yield live, seeded


@pytest.fixture
def page() -> Iterator[Page]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"])
        context = browser.new_context(viewport={"width": 1366, "height": 768})
        yield context.new_page()
        context.close()
        browser.close()


def test_finance_signs_in_and_finds_each_products_rows_on_the_financing_page(page: Page, served, book) -> None:  # noqa: ANN001
    server, seeded = served
    page.goto(f"{server.url}/console/financing")
    expect(page).to_have_url(f"{server.url}/console/sign-in?next=%2Fconsole%2Ffinancing")
    page.get_by_label("API key").fill(book.keys["finance"])
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(f"{server.url}/console/financing")
    expect(page.get_by_role("heading", level=1)).to_have_text("Financing")

    for kind, financing, outstanding in (("order", seeded.order, "0.00"), ("receivable", seeded.receivable, "5,000.00"),
                                         ("loan", seeded.loan, "2,500.00")):
        row = page.locator(f"#book-{kind} tr[data-financing-id='{financing.financing_id}']")
        expect(row).to_have_attribute("data-kind", kind)
        expect(row.locator("td").nth(6 if kind == "loan" else 7)).to_have_text(outstanding)  # a loan has no debtor
    expect(page.locator("table.products tfoot")).to_contain_text("11,500.00")  # 4,000 + 5,000 + 2,500 at risk
    expect(page.locator("table.troubled tr[data-kind='loan']")).to_contain_text("overdue")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "7-financing.png"), full_page=True)

    page.locator(f"#book-loan tr[data-financing-id='{seeded.loan.financing_id}'] a").first.click()
    expect(page.get_by_role("heading", name="Financing and loans")).to_be_visible()
    expect(page.locator("table.as-supplier tr[data-kind='loan']")).to_contain_text("2,500.00")
    page.screenshot(path=str(SCREENSHOTS / "8-firm-financing.png"), full_page=True)
