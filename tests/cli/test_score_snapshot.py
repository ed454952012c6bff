"""`credit score --as-of` on a store with history, with the serving files of a tiny champion."""

from __future__ import annotations

from sqlalchemy import func, select
from typer.testing import CliRunner

from cli import app
from credit.models import REGISTERED_MODEL
from credit.scoring.tables import ScoreSnapshot
from credit.store.engine import make_engine
from tests.api.marketplace import AS_OF, fresh_store_copy, marketplace, months_after  # noqa: F401


def test_score_writes_a_snapshot_for_the_date_and_prints_rows_model_and_seconds(marketplace, tmp_path):  # noqa: F811
    url = fresh_store_copy(marketplace, tmp_path)
    earlier = months_after(AS_OF, -1)
    result = CliRunner().invoke(app, ["score", "--as-of", earlier.isoformat(), "--serving", str(marketplace.serving),
                                      "--database-url", url], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    engine = make_engine(url)
    with engine.connect() as connection:
        rows = connection.execute(select(func.count()).select_from(ScoreSnapshot)
                                  .where(ScoreSnapshot.as_of == earlier)).scalar_one()
    assert rows > 100
    assert f"Scored {rows:,} firms as of {earlier} with {REGISTERED_MODEL} version 1 in " in result.output


def test_score_without_serving_files_says_how_to_export_them(tmp_path):
    result = CliRunner().invoke(app, ["score", "--as-of", "2024-01-01", "--serving", str(tmp_path / "none"),
                                      "--database-url", f"sqlite:///{tmp_path / 's.db'}"], env={"COLUMNS": "200"})
    assert result.exit_code == 2
    assert "credit models export-champion" in result.output
