"""The model page: champion and challenger from the MLflow registry with their logged metrics and report."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from credit.settings import Settings
from tests.api.console.book import book_copy
from tests.api.console.pages import parse, sign_in

pytestmark = [
    # MLflow's own code, not ours: its SQLAlchemy mappers and its pandas column check (as tests/models/test_registry.py)
    pytest.mark.filterwarnings("ignore:The ``noload`` loader strategy is deprecated"),
    pytest.mark.filterwarnings("ignore:Operation with range is deprecated"),
]


@pytest.fixture
def with_registry(book, registry, tmp_path):  # noqa: ANN001, ANN201
    app = create_app(Settings(database_url=book_copy(book, tmp_path), serving_folder=str(book.serving),
                              tracking_uri=registry.tracking_uri))
    with TestClient(app, raise_server_exceptions=False, follow_redirects=False) as client:
        sign_in(client, book.keys["finance"])
        yield client


def test_without_a_tracking_store_the_page_says_so_and_creates_none(finance, console_app) -> None:
    response = finance.get("/console/models")
    assert response.status_code == 200
    missing = Path(console_app.state.settings.tracking_uri.removeprefix("sqlite:///"))
    assert parse(response.text).find("p", class_="empty").text == (
        "There is no MLflow tracking store yet: train a model first (`credit train`, or "
        "`credit demo` for the whole product on simulated data).")
    assert str(missing) not in response.text and "no-mlflow.db" not in response.text  # a server path is no finance fact
    assert not missing.exists()
    assert finance.get("/console/models/runs/" + "a" * 32 + "/reports/x.html").status_code == 404


def test_champion_and_challenger_show_the_metrics_their_training_runs_logged(with_registry, registry) -> None:
    page = parse(with_registry.get("/console/models").text)
    for alias, version in (("champion", "1"), ("challenger", "2")):
        card = page.find("section", class_=f"model-{alias}")
        assert card.find("h2").text == f"{alias.capitalize()}: version {version}"
        logged = registry.metrics[alias]
        metrics = {tr.attrs["data-metric"]: [td.text for td in tr.find_all("td")]
                   for tr in card.find("table", class_="metrics").find("tbody").find_all("tr")}
        assert [th.text for th in card.find("table", class_="metrics").find("thead").find_all("th")] == [
            "Metric, on the test window", "lightgbm (registered)"]
        for metric in ("auc", "gini", "ks", "brier", "log_loss"):
            value, low, high = (logged[f"lightgbm.{metric}{suffix}"] for suffix in ("", "_low", "_high"))
            assert metrics[metric] == [f"{value:.4f} [{low:.3f}, {high:.3f}]"], metric
        assert metrics["rows"] == [f"{logged['lightgbm.rows']:,.0f}"]
        assert metrics["psi_train_test"] == [f"{logged['lightgbm.psi_train_test']:.4f}"]
        assert "Test window 2025-01 to 2025-03" in card.text
        link = card.find("a", href=f"/console/models/runs/{registry.run_ids[alias]}/reports/{alias}.html")
        assert link.text == f"{alias}.html"
    comparison = next(svg for svg in page.find_all("svg") if svg.find("text").text.startswith("Champion and challenger"))
    tips = [title.text for title in comparison.find_all("title")]
    auc = registry.metrics["champion"]["lightgbm.auc"]
    assert any(tip.startswith(f"Champion v1, AUC: {auc:.3f} (interval") for tip in tips), tips


def test_the_report_logged_with_the_run_is_served_as_it_was_logged(with_registry, registry) -> None:
    run = registry.run_ids["champion"]
    response = with_registry.get(f"/console/models/runs/{run}/reports/champion.html")
    assert response.status_code == 200
    assert response.text == registry.reports["champion"].read_text(encoding="utf-8")
    assert response.headers["content-security-policy"].startswith("default-src 'none'")
    for bad in (f"/console/models/runs/{run}/reports/missing.html", f"/console/models/runs/{run}/reports/..%2Fx.html",
                "/console/models/runs/not-a-run/reports/champion.html",
                f"/console/models/runs/{registry.run_ids['challenger']}/reports/champion.html"):
        assert with_registry.get(bad).status_code == 404, bad


def test_the_model_page_needs_a_session(book, registry, tmp_path) -> None:  # noqa: ANN001
    app = create_app(Settings(database_url=book_copy(book, tmp_path), tracking_uri=registry.tracking_uri))
    with TestClient(app, follow_redirects=False) as client:
        assert client.get("/console/models").status_code == 303
        assert client.get(f"/console/models/runs/{registry.run_ids['champion']}/reports/champion.html").status_code == 303


def _promoted_once(registry, folder: Path) -> str:  # noqa: ANN001
    """A copy of the registry after a promotion of version 1 whose challenger alias was left on it; its URI."""
    from mlflow import MlflowClient

    target = folder / "mlflow.db"
    shutil.copyfile(registry.tracking_uri.removeprefix("sqlite:///"), target)
    uri = f"sqlite:///{target}"
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    client.set_registered_model_alias("credit_pd", "challenger", "1")
    client.set_tag(registry.run_ids["champion"], "promotion", "promoted")
    return uri


def test_one_version_under_both_aliases_states_its_gate_once_and_no_store_path(book, registry, tmp_path) -> None:  # noqa: ANN001
    uri = _promoted_once(registry, tmp_path)
    app = create_app(Settings(database_url=book_copy(book, tmp_path), serving_folder=str(book.serving),
                              tracking_uri=uri))
    with TestClient(app, follow_redirects=False) as client:
        sign_in(client, book.keys["finance"])
        html = client.get("/console/models").text
    page = parse(html)
    assert [card.find("h2").text for card in page.find_all("section", class_="model")] == [
        "Champion: version 1", "Challenger: version 1"]
    assert page.text.count("Gate for version 1: promoted") == 1
    path = uri.removeprefix("sqlite:///")
    for shown in (path, "mlflow.db", "sqlite:"):
        assert shown not in html, shown


def test_an_admin_sees_where_the_mlflow_store_is(book, registry, tmp_path) -> None:  # noqa: ANN001
    app = create_app(Settings(database_url=book_copy(book, tmp_path), serving_folder=str(book.serving),
                              tracking_uri=registry.tracking_uri))
    with TestClient(app, follow_redirects=False) as client:
        sign_in(client, book.keys["admin"])
        page = parse(client.get("/console/models").text)
    assert page.find("p", class_="hint").text == f"MLflow store (shown to admins): {registry.tracking_uri}"
