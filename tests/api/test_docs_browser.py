"""The interactive docs in a real browser with the network off: Debian's chromium against a live server.

Every request the page makes to anything but the server on 127.0.0.1 is aborted and kept; the
page must still render the operations (Swagger UI's ``.opblock`` rows) and must not even
have tried to reach elsewhere. A full-page screenshot goes to tests/artifacts/screenshots/.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from api.app import create_app
from credit.settings import Settings
from tests.api.conftest import LiveServer

CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOTS = Path(__file__).resolve().parents[2] / "tests" / "artifacts" / "screenshots"

if not CHROMIUM.exists():
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"CI=true but {CHROMIUM} is missing: run `make browser`", pytrace=False)
    pytest.skip(f"{CHROMIUM} is missing: `make browser` installs it", allow_module_level=True)

from playwright.sync_api import Route, expect, sync_playwright  # noqa: E402


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    folder = tmp_path_factory.mktemp("docs-store")
    with LiveServer(create_app(Settings(database_url=f"sqlite:///{folder / 'api.db'}"))) as live:
        yield live


def test_docs_render_every_operation_with_the_network_off(server: LiveServer) -> None:
    paths = httpx.get(f"{server.url}/v1/openapi.json").json()["paths"]
    # Swagger UI lists an operation once under each of its tags.
    rows = sum(max(len(set(operation.get("tags", []))), 1) for item in paths.values() for operation in item.values())
    blocked: list[str] = []

    def local_only(route: Route) -> None:
        if route.request.url.startswith(f"{server.url}/"):
            route.continue_()
        else:
            blocked.append(route.request.url)
            route.abort("internetdisconnected")

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"])
        try:
            page = browser.new_context(viewport={"width": 1366, "height": 768}).new_page()
            page.route("**/*", local_only)
            page.goto(f"{server.url}/docs")  # the redirect, then the page
            expect(page).to_have_url(f"{server.url}/v1/docs")
            expect(page.locator(".opblock").first).to_be_visible(timeout=20_000)
            expect(page.locator(".opblock")).to_have_count(rows)
            expect(page.locator(".info .title")).to_contain_text("Marketplace credit")
            SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(SCREENSHOTS / "api-docs-offline.png"), full_page=True)
        finally:
            browser.close()
    assert blocked == []
