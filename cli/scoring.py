"""``credit score``: the batch score snapshot the API decides on, scored with the champion's serving files."""

from __future__ import annotations

from contextlib import ExitStack
from typing import Annotated

import typer

from cli.common import DatabaseUrl, ServingOption, app, console, fail, open_store, parse_date


@app.command()
def score(
    as_of: Annotated[str, typer.Option("--as-of", help="Features use only events before this date (YYYY-MM-DD).")],
    serving: ServingOption = None,
    workers: Annotated[int, typer.Option(help="0: score here; N: score on a local Dask cluster of N workers, the "
                                              "firms partitioned by firm id (the same rows).", min=0)] = 0,
    database_url: DatabaseUrl = "",
) -> None:
    """Score every eligible firm as of a date with the champion and store the snapshot the API decides on."""
    from credit.settings import Settings

    day = parse_date(as_of, "--as-of")
    folder = serving or Settings().resolved_serving_folder()
    if not folder.is_dir():
        fail(f"no serving files at {folder}: run `credit models export-champion --out {folder}` first.")
    from credit.features.asof import AsOfError
    from credit.scoring import score_all

    engine = open_store(database_url)
    try:
        with console.status(f"scoring every firm as of {day}"), ExitStack() as stack:
            client = None
            if workers:
                from credit.models.distributed import local_cluster

                client = stack.enter_context(local_cluster(workers))
            run = score_all(engine, folder, day, client=client)
    except (AsOfError, ValueError, OSError) as exc:
        fail(str(exc))
    console.print(f"Scored {run.rows:,} firms as of {run.as_of} with {run.model_name} version {run.model_version} "
                  f"in {run.seconds:.1f} s (features {run.feature_seconds:.1f} s, scoring {run.scoring_seconds:.1f} s, "
                  f"writing {run.writing_seconds:.1f} s); replaced {run.replaced:,} rows of an earlier run.",
                  highlight=False)
