"""The docs page and its assets come from the service itself; /docs leads to them."""

from __future__ import annotations

import re


def test_docs_redirects_to_the_versioned_page(client):
    response = client.get("/docs", follow_redirects=False)
    assert (response.status_code, response.headers["location"]) == (307, "/v1/docs")


def test_the_docs_page_loads_only_assets_the_service_serves(client):
    page = client.get("/v1/docs")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    sources = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert sorted(sources) == ["/v1/docs/assets/favicon.png", "/v1/docs/assets/swagger-ui-bundle.js",
                               "/v1/docs/assets/swagger-ui.css"]
    assert "url: '/v1/openapi.json'" in page.text
    assert '"validatorUrl": null' in page.text
    for source in sources:
        asset = client.get(source)
        assert asset.status_code == 200 and len(asset.content) > 1000, source
    assert "SwaggerUIBundle" in client.get("/v1/docs/assets/swagger-ui-bundle.js").text


def test_the_docs_are_not_operations_of_the_api(client):
    paths = client.get("/v1/openapi.json").json()["paths"]
    assert not [path for path in paths if "docs" in path]
