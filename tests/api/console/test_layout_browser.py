"""Every console page fits the window at 1280 and 1920 px: Debian's chromium via Playwright, as test_browser.py.

The book (book.py) is made to show what overflowed before: a year and more of score history
(six more month-ends scored, so the firm page's grade/PD table has its twelve columns), the
three financings of financings.py, applications in two months (the portfolio charts
them by month), and an MLflow registry whose runs logged all three
candidates' metrics as training does (lightgbm, scorecard, logistic: four columns of
intervals on the model page). Each page must be no wider than the viewport
(``document.documentElement.scrollWidth <= window.innerWidth``): no sideways scroll.

A full-page screenshot of every page at both widths goes to the test's tmp folder and, when
the environment variable ``CREDIT_SCREENSHOTS`` names a folder, there too, for a person to look at.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.app import create_app
from credit import clock
from credit.origination.tables import CreditLineApplicationRecord as Application
from credit.scoring.batch import score_all
from credit.settings import Settings
from credit.store.engine import make_engine
from tests.api.conftest import LiveServer
from tests.api.console.book import CreditBook, book_copy
from tests.api.console.financings import Financings, seed_financings
from tests.api.console.tracking import Registry
from tests.api.marketplace import AS_OF, months_after

pytestmark = [
    # MLflow's own code, not ours (as tests/models/test_registry.py)
    pytest.mark.filterwarnings("ignore:The ``noload`` loader strategy is deprecated"),
    pytest.mark.filterwarnings("ignore:Operation with range is deprecated"),
]

WIDTHS = (1280, 1920)
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
EXTRA_CANDIDATES = ("scorecard", "logistic")
"""Candidates training logs beside lightgbm (credit/models/training.py): their metrics widen the model page's tables."""

from tests.api.console.test_browser import browser  # noqa: E402, F401  (its skip without chromium, and the fixture)

from playwright.sync_api import Browser, Page  # noqa: E402  (after test_browser's skip without chromium)


@dataclass(frozen=True)
class Served:
    server: LiveServer
    book: CreditBook
    financings: Financings
    run_id: str  # the champion's training run, whose report the console serves
    screenshots: tuple[Path, ...]


def wide_registry(registry: Registry, folder: Path) -> str:
    """A copy of the test registry whose runs also logged the other candidates' metrics; its URI."""
    from mlflow import MlflowClient

    source = Path(registry.tracking_uri.removeprefix("sqlite:///"))
    target = folder / "mlflow.db"
    shutil.copyfile(source, target)  # the artifacts stay where the registry logged them (absolute URIs)
    uri = f"sqlite:///{target}"
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    for alias, run in registry.run_ids.items():
        for candidate in EXTRA_CANDIDATES:
            for key, value in registry.metrics[alias].items():
                model, _, name = key.rpartition(".")
                if model == "lightgbm":  # a little worse than the PD model; counts as they were
                    client.log_metric(run, f"{candidate}.{name}", value if value.is_integer() else value * 0.97)
    return uri


@pytest.fixture(scope="module")
def served(book: CreditBook, registry: Registry, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    folder = tmp_path_factory.mktemp("layout-browser")
    url = book_copy(book, folder)
    engine = make_engine(url)
    for months in range(12, 6, -1):  # the book scored the last six month-ends and AS_OF: a year and more now
        score_all(engine, book.serving, months_after(AS_OF, -months))
    with Session(engine) as session:
        financings = seed_financings(session, clock.now())
        session.expunge_all()
        # every other application a month older: the portfolio charts its applications by month (two months)
        applications = session.scalars(select(Application).order_by(Application.decision_id)).all()
        for application in applications[::2]:
            application.created_at -= timedelta(days=31)
        session.commit()
    engine.dispose()
    app = create_app(Settings(database_url=url, serving_folder=str(book.serving),
                              tracking_uri=wide_registry(registry, folder)))
    shots = [folder / "screenshots"]
    if os.environ.get("CREDIT_SCREENSHOTS"):
        shots.append(Path(os.environ["CREDIT_SCREENSHOTS"]))
    for shot in shots:
        shot.mkdir(parents=True, exist_ok=True)
    with LiveServer(app) as live:
        yield Served(live, book, financings, registry.run_ids["champion"], tuple(shots))


@pytest.fixture(scope="module")
def signed_in(browser: Browser, served: Served) -> dict:
    """The cookies of a finance session, signed in once through the sign-in page."""
    context = browser.new_context()
    page = context.new_page()
    page.goto(f"{served.server.url}/console/sign-in")
    page.get_by_label("API key").fill(served.book.keys["finance"])
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{served.server.url}/console/queue")
    state = context.storage_state()
    context.close()
    return state


# name -> (the page's path for this book, whether it needs a session)
PAGES: dict[str, tuple[Callable[[Served], str], bool]] = {
    "sign-in": (lambda s: "/console/sign-in", False),
    "queue": (lambda s: "/console/queue", True),
    "application": (lambda s: f"/console/applications/{s.book.referred[0]}", True),
    "decision": (lambda s: f"/console/decisions/{s.book.referred[0]}", True),
    "firm-with-orders": (lambda s: f"/console/firms/{s.book.approved_firms[4]}", True),
    "firm-frozen": (lambda s: f"/console/firms/{s.book.frozen_firm}", True),
    "firm-no-line": (lambda s: f"/console/firms/{s.book.unapplied_firm}", True),
    "firm-with-financings": (lambda s: f"/console/firms/{s.financings.loan.supplier_id}", True),
    "portfolio": (lambda s: "/console/portfolio", True),
    "financing": (lambda s: "/console/financing", True),
    "models": (lambda s: "/console/models", True),
    "model-report": (lambda s: f"/console/models/runs/{s.run_id}/reports/champion.html", True),
    "not-found": (lambda s: "/console/firms/999999999", True),
    # the early-warning work list and one warning of it (the first "Work on it"), where the console has them
    "early-warnings": (lambda s: "/console/early-warnings", True),
    "early-warning": (lambda s: "/console/early-warnings", True),
}


CUT_TABLES = """() => [...document.querySelectorAll('table')].filter(table => {
    const card = table.closest('.card, main') || document.body;  // the model report has neither
    for (let box = table.parentElement; box && box !== card.parentElement; box = box.parentElement) {
        if (['auto', 'scroll'].includes(getComputedStyle(box).overflowX)) return false;
    }
    return table.getBoundingClientRect().right > card.getBoundingClientRect().right + 0.5;
}).map(table => (table.className || 'table') + ' ' + Math.round(table.getBoundingClientRect().right))"""
"""Tables whose right edge passes their card's and that no box between them scrolls sideways."""

OVERLAPPING = """() => [...document.querySelectorAll('.split > *, .grid-2 > *, .columns > *')].flatMap(cell =>
    [...cell.querySelectorAll('table, svg')].filter(element => {
        for (let box = element.parentElement; box && box !== cell; box = box.parentElement) {
            if (['auto', 'scroll'].includes(getComputedStyle(box).overflowX)) return false;
        }
        return element.getBoundingClientRect().right > cell.getBoundingClientRect().right + 0.5;
    }).map(element => (cell.closest('.card')?.querySelector('h2') || cell).textContent.trim().slice(0, 40)
                      + ': ' + element.tagName.toLowerCase() + '.' + (element.getAttribute('class') || '')))"""
"""Tables and charts that pass the right edge of their column in a side-by-side layout: drawn over the next column."""


def visit(browser: Browser, served: Served, state: dict, name: str, width: int) -> Page:
    path, needs_session = PAGES[name]
    context = browser.new_context(viewport={"width": width, "height": 900},
                                  storage_state=state if needs_session else None)
    page = context.new_page()
    url = f"{served.server.url}{path(served)}"
    if name.startswith("early-warning") and page.request.get(url).status == 404:
        context.close()
        pytest.skip("this console has no early-warning work list")
    if name == "early-warning":
        page.goto(url)
        url = f"{served.server.url}{page.get_by_role('link', name='Work on it').first.get_attribute('href')}"
    response = page.goto(url)
    assert response is not None and response.status == (404 if name == "not-found" else 200), name
    assert page.url == url, f"{name} redirected to {page.url}"
    page.wait_for_load_state("load")
    return page


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("name", list(PAGES))
def test_the_page_is_no_wider_than_the_window(browser: Browser, served: Served, signed_in: dict, name: str,
                                              width: int) -> None:
    page = visit(browser, served, signed_in, name, width)
    try:
        for folder in served.screenshots:
            page.screenshot(path=str(folder / f"{name}-{width}.png"), full_page=True)
        inner, scroll = page.evaluate("[window.innerWidth, document.documentElement.scrollWidth]")
        assert inner == width
        # what sticks out, to say where, should the page be too wide
        wide = page.evaluate("""() => [...document.querySelectorAll('main *, header *')]
            .filter(e => e.getBoundingClientRect().right > window.innerWidth + 0.5)
            .slice(0, 5).map(e => e.tagName + '.' + e.className + ' ' + Math.round(e.getBoundingClientRect().right))""")
        for folder in served.screenshots:
            with (folder / "widths.txt").open("a") as record:
                record.write(f"{name} {width} {scroll}\n")
        assert scroll <= inner, f"{name} at {width} px is {scroll} px wide: {wide}"
        # and no table sticks out of its card (clipped, or under the next card) unless it scrolls inside it
        cut = page.evaluate(CUT_TABLES)
        assert not cut, f"{name} at {width} px: tables wider than their card: {cut}"
        # nor over the column beside it (a statement's amounts under the ageing table's headings)
        overlapping = page.evaluate(OVERLAPPING)
        assert not overlapping, f"{name} at {width} px: drawn over the next column: {overlapping}"
        # a card scrolls sideways only as a last resort (console.css): none of these pages needs it
        scrolling = page.evaluate("""() => [...document.querySelectorAll('.card')]
            .filter(card => card.scrollWidth > card.clientWidth)
            .map(card => (card.querySelector('h2, h3') || card).textContent.trim().slice(0, 40))""")
        assert not scrolling, f"{name} at {width} px: cards wider than their content box: {scrolling}"
    finally:
        page.context.close()


def test_the_latest_column_of_the_wide_tables_can_be_read_inside_its_card(browser: Browser, served: Served,
                                                                          signed_in: dict) -> None:
    """The firm page's twelve months and the model page's three candidates: the last column is shown, not clipped."""
    for name, selector, columns in (("firm-with-orders", "table.history", 13), ("models", "table.metrics", 4)):
        page = visit(browser, served, signed_in, name, 1280)
        try:
            table = page.locator(selector).first
            assert table.locator("thead th").count() == columns, name  # the book is as wide as it is meant to be
            last = table.locator("thead th").last
            last.scroll_into_view_if_needed()
            inside = page.evaluate("""(selector) => {
                const cell = [...document.querySelector(selector).querySelectorAll('thead th')].pop();
                const card = cell.closest('.card').getBoundingClientRect(), box = cell.getBoundingClientRect();
                return box.left >= card.left && box.right <= card.right && box.right <= window.innerWidth;
            }""", selector)
            assert inside, f"the last column of {selector} on {name} is cut off"
        finally:
            page.context.close()


def test_a_decline_has_one_colour_on_every_page_and_it_is_not_green(browser: Browser, served: Served,
                                                                    signed_in: dict) -> None:
    """Whatever chart draws declines (the portfolio's applications by month, at least) draws them in one red."""
    colours: dict[str, set[str]] = {}
    for name in PAGES:
        page = visit(browser, served, signed_in, name, 1280)
        try:
            found = page.evaluate("""() => [...document.querySelectorAll('svg.chart .outcome-declined')]
                .map(e => getComputedStyle(e).color)""")
            if found:
                colours[name] = set(found)
            if name == "portfolio":  # and its months are ticked by month: "Nov 2026, Dec", no weekly dates
                ticks = page.locator("svg[aria-label='Credit-line applications by month'] text.tick-label")
                months = [t for t in ticks.all_text_contents() if not t.endswith("%")]  # the y axis is in percent
                assert len(months) >= 2 and all(t.split()[0] in MONTHS for t in months), months
        finally:
            page.context.close()
    assert "portfolio" in colours, "the portfolio's applications by month should draw the declines"
    shown = set().union(*colours.values())
    assert len(shown) == 1, colours
    red, green, blue = (int(part) for part in shown.pop().removeprefix("rgb(").removesuffix(")").split(","))
    assert red > green and red > blue, f"declines drawn in rgb({red}, {green}, {blue})"
