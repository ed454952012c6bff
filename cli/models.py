"""Model commands: train, evaluate, promote and retrain the PD model, tracked in MLflow; export the champion."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from cli.common import DatabaseUrl, ServingOption, TrackingOption, app, console, fail, open_store, parse_date, use_tracking
from cli.output import print_judgement, print_run, print_serving, print_summary, print_windows
from credit import clock
from credit.models import CHALLENGER, CHAMPION, REGISTERED_MODEL

models_app = typer.Typer(help="Registered PD models: export the champion's serving files.", no_args_is_help=True)
app.add_typer(models_app, name="models")


ConfigOption = Annotated[Path | None, typer.Option(
    "--config", help="Model configuration TOML (hyper-parameters, windows, tuning, promotion gate); "
    "keys left out keep the defaults of credit/models/model.toml.", show_default=False)]
PanelOption = Annotated[Path | None, typer.Option(
    "--panel", help="Feature panel folder (panel.parquet + manifest.json from `credit features build`).",
    show_default=False)]
TruthOption = Annotated[Path | None, typer.Option(
    "--truth", help="Simulated data only: the simulator's truth folder, to report the oracle AUC beside the models.",
    show_default=False)]
ReportOption = Annotated[Path | None, typer.Option(
    "--report", help="Where to write the HTML report. Default: var/reports/<job>-<time>.html.", show_default=False)]


@app.command()
def train(
    panel: PanelOption = None,
    table: Annotated[Path | None, typer.Option(
        "--table", help="Instead of a panel: any labelled CSV/Parquet table.", show_default=False)] = None,
    target: Annotated[str | None, typer.Option(help="--table only: the 0/1 target column.", show_default=False)] = None,
    time_col: Annotated[str | None, typer.Option(
        "--time-col", help="--table only: a date column for out-of-time windows; without it, stratified "
        "cross-validation.", show_default=False)] = None,
    id_col: Annotated[str | None, typer.Option(
        "--id-col", help="--table only: a unique row id (not a feature). Columns with a different text, or a "
        "dense or id-named whole number, in every row are left out as id-like anyway, and said so.",
        show_default=False)] = None,
    bad: Annotated[str | None, typer.Option(
        "--bad", help="--table only: the target value that marks a default, for any coding (Y, 2, bad, ...); the "
        "target must then hold two values. Without it: 0/1, true/false or yes/no (1, true, yes = default).",
        show_default=False)] = None,
    sep: Annotated[str | None, typer.Option(
        "--sep", help="--table only: the CSV's separator: ',' ';' '|' or tab (write tab). Default: sniffed from "
        "the first 64 KB among these.", show_default=False)] = None,
    scale: Annotated[str | None, typer.Option(
        "--scale", help="--table only: the report's grades as PD upper bounds, e.g. 0.02,0.05,0.1 (grades A to D, "
        "the last up to 1). Default: 7 grades A to G at the quantiles of the evaluated PDs of every candidate "
        "pooled; never the marketplace's master scale.", show_default=False)] = None,
    config: ConfigOption = None,
    truth: TruthOption = None,
    tune: Annotated[bool, typer.Option("--tune", help="--panel only: search LightGBM's hyper-parameters with Optuna first "
                                                     "(\\[tuning] of the configuration); every trial is logged. With "
                                                     "--table LightGBM is always tuned.")] = False,
    report: ReportOption = None,
    workers: Annotated[int, typer.Option(help="--panel only. 0: train here; N: train the LightGBM PD model on a local "
                                              "Dask cluster of N workers, the panel partitioned by firm (same "
                                              "configuration, rounds and calibration).", min=0)] = 0,
    tracking_uri: TrackingOption = "",
) -> None:
    """Train the PD model, the scorecard and a logistic baseline out of time; report, log and register.

    With --panel, the LightGBM PD model is registered in MLflow as a new version of credit_pd
    under the alias `challenger`; `credit promote` makes it the champion if it passes the gate.
    With --table, LightGBM is tuned, and the champion, the blend of LightGBM, the scorecard and
    the logistic regression unless one of them beats it beyond noise on inner folds, is
    registered as <file stem>_pd.
    """
    if (panel is None) == (table is None):
        fail("give either --panel FOLDER (a feature panel) or --table FILE --target COLUMN (a labelled table)")
    if table is None and (target or time_col or id_col or bad or sep or scale):
        fail("--target, --time-col, --id-col, --bad, --sep and --scale go with --table, not with --panel")
    if table is not None and workers:
        fail("--workers trains a panel's PD model on Dask; a --table trains here")
    separator, grade_scale = _separator(sep), _scale(scale)
    # Every argument is checked before MLflow, pandas or LightGBM are imported (seconds and
    # hundreds of MB): a mistyped option or file name is answered at once.
    if table is not None:
        if not target:
            fail("--table needs --target COLUMN: the 0/1 outcome to learn")
        if tune:
            fail("--tune searches on a panel's validation window; with --table, LightGBM is always tuned "
                 "([tuning] table_trials of the configuration)")
        if not table.is_file():
            fail(f"--table {table}: no such file")
    settings = _config(config)
    report = report or _default_report("train")
    if table is not None:
        _train_table(table, target, time_col, id_col, settings, report, tracking_uri, bad=bad, separator=separator,
                     scale=grade_scale)
        return
    data = _observed_panel(panel, settings)
    use_tracking(tracking_uri)
    from pipelines.train_pd import train_pd

    try:
        with console.status(f"training on {len(data.frame):,} labelled rows of {panel}"):
            outcome = train_pd(data, settings, report_path=report, truth=_truth(truth), tune=tune,
                               dask_workers=workers)
    except (ValueError, OSError) as exc:
        fail(str(exc))
    print_windows(outcome.windows)
    print_summary(outcome.summary)
    if outcome.tuned_params:
        console.print(f"Tuned LightGBM parameters: {outcome.tuned_params}", highlight=False)
    console.print(f"Registered {outcome.registered.name} version {outcome.registered.version} as challenger "
                  f"(run {outcome.run_id}). Report: {outcome.report_path}", highlight=False)
    console.print("Make it the champion if it passes the promotion gate: credit promote --panel "
                  f"{panel}", highlight=False)


@app.command()
def evaluate(
    panel: PanelOption = None,
    version: Annotated[list[str] | None, typer.Option(
        "--version", help="A registered version of credit_pd, or an alias (champion, challenger). Repeatable. "
        "Default: the champion and the challenger.", show_default=False)] = None,
    config: ConfigOption = None,
    truth: TruthOption = None,
    report: ReportOption = None,
    tracking_uri: TrackingOption = "",
) -> None:
    """Score registered PD models on the panel's latest out-of-time window, side by side, with an HTML report."""
    if panel is None:
        fail("give --panel FOLDER: the feature panel to evaluate on")
    settings = _config(config)
    report = report or _default_report("evaluate")
    data = _observed_panel(panel, settings)
    use_tracking(tracking_uri)
    from credit.models.registry import ModelNotFoundError, resolve_alias
    from pipelines.train_pd import evaluate_versions

    wanted = version or [CHAMPION, CHALLENGER]
    versions = {}
    try:
        for name in wanted:
            number = name if name.isdigit() else resolve_alias(REGISTERED_MODEL, name).version
            versions[f"v{number}" if name.isdigit() else f"{name} (v{number})"] = number
        with console.status(f"scoring {len(versions)} model(s) on {panel}"):
            result = evaluate_versions(data, settings, versions, report_path=report, truth=_truth(truth))
    except (ModelNotFoundError, ValueError, OSError) as exc:
        fail(str(exc))
    print_summary(result.summary)
    console.print(f"Report: {report}", highlight=False)


@app.command()
def promote(
    panel: PanelOption = None,
    version: Annotated[str | None, typer.Option(
        "--version", help="The version to promote. Default: the one under the alias challenger.",
        show_default=False)] = None,
    config: ConfigOption = None,
    tracking_uri: TrackingOption = "",
) -> None:
    """Make the challenger the champion if it beats it on the panel's latest window and is calibrated.

    Exit code 1 when the gate refuses; the reasons are printed and logged in the challenger's run.
    """
    if panel is None:
        fail("give --panel FOLDER: the feature panel whose latest window the gate compares on")
    settings = _config(config)
    data = _observed_panel(panel, settings)
    use_tracking(tracking_uri)
    from credit.models.registry import ModelNotFoundError
    from pipelines.train_pd import apply_judgement, judge_challenger

    try:
        judgement = judge_challenger(data, settings, version)
    except (ModelNotFoundError, ValueError, OSError) as exc:
        fail(str(exc))
    apply_judgement(judgement)
    print_judgement(judgement)
    if not judgement.decision.promote:
        raise typer.Exit(1)


@app.command()
def retrain(
    as_of: Annotated[str, typer.Option(
        "--as-of", help="The month end retrained for (YYYY-MM-DD): the history as it stood at that date's midnight "
        "trains the model, and a promoted champion scores every firm as of it. Default: today, by the clock.",
        show_default=False)] = "",
    history: Annotated[Path | None, typer.Option(
        help="Folder of Parquet history files to train on. Default: the store's history.", show_default=False)] = None,
    workdir: Annotated[Path, typer.Option(help="Where the rebuilt panel and the report go.")] = Path("var/retrain"),
    config: ConfigOption = None,
    truth: TruthOption = None,
    serving: ServingOption = None,
    tracking_uri: TrackingOption = "",
    database_url: DatabaseUrl = "",
) -> None:
    """The month end in one command: retrain, promote only a better model, export it, re-score the firms, monitor.

    Rebuilds the monthly panel from the history up to --as-of, trains a challenger and runs
    the promotion gate against the champion. When the gate promotes, the new champion's
    serving files are exported to the serving folder and every firm of the store is scored
    as of --as-of with it (as `credit models export-champion` and `credit score` would); a
    running `credit serve` on the same serving folder picks the new champion up within
    CREDIT_SERVING_CHECK_SECONDS (5 s), without a restart. When it does not promote, nothing
    served changes and the exit code is 1; the reasons are printed and logged. The champion
    is then monitored on the new panel (as `credit monitor`) and the run stored in the store.
    The store, the serving folder and MLflow are the ones `credit serve` uses (CREDIT_DATABASE_URL,
    CREDIT_SERVING_FOLDER, CREDIT_TRACKING_URI).
    """
    day = parse_date(as_of, "--as-of") if as_of else clock.today()
    if day > clock.today():
        fail(f"--as-of {day} is after today ({clock.today()}): a month end is retrained for once it has passed")
    settings = _config(config)
    use_tracking(tracking_uri)
    from credit.settings import Settings

    service = Settings()
    folder = serving or service.resolved_serving_folder()
    from credit.features.history import History, HistoryError
    from pipelines.retrain import retrain as run_retrain
    from credit.features.panel import PanelError

    try:
        engine = open_store(database_url)
        source = History.from_parquet(history) if history else History.from_store(engine)
        with console.status(f"rebuilding the monthly panel as of {day} from {source.origin}"):
            outcome = run_retrain(source, settings, workdir, as_of=day, truth=_truth(truth), engine=engine,
                                  serving=folder)
    except (HistoryError, PanelError, ValueError, OSError) as exc:
        fail(str(exc))
    console.print(f"Panel: {outcome.panel_folder} (as-of {outcome.as_of[0]} to {outcome.as_of[-1]})", highlight=False)
    print_windows(outcome.training.windows)
    print_summary(outcome.training.summary)
    console.print(f"Challenger: version {outcome.training.registered.version}. Report: {outcome.training.report_path}",
                  highlight=False)
    print_judgement(outcome.judgement)
    print_serving(outcome, day, folder, service.serving_check_seconds)
    if outcome.monitoring is not None:
        print_run(outcome.monitoring)
    else:
        console.print(f"Monitoring: {outcome.monitoring_note}", highlight=False)
    if not outcome.judgement.decision.promote:
        raise typer.Exit(1)


@models_app.command("export-champion")
def export_champion(
    out: Annotated[Path, typer.Option("--out", help="Folder for the serving files (model.lgb, calibrator.json, "
                                      "features.json, version.json).")] = Path("var/serving"),
    name: Annotated[str, typer.Option(help="Registered model name.")] = REGISTERED_MODEL,
    alias: Annotated[str, typer.Option(help="Alias to export.")] = CHAMPION,
    tracking_uri: TrackingOption = "",
) -> None:
    """Write the champion's serving files, which `credit score` and the API load (no MLflow at serving time).

    A running service serving from --out loads them within CREDIT_SERVING_CHECK_SECONDS (5 s).
    """
    from credit.models.registry import ModelNotFoundError, NotServableError, export_serving_files, resolve_alias
    from credit.settings import Settings

    use_tracking(tracking_uri)
    try:
        version = resolve_alias(name, alias)
        folder = export_serving_files(name, alias, out)
    except (ModelNotFoundError, NotServableError) as exc:
        fail(str(exc))
    console.print(f"Exported {name} version {version.version} ({alias}) to {folder}. A service serving from this "
                  f"folder picks it up within {Settings().serving_check_seconds:g} s, no restart needed; run "
                  "`credit score --as-of DATE` so the stored scores are this version's (`credit retrain` does both).",
                  highlight=False)


def _train_table(path: Path, target: str, time_col: str | None, id_col: str | None, settings,  # noqa: ANN001
                 report: Path, tracking_uri: str, *, bad: str | None, separator: str | None,
                 scale) -> None:  # noqa: ANN001
    from credit.models.tables import TableError, read_labelled_table

    try:
        table = read_labelled_table(path, target, id_column=id_col, time_column=time_col, bad_value=bad,
                                    separator=separator)
    except (TableError, OSError) as exc:
        fail(str(exc))
    checks = table.checks()
    if checks:  # before training, which takes a while: a leaking or misread column is seen at once
        console.print(f"Data checks on {path}:", highlight=False, markup=False, soft_wrap=True)
        for line in checks:
            console.print(f"  {line}", highlight=False, markup=False, soft_wrap=True)
    # MLflow and the trainers only for a table that can be trained on: a wrong column is answered quickly
    use_tracking(tracking_uri)
    from credit.models.table_training import champion_reason
    from pipelines.train_table import train_table

    try:
        with console.status(f"training on {len(table.target):,} rows of {path}"):
            outcome = train_table(table, settings, source=path, report_path=report, scale=scale)
    except (ValueError, OSError) as exc:
        fail(str(exc))
    console.print(f"Validation: {outcome.validation}", highlight=False)
    print_summary(outcome.summary, "Test window" if outcome.out_of_time else "Out-of-fold PDs of every row")
    if len(outcome.fold_auc) and outcome.fold_auc["folds"].max() > 1:
        console.print("AUC over the folds (mean ± sd): " + "; ".join(
            f"{row.model} {row.auc_mean:.3f} ± {row.auc_std:.3f}" for row in outcome.fold_auc.itertuples()),
            highlight=False)
    inner = outcome.inner_auc.set_index("model")
    reason = champion_reason(outcome.champion, inner["inner_auc"].to_dict(), inner["margin_low"].dropna().to_dict(),
                             "the training rows")
    console.print(f"Champion: {reason}.", highlight=False)
    console.print(f"Registered {outcome.registered.name} version {outcome.registered.version} ({outcome.champion}) "
                  f"as challenger (run {outcome.run_id}). Report: {outcome.report_path}", highlight=False)


def _separator(text: str | None) -> str | None:
    """--sep as the character it names; refused by name when it is not one the reader takes."""
    if text is None:
        return None
    separator = {"tab": "\t", "\\t": "\t"}.get(text.lower(), text)
    if separator not in {",", ";", "|", "\t"}:
        fail(f"--sep {text!r}: give one of , ; | or tab")
    return separator


def _scale(text: str | None):  # noqa: ANN202
    if text is None:
        return None
    from credit.models.table_grades import parse_scale

    try:
        return parse_scale(text)
    except ValueError as exc:
        fail(str(exc))


def _observed_panel(folder: Path, settings):  # noqa: ANN001, ANN202
    """The panel's labelled rows, read before MLflow is imported: a wrong --panel is answered at once."""
    from credit.features.panel import PanelError, read_panel

    try:
        return read_panel(folder, settings.training.label).observed()
    except (PanelError, ValueError, OSError) as exc:
        fail(str(exc))


def _truth(folder: Path | None) -> Path | None:
    """The simulator's truth folder, refused by name when it holds no truth."""
    if folder is not None and not (folder / "firm_month.parquet").is_file():
        fail(f"--truth {folder}: no simulator truth there (firm_month.parquet is missing); give the truth folder "
             "that `credit simulate --out OUT` wrote, OUT/truth")
    return folder


def _config(path: Path | None):  # noqa: ANN202
    from credit.models.config import ConfigError, load_model_config

    try:
        return load_model_config(path)
    except ConfigError as exc:
        fail(str(exc))


def _default_report(job: str) -> Path:
    folder = Path("var/reports")
    folder.mkdir(parents=True, exist_ok=True)
    return folder / f"{job}-{clock.now():%Y%m%d-%H%M%S}.html"
