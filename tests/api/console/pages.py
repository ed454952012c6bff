"""Reading the console's HTML in tests: a small DOM from the standard library's parser, and signing in."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from html.parser import HTMLParser

from fastapi.testclient import TestClient

_VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


@dataclass
class Element:
    tag: str
    attrs: dict[str, str]
    children: list = field(default_factory=list)

    @property
    def text(self) -> str:
        """Visible text, whitespace collapsed (SVG and its tooltips included)."""
        parts = []

        def walk(node: Element) -> None:
            for child in node.children:
                if isinstance(child, str):
                    parts.append(child)
                elif child.tag not in ("script", "style", "title"):
                    walk(child)

        walk(self)
        return re.sub(r"\s+", " ", " ".join(parts)).strip()

    def find_all(self, tag: str | None = None, **attrs: str) -> list[Element]:
        """Descendants with this tag and these attribute values (``data_x`` means ``data-x``; ``class_`` one class)."""
        wanted = {name.rstrip("_").replace("_", "-"): value for name, value in attrs.items()}
        found = []

        def matches(node: Element) -> bool:
            if tag is not None and node.tag != tag:
                return False
            for name, value in wanted.items():
                if name == "class":
                    if value not in node.attrs.get("class", "").split():
                        return False
                elif node.attrs.get(name) != value:
                    return False
            return True

        def walk(node: Element) -> None:
            for child in node.children:
                if isinstance(child, Element):
                    if matches(child):
                        found.append(child)
                    walk(child)

        walk(self)
        return found

    def find(self, tag: str | None = None, **attrs: str) -> Element:
        found = self.find_all(tag, **attrs)
        assert found, f"no <{tag}> with {attrs}"
        return found[0]


class _Builder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Element("document", {})
        self.stack = [self.root]

    def handle_starttag(self, tag: str, attrs: list) -> None:
        element = Element(tag, {name: value or "" for name, value in attrs})
        self.stack[-1].children.append(element)
        if tag not in _VOID:
            self.stack.append(element)

    def handle_startendtag(self, tag: str, attrs: list) -> None:
        self.stack[-1].children.append(Element(tag, {name: value or "" for name, value in attrs}))

    def handle_endtag(self, tag: str) -> None:
        for depth in range(len(self.stack) - 1, 0, -1):
            if self.stack[depth].tag == tag:
                del self.stack[depth:]
                return

    def handle_data(self, data: str) -> None:
        self.stack[-1].children.append(data)


def parse(html: str) -> Element:
    """The page as a tree of :class:`Element`."""
    builder = _Builder()
    builder.feed(html)
    builder.close()
    return builder.root


def form_token(html: str) -> str:
    """The CSRF token of the first form on the page."""
    return parse(html).find("input", name="csrf_token").attrs["value"]


def sign_in(client: TestClient, key: str, next_path: str = "") -> object:
    """Open the sign-in page and submit the key, as a browser does; returns the POST's response."""
    page = client.get("/console/sign-in")
    assert page.status_code == 200, page.text
    return client.post("/console/sign-in", data={"api_key": key, "csrf_token": form_token(page.text),
                                                 "next": next_path})
