"""Every console page of the credit book reads as a finance person expects: no minor units, no
Python lists, no raw floats.

The test signs in with the finance key and follows every console link from the queue, the
portfolio, the financing book, the models page and the early-warning work list, so every application,
firm, decision and warning page the book reaches is read. A page's visible text (SVG tooltips included) must not contain

- the word "minor" (amounts are money with a currency, never minor units);
- a ``[`` followed by a quote (a Python list printed as it is);
- a number with more than four decimal places (a float printed raw).
"""

from __future__ import annotations

import re
from urllib.parse import urldefrag, urlparse

from tests.api.console.pages import parse

START = ("/console/queue", "/console/portfolio", "/console/financing", "/console/models", "/console/early-warnings")
OFFENCES = {
    "minor units": re.compile(r"\bminor\b", re.IGNORECASE),
    "a Python list": re.compile(r"\[\s*['\"]"),
    "a raw float": re.compile(r"\d\.\d{5,}"),
}


def _offences(text: str) -> list[str]:
    found = []
    for name, pattern in OFFENCES.items():
        for match in pattern.finditer(text):
            found.append(f"{name}: …{text[max(0, match.start() - 60):match.end() + 40]}…")
    return found


def _links(page) -> list[str]:  # noqa: ANN001
    links = []
    for anchor in page.find_all("a"):
        href = urldefrag(anchor.attrs.get("href", ""))[0]
        path = urlparse(href).path
        if (href.startswith("/console/") and not path.endswith((".csv", ".html"))
                and not path.startswith("/console/static/")):
            links.append(href)
    return links


def test_no_console_page_shows_minor_units_python_lists_or_raw_floats(finance) -> None:
    seen: set[str] = set()
    queue = list(START)
    kinds: dict[str, int] = {}
    offences: dict[str, list[str]] = {}
    while queue:
        path = queue.pop(0)
        if path in seen:
            continue
        seen.add(path)
        response = finance.get(path)
        assert response.status_code == 200, (path, response.status_code)
        page = parse(response.text)
        found = _offences(page.text)
        if found:
            offences[path] = found
        kind = urlparse(path).path.split("/")[2]  # /console/<kind>/...
        kinds[kind] = kinds.get(kind, 0) + 1
        queue.extend(link for link in _links(page) if link not in seen)
    # the walk reached every kind of page the book has
    assert {"queue", "portfolio", "financing", "models", "applications", "firms", "decisions",
            "early-warnings"} <= set(kinds), kinds
    assert not offences, "\n".join(f"{path}\n  " + "\n  ".join(found[:5]) for path, found in offences.items())
