"""``credit monitor``: drift, realised against predicted defaults and the early-warning list, stored in the store."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from cli.common import DatabaseUrl, app, console, fail, open_store, parse_date
from cli.models import TrackingOption
from cli.scoring import ServingOption

TOP_WARNINGS = 10
TOP_DRIFTING_FEATURES = 10


@app.command()
def monitor(
    panel: Annotated[Path, typer.Option(
        "--panel", help="Feature panel folder (panel.parquet + manifest.json from `credit features build`; "
        "the demo writes var/demo/features). It must cover the champion's training window and the month monitored.")
    ] = Path("var/features"),
    serving: ServingOption = None,
    as_of: Annotated[str | None, typer.Option(
        "--as-of", help="The month monitored (YYYY-MM-DD), an as-of date of the panel. Default: its latest.",
        show_default=False)] = None,
    training_from: Annotated[str | None, typer.Option(
        "--training-from", help="First as-of date the champion was fitted on. Default: read from its MLflow run.",
        show_default=False)] = None,
    training_to: Annotated[str | None, typer.Option(
        "--training-to", help="Last as-of date the champion was fitted on (with --training-from).",
        show_default=False)] = None,
    config: Annotated[Path | None, typer.Option(
        "--config", help="Monitoring thresholds TOML; keys left out keep the defaults of "
        "credit/monitoring/monitoring.toml.", show_default=False)] = None,
    tracking_uri: TrackingOption = "",
    database_url: DatabaseUrl = "",
) -> None:
    """Monitor the champion: PSI of score and features, calibration by grade and vintage, early warnings.

    The run is stored in the operational store, where the API (/v1/monitoring/...) and the
    finance console read it.
    """
    from credit.monitoring.config import MonitoringConfigError, load_monitoring_config
    from credit.monitoring.run import MonitoredModel, MonitoringError, monitor as run_monitoring
    from credit.settings import Settings

    if (training_from is None) != (training_to is None):
        fail("give both --training-from and --training-to, or neither (then they are read from MLflow)")
    window = None
    if training_from is not None:
        window = (parse_date(training_from, "--training-from"), parse_date(training_to, "--training-to"))
        if window[0] > window[1]:
            fail(f"--training-from ({window[0]}) must not be after --training-to ({window[1]})")
    day = parse_date(as_of, "--as-of") if as_of else None
    folder = serving or Settings().resolved_serving_folder()
    if not folder.is_dir():
        fail(f"no serving files at {folder}: run `credit models export-champion --out {folder}` first.")
    if not panel.is_dir():
        fail(f"no feature panel at {panel}: build one with `credit features build --out {panel}`")
    try:
        thresholds = load_monitoring_config(config)
    except MonitoringConfigError as exc:
        fail(str(exc))
    if window is None:
        from cli.models import use_tracking

        use_tracking(tracking_uri)
    engine = open_store(database_url)
    try:
        model = MonitoredModel.from_serving(folder, window)
        with console.status(f"monitoring {model.name} version {model.version} on {panel}"):
            run = run_monitoring(engine, panel, model, as_of=day, config=thresholds)
    except (MonitoringError, ValueError, OSError) as exc:
        fail(str(exc))
    print_run(run)


def print_run(run) -> None:  # noqa: ANN001
    """A readable summary of a stored monitoring run: PSI, calibration by grade, early warnings."""
    from credit.monitoring.results import WARNING_REASONS

    console.print(f"Monitoring run {run.run_id}: {run.model_name} version {run.model_version}, month {run.as_of} "
                  f"({run.firms:,} firms) against its training window {run.training_from} to {run.training_to}",
                  highlight=False)
    table = Table(title="PSI of the score (watch >= 0.1, alarm >= 0.25)", title_justify="left")
    for column in ("segment", "PSI", "status", "training rows", "rows now"):
        table.add_column(column, justify="left" if column in ("segment", "status") else "right")
    for row in (r for r in run.psi if r.variable == "score"):
        table.add_row(row.segment, f"{row.psi:.3f}", _status(row.status), f"{row.expected_rows:,}",
                      f"{row.actual_rows:,}")
    console.print(table)
    drifting = run.drifting_features
    if drifting:
        table = Table(title=f"Features that moved: {len(drifting)} of {sum(r.variable != 'score' for r in run.psi)} "
                            f"(feature, segment) pairs at watch or alarm; the largest", title_justify="left")
        for column in ("feature", "segment", "PSI", "status"):
            table.add_column(column, justify="right" if column == "PSI" else "left")
        for row in drifting[:TOP_DRIFTING_FEATURES]:
            table.add_row(row.variable, row.segment, f"{row.psi:.3f}", _status(row.status))
        console.print(table)
    skipped = run.settings.get("segments_not_assessed") or []
    if skipped:
        console.print(f"Segments with too few rows for a PSI: {', '.join(skipped)}", highlight=False)
    if run.grades:
        table = Table(title=f"Realised vs predicted 12-month default rate by grade, vintage {run.calibration_vintage} "
                            "(95% Clopper-Pearson interval)", title_justify="left")
        for column in ("grade", "firms", "defaults", "predicted", "realised", "95% interval", "status"):
            table.add_column(column, justify="left" if column in ("grade", "status") else "right")
        for grade in run.grades:
            table.add_row(grade.grade, f"{grade.firms:,}", f"{grade.defaults:,}", f"{grade.predicted_rate:.2%}",
                          f"{grade.realised_rate:.2%}", f"[{grade.ci_low:.2%}, {grade.ci_high:.2%}]",
                          _status(grade.status))
        console.print(table)
    else:
        console.print("No vintage of the panel has a matured outcome yet: no calibration by grade.", highlight=False)
    alarms, watches = run.alarms, run.watches
    console.print(f"Alarms: {len(alarms)}" + (" (score PSI at alarm, or a grade outside its 99.9% interval)" if alarms
                                              else " (no score PSI at alarm, every grade inside its 99.9% interval)"),
                  highlight=False)
    if watches:
        console.print(f"On watch: {len(watches)} (score PSI at watch, or a grade outside its 95% interval only)",
                      highlight=False)
    counts = {code: sum(code in w.reasons for w in run.warnings) for code in WARNING_REASONS}
    console.print(f"Early-warning list: {len(run.warnings):,} firms ({len(run.warnings) / max(run.firms, 1):.1%} of "
                  "the book); " + ", ".join(f"{code} {n:,}" for code, n in counts.items()), highlight=False)
    if run.warnings:
        table = Table(title=f"Early warnings, most reasons first (top {TOP_WARNINGS})", title_justify="left")
        table.add_column("firm", justify="right")
        table.add_column("reasons")
        table.add_column("what the numbers say")
        for warning in run.warnings[:TOP_WARNINGS]:
            table.add_row(str(warning.firm_id), ", ".join(warning.reasons),
                          "; ".join(_brief(code, warning.details.get(code) or {}) for code in warning.reasons))
        console.print(table)
        for code in sorted({code for w in run.warnings[:TOP_WARNINGS] for code in w.reasons},
                           key=list(WARNING_REASONS).index):
            console.print(f"  {code}: {WARNING_REASONS[code]}", highlight=False)


def _brief(code: str, details: dict) -> str:
    """A warning's numbers in a few words, money in the marketplace currency."""
    from api.kit.money import MARKETPLACE_CURRENCY, from_minor

    try:
        return {
            "grade_drop": lambda d: f"grade {d['grade_before']} to {d['grade_now']}",
            "new_overdue": lambda d: f"{d['invoices']} invoice(s), {MARKETPLACE_CURRENCY} "
                                     f"{from_minor(d['unpaid_minor']):,} unpaid, up to "
                                     f"{d['max_days_past_due']} days past due",
            "dbt_rising": lambda d: f"days beyond terms +{d['dbt_rise_days']:g} (now {d['dbt_mean_90d_days']:g})",
            "partner_default": lambda d: f"partner {d['partner_id']} ({d['share']:.0%} of trade): "
                                         f"{d['event_kind']} on {d['event_at']}",
            "arrears_approaching": lambda d: f"blocked from {d['blocked_from']} unless paid",
            "utilisation_high": lambda d: f"{d['utilisation']:.0%} of the line used",
        }[code](details)
    except (KeyError, TypeError, ValueError):
        return code


def _status(status: str) -> str:
    return {"ok": "ok", "watch": "[yellow]watch[/]", "alarm": "[bold red]alarm[/]"}[status]
