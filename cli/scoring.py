"""Scoring commands: the batch score snapshot, and the champion's serving files it (and the API) scores with."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from cli.common import DatabaseUrl, app, console, fail, open_store, parse_date

models_app = typer.Typer(help="Registered PD models: export the champion's serving files.", no_args_is_help=True)
app.add_typer(models_app, name="models")

ServingOption = Annotated[Path | None, typer.Option(
    "--serving", help="The champion's serving files (credit models export-champion). Default: the settings' "
    "serving folder, var/serving (CREDIT_SERVING_FOLDER).", show_default=False)]


@app.command()
def score(
    as_of: Annotated[str, typer.Option("--as-of", help="Features use only events before this date (YYYY-MM-DD).")],
    serving: ServingOption = None,
    database_url: DatabaseUrl = "",
) -> None:
    """Score every eligible firm as of a date with the champion and store the snapshot the API decides on."""
    from credit.features.asof import AsOfError
    from credit.scoring import score_all
    from credit.settings import Settings

    day = parse_date(as_of, "--as-of")
    folder = serving or Settings().resolved_serving_folder()
    if not folder.is_dir():
        fail(f"no serving files at {folder}: run `credit models export-champion --out {folder}` first.")
    engine = open_store(database_url)
    try:
        with console.status(f"scoring every firm as of {day}"):
            run = score_all(engine, folder, day)
    except (AsOfError, ValueError, OSError) as exc:
        fail(str(exc))
    console.print(f"Scored {run.rows:,} firms as of {run.as_of} with {run.model_name} version {run.model_version} "
                  f"in {run.seconds:.1f} s (features {run.feature_seconds:.1f} s, scoring {run.scoring_seconds:.1f} s, "
                  f"writing {run.writing_seconds:.1f} s); replaced {run.replaced:,} rows of an earlier run.",
                  highlight=False)


@models_app.command("export-champion")
def export_champion(
    out: Annotated[Path, typer.Option("--out", help="Folder for the serving files (model.lgb, calibrator.json, "
                                      "features.json, version.json).")] = Path("var/serving"),
    name: Annotated[str, typer.Option(help="Registered model name.")] = "credit_pd",
    alias: Annotated[str, typer.Option(help="Alias to export.")] = "champion",
    tracking_uri: Annotated[str, typer.Option(
        "--tracking-uri", envvar="CREDIT_TRACKING_URI", show_default=False,
        help="MLflow tracking and registry URI. Default: the SQLite file var/mlflow.db.")] = "",
) -> None:
    """Write the champion's serving files, which `credit score` and the API load (no MLflow at serving time)."""
    from cli.models import use_tracking
    from credit.models.registry import ModelNotFoundError, export_serving_files, resolve_alias

    use_tracking(tracking_uri)
    try:
        version = resolve_alias(name, alias)
        folder = export_serving_files(name, alias, out)
    except ModelNotFoundError as exc:
        fail(str(exc))
    console.print(f"Exported {name} version {version.version} ({alias}) to {folder}. Restart the API to serve it, "
                  "and re-run `credit score` so the snapshot is this version's.", highlight=False)
