"""The interactive API docs (Swagger UI), served by the app itself: no CDN, so they work offline.

FastAPI's default docs page loads Swagger UI's script and stylesheet from a CDN and is blank
on a machine without internet. Here the page points at assets the service serves from an
installed package, FastAPI's documented recipe for self-hosting them. The package is
``fastapi-offline``: it ships Swagger UI 5, which reads the OpenAPI 3.1 document FastAPI
writes (``swagger-ui-bundle`` ships Swagger UI 4, which refuses 3.1: "Unable to render this
definition"). Only its static files are used, not its ``FastAPIOffline`` class.

``/docs`` redirects to the versioned page, ``/v1/docs``.
"""

from __future__ import annotations

from importlib.resources import files

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles

SWAGGER_UI_ASSETS = files("fastapi_offline") / "static"
"""Swagger UI's ``swagger-ui-bundle.js``, ``swagger-ui.css`` and a favicon, as the package ships them."""


def mount_docs(app: FastAPI, docs_url: str, openapi_url: str) -> None:
    """Serve Swagger UI at ``docs_url`` from packaged assets (under ``docs_url/assets``) and redirect ``/docs`` to it.

    The app must be built with ``docs_url=None`` (FastAPI's own page would take the path).
    """
    assets = f"{docs_url}/assets"
    app.mount(assets, StaticFiles(directory=str(SWAGGER_UI_ASSETS)), name="docs-assets")

    @app.get(docs_url, include_in_schema=False, response_class=HTMLResponse)
    async def swagger_ui() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=openapi_url, title=f"{app.title} - API docs",
            swagger_js_url=f"{assets}/swagger-ui-bundle.js", swagger_css_url=f"{assets}/swagger-ui.css",
            swagger_favicon_url=f"{assets}/favicon.png",
            # Swagger UI would otherwise fetch a validity badge from validator.swagger.io.
            swagger_ui_parameters={"validatorUrl": None},
        )

    @app.get("/docs", include_in_schema=False)
    async def docs_redirect() -> RedirectResponse:
        return RedirectResponse(docs_url)
