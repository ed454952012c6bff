"""The console on a private copy of the credit book (book.py), signed in or not."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from api.app import create_app
from credit.settings import Settings
from tests.api.console.book import CreditBook, book_copy, credit_book
from tests.api.console.pages import sign_in
from tests.api.console.tracking import Registry, model_registry
from tests.api.marketplace import marketplace  # noqa: F401  (session fixture)


@pytest.fixture(scope="session")
def book(marketplace, tmp_path_factory: pytest.TempPathFactory) -> CreditBook:  # noqa: ANN001, F811
    return credit_book(marketplace, tmp_path_factory.mktemp("book"))


@pytest.fixture(scope="session")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Registry:
    """An MLflow registry with a champion and a challenger of credit_pd (tracking.py)."""
    return model_registry(tmp_path_factory.mktemp("mlflow"))


@pytest.fixture
def console_app(book: CreditBook, tmp_path: Path) -> FastAPI:
    """The whole API on a copy of the book; its MLflow store does not exist (the model page says so)."""
    return create_app(Settings(database_url=book_copy(book, tmp_path), serving_folder=str(book.serving),
                               tracking_uri=f"sqlite:///{tmp_path / 'no-mlflow.db'}"))


@pytest.fixture
def anonymous(console_app: FastAPI) -> Iterator[TestClient]:
    """A browser that has not signed in (redirects are not followed, so tests see them)."""
    with TestClient(console_app, raise_server_exceptions=False, follow_redirects=False) as client:
        yield client


@pytest.fixture
def finance(anonymous: TestClient, book: CreditBook) -> TestClient:
    """The same browser signed in with the book's finance key."""
    sign_in(anonymous, book.keys["finance"])
    return anonymous
