"""The words of the console as chromium renders them: no minor units, Python lists or raw floats.

test_words.py reads every page's HTML; this reads what a person sees (``innerText``) in Debian's
chromium on the pages where numbers are densest: the queue, the portfolio, the financing book,
the models page, the referred applications and their decision records, the firms on the
early-warning list and the firms whose lines are in use. A screenshot of each goes to
tests/artifacts/screenshots/ (words-*.png).
"""

from __future__ import annotations

from urllib.parse import urlparse

from tests.api.conftest import LiveServer
from tests.api.console.book import CreditBook
from tests.api.console.test_browser import browser, page, screenshot, server, sign_in  # noqa: F401  (fixtures)
from tests.api.console.test_words import _offences

PER_KIND = 6


def _hrefs(page, selector: str) -> list[str]:  # noqa: ANN001, F811
    return page.eval_on_selector_all(selector, "links => links.map(link => link.getAttribute('href'))")


def test_the_rendered_pages_show_money_percentages_and_words(page, server: LiveServer,  # noqa: ANN001, F811
                                                             book: CreditBook) -> None:
    sign_in(page, server, book.keys["finance"])
    paths = ["/console/queue", "/console/portfolio", "/console/financing", "/console/models"]
    page.goto(f"{server.url}/console/queue")
    applications = _hrefs(page, "a[href^='/console/applications/']")[:PER_KIND]
    page.goto(f"{server.url}/console/portfolio")
    warned = _hrefs(page, "table.warnings tr[data-firm-id] a[href^='/console/firms/']")[:PER_KIND]
    assert warned, "the book's monitoring run should list early warnings"
    lines = [f"/console/firms/{firm}" for firm in book.approved_firms[:PER_KIND]]
    paths += applications + warned + lines
    offences = {}
    visited = 0
    for path in dict.fromkeys(paths):
        page.goto(f"{server.url}{path}")
        visited += 1
        found = _offences(page.inner_text("body"))
        if found:
            offences[path] = found
        screenshot(page, "words-" + urlparse(path).path.removeprefix("/console/").replace("/", "-"))
        if path.startswith("/console/applications/"):
            decision = f"/console/decisions/{path.rsplit('/', 1)[1]}"
            page.goto(f"{server.url}{decision}")
            found = _offences(page.inner_text("body"))
            if found:
                offences[decision] = found
    assert visited >= 4 + len(warned) + len(lines)
    assert not offences, "\n".join(f"{path}\n  " + "\n  ".join(found[:5]) for path, found in offences.items())
