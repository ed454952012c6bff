"""The console in a real browser: Debian's chromium driven by Playwright, against the app served by uvicorn.

A checkout key applies for a credit line over HTTP for a buyer the store says will be
referred; a finance key signs in, finds the application in the queue, approves it with a
reason; the API then shows the line and the audited review. A checkout key cannot sign in.
Full-page screenshots of every page go to tests/artifacts/screenshots/ (git-ignored) for a
person to look at.

Playwright never downloads a browser here: it launches /usr/bin/chromium (``make browser``
installs it with apt). Without it the tests skip, except under CI=true, where they fail.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import httpx
import pytest

from api.app import create_app
from credit.settings import Settings
from tests.api.conftest import LiveServer, auth
from tests.api.console.book import CreditBook, book_copy
from tests.api.console.test_sign_in import key_id
from tests.api.console.tracking import Registry

pytestmark = [
    # MLflow's own code, not ours: its SQLAlchemy mappers and its pandas column check (as tests/models/test_registry.py)
    pytest.mark.filterwarnings("ignore:The ``noload`` loader strategy is deprecated"),
    pytest.mark.filterwarnings("ignore:Operation with range is deprecated"),
]

CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOTS = Path(__file__).resolve().parents[3] / "tests" / "artifacts" / "screenshots"
VIEWPORT = {"width": 1366, "height": 768}
REASON = "Pays on time for two years; the limit fits its purchases."

if not CHROMIUM.exists():
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"CI=true but {CHROMIUM} is missing: run `make browser`", pytrace=False)
    pytest.skip(f"{CHROMIUM} is missing: `make browser` installs it", allow_module_level=True)

from playwright.sync_api import Browser, Page, expect, sync_playwright  # noqa: E402


@pytest.fixture(scope="module")
def server(book: CreditBook, registry: Registry, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    folder = tmp_path_factory.mktemp("browser-store")
    app = create_app(Settings(database_url=book_copy(book, folder), serving_folder=str(book.serving),
                              tracking_uri=registry.tracking_uri))
    with LiveServer(app) as live:
        yield live


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"])
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport=VIEWPORT)
    yield context.new_page()
    context.close()


def screenshot(page: Page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def sign_in(page: Page, server: LiveServer, key: str) -> None:
    page.goto(f"{server.url}/console")
    expect(page).to_have_url(f"{server.url}/console/sign-in?next=%2Fconsole%2Fqueue")
    page.get_by_label("API key").fill(key)
    page.get_by_role("button", name="Sign in").click()


def test_finance_finds_a_referred_application_approves_it_and_the_api_shows_the_line_and_the_review(
        page: Page, server: LiveServer, book: CreditBook) -> None:
    firm = book.unapplied_firm
    with httpx.Client(base_url=server.url, timeout=30) as api:
        applied = api.post("/v1/credit-lines/applications", json={"buyer_id": firm},
                           headers=auth(book.keys["checkout"]) | {"Idempotency-Key": "browser-apply"})
        assert applied.status_code == 201, applied.text
        application = applied.json()
        assert application["status"] == "referred"
        before = api.get(f"/v1/firms/{firm}/credit", headers=auth(book.keys["finance"])).json()
        assert before["line_status"] == "none"

    sign_in(page, server, book.keys["finance"])
    expect(page).to_have_url(f"{server.url}/console/queue")
    row = page.locator(f"tr[data-decision-id='{application['decision_id']}']")
    expect(row).to_contain_text(f"{Decimal(application['limit']):,}")
    screenshot(page, "1-review-queue")

    row.get_by_role("link", name="Review").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Credit-line application")
    expect(page.locator("section.review")).to_contain_text(f"EUR {Decimal(application['limit']):,}")
    screenshot(page, "2-application")

    page.get_by_label("Approve the proposed limit").check()
    page.get_by_label("Reason (required, kept in the audit trail)").fill(REASON)
    page.get_by_role("button", name="Record the review").click()
    expect(page.get_by_role("status")).to_contain_text("Review recorded: approve")

    with httpx.Client(base_url=server.url, timeout=30) as api:
        finance = auth(book.keys["finance"])
        credit = api.get(f"/v1/firms/{firm}/credit", headers=finance).json()
        assert (credit["line_status"], credit["limit"]) == ("active", application["limit"])
        reviewed = api.get(f"/v1/credit-lines/applications/{application['decision_id']}", headers=finance).json()
        assert reviewed["status"] == "reviewed" and reviewed["line_id"] == credit["line_id"]
        review = api.get(f"/v1/decisions/{reviewed['review']['decision_id']}", headers=finance).json()
        assert (review["kind"], review["outcome"], review["actor"]) == (
            "credit_line_review", "approve", f"key:{key_id(server.server.config.app, 'console-finance')}")
        assert review["request"] == {"action": "approve", "limit": None, "reason": REASON}
        assert review["parent_decision_id"] == application["decision_id"]
        assert [reason["code"] for reason in review["reason_codes"]] == ["finance_approved"]

    page.get_by_role("link", name=f"line {credit['line_id']}", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(f"firm {firm}")
    expect(page.locator("section.line-card")).to_contain_text("Statusactive")
    screenshot(page, "3-firm-just-approved")

    busy = book.approved_firms[4]  # a line used to 80% (book.py)
    page.get_by_label("Firm id").fill(str(busy))
    page.get_by_role("button", name="Open firm").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(f"firm {busy}")
    expect(page.get_by_role("heading", name="Pending holds")).to_be_visible()
    screenshot(page, "3-firm-with-orders")

    page.get_by_role("link", name="Portfolio").click()
    expect(page.get_by_role("heading", name="Exposure and expected loss by grade")).to_be_visible()
    screenshot(page, "4-portfolio")

    page.get_by_role("link", name="Models").click()
    expect(page.get_by_role("heading", name="Champion: version 1")).to_be_visible()
    screenshot(page, "5-models")


def test_a_checkout_key_is_refused_at_sign_in_and_cannot_reach_a_console_page(
        page: Page, server: LiveServer, book: CreditBook) -> None:
    sign_in(page, server, book.keys["checkout"])
    expect(page.get_by_role("alert")).to_contain_text("this key's role is checkout")
    screenshot(page, "6-sign-in-refused")
    page.goto(f"{server.url}/console/portfolio")
    expect(page).to_have_url(f"{server.url}/console/sign-in?next=%2Fconsole%2Fportfolio")
    expect(page.get_by_role("heading", name="Exposure and expected loss by grade")).to_have_count(0)
