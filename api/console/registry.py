"""The model page's read of the MLflow registry: champion and challenger of ``credit_pd``, their metrics and report.

The registry lives where :class:`credit.settings.Settings` says (``tracking_uri``). It is read
with an ``MlflowClient`` bound to that URI, so the API process never changes MLflow's
process-wide tracking URI, and a missing store is reported, never created: a console opened
before any model was trained says so. MLflow (about a second to import) is imported on the
first visit of the model page, not when the app starts.

Metrics are the training run's, as :func:`pipelines.train_pd.train_pd` logs them: one
``<candidate>.<metric>`` per candidate model (``lightgbm.auc``, ``lightgbm.auc_low``, ...).
"""

from __future__ import annotations

import logging
import re
import tempfile
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from credit.models import CHALLENGER, CHAMPION, REGISTERED_MODEL

if TYPE_CHECKING:
    from credit.models.registry import RegisteredVersion

log = logging.getLogger("api.console")

ALIASES: tuple[str, ...] = (CHAMPION, CHALLENGER)
REPORTS_FOLDER = "reports"

HEADLINE_METRICS: tuple[tuple[str, str], ...] = (
    ("auc", "AUC"), ("gini", "Gini"), ("ks", "KS"), ("brier", "Brier score"), ("log_loss", "Log loss"),
)
"""Metrics logged with a 95% interval (``_low``/``_high``), in the order the page shows them."""

OTHER_METRICS: tuple[tuple[str, str], ...] = (
    ("rows", "Test rows"), ("defaults", "Test defaults"), ("auc_train", "AUC on training rows"),
    ("psi_train_test", "PSI of the PD, training vs test"), ("oracle_auc", "Oracle AUC (simulated data)"),
    ("auc_gap_to_oracle", "AUC gap to the oracle"),
)

_RUN_ID = re.compile(r"^[0-9a-f]{32}$")
_REPORT_NAME = re.compile(r"^[\w.-]{1,200}\.html$")
_clients: dict[str, Any] = {}
_clients_lock = threading.Lock()


@dataclass(frozen=True)
class MetricRow:
    """One candidate model's metrics in a run (``model`` is the candidate's name, e.g. ``lightgbm``)."""

    model: str
    values: dict[str, float]

    def interval(self, name: str) -> tuple[float | None, float | None, float | None]:
        """The metric and its 95% interval bounds (None where not logged)."""
        return self.values.get(name), self.values.get(f"{name}_low"), self.values.get(f"{name}_high")


@dataclass(frozen=True)
class AliasedModel:
    """A registered version under an alias, with its training run's metrics and reports."""

    alias: str
    version: "RegisteredVersion"
    registered_at: datetime | None
    run_name: str | None
    job: str | None
    promotion: str | None
    windows: dict[str, str]
    metrics: tuple[MetricRow, ...]
    reports: tuple[str, ...]

    @property
    def registered_metrics(self) -> MetricRow | None:
        """The metrics of the candidate that was registered (``lightgbm``, the PD model), if logged."""
        return next((row for row in self.metrics if row.model == "lightgbm"), None)


@dataclass(frozen=True)
class RegistryView:
    """What the model page shows; ``problem`` says why nothing can be shown, in words.

    ``problem`` never names the store's location (a file path on the server): the page shows
    ``tracking_uri`` to admins only.
    """

    tracking_uri: str
    models: tuple[AliasedModel, ...] = ()
    missing_aliases: tuple[str, ...] = ()
    problem: str | None = None
    registered_model: str = REGISTERED_MODEL


def _missing_store(tracking_uri: str) -> str | None:
    if tracking_uri.startswith("sqlite:///"):
        path = Path(tracking_uri.removeprefix("sqlite:///"))
        if str(path) != ":memory:" and not path.exists():
            return ("There is no MLflow tracking store yet: train a model first "
                    "(`credit train`, or `credit demo` for the whole product on simulated data).")
    return None


def _client(tracking_uri: str) -> Any:
    with _clients_lock:
        client = _clients.get(tracking_uri)
        if client is None:
            from mlflow import MlflowClient

            client = _clients[tracking_uri] = MlflowClient(tracking_uri=tracking_uri, registry_uri=tracking_uri)
        return client


def registry_view(tracking_uri: str) -> RegistryView:
    """Champion and challenger of ``credit_pd`` with their metrics, windows and reports.

    Parameters
    ----------
    tracking_uri
        The MLflow tracking and registry URI (``Settings.resolved_tracking_uri()``).

    Returns
    -------
    RegistryView
        With ``problem`` set, and no models, when the store does not exist, cannot be read or
        has no registered ``credit_pd``.
    """
    problem = _missing_store(tracking_uri)
    if problem:
        return RegistryView(tracking_uri, problem=problem)
    try:
        from mlflow.exceptions import MlflowException

        client = _client(tracking_uri)
        try:
            client.get_registered_model(REGISTERED_MODEL)
        except MlflowException:
            return RegistryView(tracking_uri, problem=(
                f"The MLflow store has no registered model {REGISTERED_MODEL} yet: train one "
                "with `credit train` (it registers the challenger), then `credit promote`."))
        models, missing = [], []
        for alias in ALIASES:
            try:
                version = client.get_model_version_by_alias(REGISTERED_MODEL, alias)
            except MlflowException:
                missing.append(alias)
                continue
            models.append(_aliased(client, alias, version))
    except Exception as exc:  # noqa: BLE001 - a store MLflow cannot read is reported on the page, not a 500
        log.warning("model page: MLflow store %s unreadable", tracking_uri, exc_info=exc)
        return RegistryView(tracking_uri, problem=f"The MLflow store could not be read ({type(exc).__name__}); "
                                                  "the service's log has the details.")
    return RegistryView(tracking_uri, tuple(models), tuple(missing))


def _aliased(client: Any, alias: str, version: Any) -> AliasedModel:
    from credit.models.registry import RegisteredVersion  # MLflow and LightGBM: imported with the first visit

    registered = RegisteredVersion.of(version)
    run = client.get_run(registered.run_id) if registered.run_id else None
    metrics: dict[str, dict[str, float]] = {}
    windows: dict[str, str] = {}
    tags: dict[str, str] = {}
    reports: tuple[str, ...] = ()
    if run is not None:
        for key, value in run.data.metrics.items():
            model, _, name = key.rpartition(".")
            metrics.setdefault(model, {})[name] = float(value)
        windows = {key.removeprefix("window."): value for key, value in run.data.params.items()
                   if key.startswith("window.")}
        tags = dict(run.data.tags)
        reports = tuple(sorted(Path(item.path).name for item in client.list_artifacts(registered.run_id, REPORTS_FOLDER)
                               if not item.is_dir and item.path.endswith(".html")))
    order = sorted(metrics, key=lambda model: (model != "lightgbm", model))
    created = getattr(version, "creation_timestamp", None)
    return AliasedModel(
        alias=alias, version=registered,
        registered_at=datetime.fromtimestamp(created / 1000, UTC).replace(tzinfo=None) if created else None,
        run_name=run.info.run_name if run is not None else None, job=tags.get("job"), promotion=tags.get("promotion"),
        windows=windows, metrics=tuple(MetricRow(model, metrics[model]) for model in order), reports=reports)


def report_html(tracking_uri: str, run_id: str, name: str) -> str | None:
    """The HTML report ``reports/<name>`` logged in run ``run_id``; None when there is no such report.

    Only a report the run lists is read, so the names cannot reach outside its ``reports``
    folder.
    """
    if not _RUN_ID.match(run_id) or not _REPORT_NAME.match(name) or _missing_store(tracking_uri):
        return None
    try:
        from mlflow.exceptions import MlflowException

        client = _client(tracking_uri)
        try:
            listed = {Path(item.path).name for item in client.list_artifacts(run_id, REPORTS_FOLDER)}
        except MlflowException:
            return None
        if name not in listed:
            return None
        with tempfile.TemporaryDirectory(prefix="console-report-") as folder:
            path = client.download_artifacts(run_id, f"{REPORTS_FOLDER}/{name}", dst_path=folder)
            return Path(path).read_text(encoding="utf-8", errors="replace")
    except Exception as exc:  # noqa: BLE001 - an unreadable artifact store is "no report", logged
        log.warning("model page: report %s of run %s unreadable", name, run_id, exc_info=exc)
        return None

