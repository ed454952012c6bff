"""``credit features``: list the definitions, build a panel."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Annotated

import typer

from cli.common import DatabaseUrl, console, fail, features_app, open_store, parse_date
from cli.output import print_panel


@features_app.command("list")
def features_list() -> None:
    """Print every feature definition: column names, stream, role, aggregation and meaning."""
    from credit.features.catalog import MARKETPLACE_FEATURES
    from credit.features.domain import DERIVED, DOMAIN_FEATURES
    from credit.features.sources import SOURCES

    console.print("[bold]Declarative features[/] (credit/features/catalog.py): column(s), stream (event time), "
                  "role, aggregation; then the meaning.")
    for feature in MARKETPLACE_FEATURES:
        source = SOURCES[feature.source]
        console.print(f"[cyan]{', '.join(feature.column_names())}[/]  {source.name} ({source.event_time}) · "
                      f"{feature.entity} · {feature.of.describe()}", highlight=False, soft_wrap=True)
        console.print(f"    {feature.description}", highlight=False, soft_wrap=True)
    console.print("\n[bold]Domain features[/] (credit/features/domain.py); <role> is buyer or supplier.")
    for name, meaning in [(d.name, d.description) for d in DERIVED] + DOMAIN_FEATURES:
        console.print(f"[cyan]{name}[/]", highlight=False)
        console.print(f"    {meaning}", highlight=False, soft_wrap=True)
    console.print("\nFirmographics: industry, region, size_band, roles, verified, deposit_minor. "
                  "Label: default_<horizon>m.", highlight=False)


@features_app.command("build")
def features_build(
    as_of: Annotated[list[str] | None, typer.Option("--as-of", help="As-of date YYYY-MM-DD (features see events "
                                                   "strictly before its midnight). Repeatable.")] = None,
    monthly: Annotated[tuple[str, str] | None, typer.Option(
        "--monthly", metavar="FROM TO", help="The first day of every month from FROM to TO (YYYY-MM-DD).")] = None,
    history: Annotated[Path | None, typer.Option(
        help="Folder of Parquet history files (as `credit simulate` writes). Default: read the store.")] = None,
    out: Annotated[Path, typer.Option(help="Folder for panel.parquet and manifest.json.")] = Path("var/features"),
    horizon_months: Annotated[int, typer.Option(help="Label: a credit event within this many months.")] = 12,
    workers: Annotated[int, typer.Option(help="0: build here; N: on a local Dask cluster of N workers, "
                                              "partitioned by firm (the --history folder is first written "
                                              "in firm buckets, under DIR/by_firm/, each task reading its "
                                              "own).", min=0)] = 0,
    database_url: DatabaseUrl = "",
) -> None:
    """Build the feature panel: one row per firm and as-of date, with its default label."""
    dates = [parse_date(text, "--as-of") for text in as_of or []]
    if not dates and not monthly:
        fail("give at least one --as-of date or a --monthly FROM TO range")
    if horizon_months <= 0:
        fail(f"--horizon-months must be a positive number of months; got {horizon_months}")
    from credit.features.asof import AsOfError
    from credit.features.definitions import FeatureDefinitionError
    from credit.features.history import History, HistoryError
    from credit.features.panel import IncompleteWindowWarning, build_panel, write_panel

    if monthly:
        from credit.features.asof import monthly as month_starts

        try:
            dates += month_starts(parse_date(monthly[0], "--monthly"), parse_date(monthly[1], "--monthly"))
        except AsOfError as exc:
            fail(str(exc))
    try:
        source = History.from_parquet(history) if history else History.from_store(open_store(database_url))
        with console.status(f"building features at {len(set(dates))} as-of date(s) from {source.origin}"), \
                warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", IncompleteWindowWarning)
            if workers:
                from credit.features.distributed import build_panel_dask

                panel = build_panel_dask(source, dates, workers=workers, horizon_months=horizon_months)
            else:
                panel = build_panel(source, dates, horizon_months=horizon_months)
    except (AsOfError, FeatureDefinitionError, HistoryError) as exc:
        fail(str(exc))
    for warning in caught:
        if issubclass(warning.category, IncompleteWindowWarning):
            console.print(f"[yellow]Warning:[/] {warning.message}", highlight=False, soft_wrap=True)
        else:
            warnings.warn_explicit(warning.message, warning.category, warning.filename, warning.lineno)
    data, meta = write_panel(panel, out)
    print_panel(panel, data, meta)


