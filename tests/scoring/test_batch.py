"""The batch job: one row per eligible firm with the serving model's PD, its inputs and ordered reason codes."""

from __future__ import annotations

import math

import numpy as np
import pytest
from sqlalchemy import func, select

from credit.features.asof import AsOfError
from credit.models import REGISTERED_MODEL
from credit.models.reasons import REASON_CATALOGUE, REASON_CATALOGUE_VERSION, reason_codes, true_of_firm
from credit.models.serving import ServingModel
from credit.scoring.batch import score_all
from credit.scoring.tables import ScoreSnapshot
from credit.store.tables import CreditEvent, Firm
from tests.scoring.conftest import AS_OF, EARLIER


def _rows(engine, as_of=AS_OF, version="1") -> dict[int, ScoreSnapshot]:  # noqa: ANN001
    with engine.connect() as connection:
        rows = connection.execute(select(ScoreSnapshot).where(
            ScoreSnapshot.as_of == as_of, ScoreSnapshot.model_version == version)).all()
    return {row.firm_id: row for row in rows}


def test_every_eligible_firm_gets_exactly_one_row(scored_store) -> None:  # noqa: ANN001
    rows = _rows(scored_store.engine)
    eligible = scored_store.panel["firm_id"].tolist()
    assert scored_store.run.rows == len(rows) == len(eligible) > 150
    assert sorted(rows) == sorted(eligible)
    assert (scored_store.run.model_name, scored_store.run.model_version, scored_store.run.as_of) == (
        REGISTERED_MODEL, "1", AS_OF)
    assert {(row.model_name, row.reason_catalogue_version) for row in rows.values()} == {
        (REGISTERED_MODEL, REASON_CATALOGUE_VERSION)}


def test_firms_registered_later_or_already_in_default_are_not_scored(scored_store) -> None:  # noqa: ANN001
    with scored_store.engine.connect() as connection:
        defaulted = set(connection.execute(select(CreditEvent.firm_id).where(
            func.date(CreditEvent.occurred_at) < AS_OF)).scalars())
        registered_later = set(connection.execute(select(Firm.firm_id).where(
            func.date(Firm.registered_at) >= AS_OF)).scalars())
    assert defaulted, "the simulation should have defaults before the as-of date"
    assert not (defaulted | registered_later) & set(_rows(scored_store.engine))


def test_the_stored_pd_is_the_serving_models_pd_of_the_firms_panel_row(scored_store) -> None:  # noqa: ANN001
    rows, panel, model = _rows(scored_store.engine), scored_store.panel, scored_store.model
    firm = int(panel["firm_id"].iloc[len(panel) // 2])  # one firm by hand
    by_hand = model.predict_pd(panel[panel["firm_id"] == firm])
    assert rows[firm].pd == by_hand[0]
    every = model.predict_pd(panel)
    assert [rows[f].pd for f in panel["firm_id"]] == every.tolist()
    assert 0 < min(every) and max(every) < 1 and len(set(every.tolist())) > len(every) / 2


def test_reason_codes_are_the_catalogues_codes_of_the_models_contributions(scored_store) -> None:  # noqa: ANN001
    rows, panel, model = _rows(scored_store.engine), scored_store.panel, scored_store.model
    expected = reason_codes(model.contributions(panel), top=4, values=panel[model.features])
    assert [rows[f].reason_codes for f in panel["firm_id"]] == expected
    for row in rows.values():
        assert len(row.reason_codes) == len(set(row.reason_codes)) <= 4
        assert set(row.reason_codes) <= set(REASON_CATALOGUE)
    # fewer than four when fewer are true of the firm
    assert any(len(row.reason_codes) == 4 for row in rows.values())


def test_every_stored_reason_is_true_of_its_firm(scored_store) -> None:  # noqa: ANN001
    rows = _rows(scored_store.engine)
    by_firm = scored_store.panel.set_index("firm_id")
    cited = [(firm_id, code) for firm_id, row in rows.items() for code in row.reason_codes]
    assert cited, "the scored marketplace should give some reasons"
    for firm_id, code in cited:
        firm = by_firm.loc[firm_id]
        if code == "R07":  # the catalogue's "under two years"
            assert firm["tenure_days"] < 730, (firm_id, firm["tenure_days"])
        if code == "R14":  # "unverified or a deposit under EUR 1,000"
            assert not firm["verified"] or firm["deposit_minor"] < 100_000, firm_id
        if code == "R01":
            assert firm["debtor_days_past_due"] > 0 or firm["debtor_overdue_value"] > 0, firm_id
    # the model alone would cite codes to firms they are not true of: the rule is exercised here
    panel, model = scored_store.panel, scored_store.model
    alone = reason_codes(model.contributions(panel), top=16)
    values = panel[model.features].astype(object).to_dict("records")
    untrue = {code for codes, row in zip(alone, values) for code in codes if not true_of_firm(code, row)}
    assert untrue, "every code the model ranked was true of its firm: the filter is not exercised"


def test_the_stored_features_are_exactly_the_models_inputs(scored_store) -> None:  # noqa: ANN001
    rows, panel, model = _rows(scored_store.engine), scored_store.panel, scored_store.model
    for position in (0, len(panel) // 2, len(panel) - 1):
        source = panel.iloc[position]
        stored = rows[int(source["firm_id"])].features
        assert list(stored) == model.features
        for name in model.features:
            value = source[name]
            if name in model.categories:
                assert stored[name] == str(value)
            elif isinstance(value, float) and math.isnan(value):
                assert stored[name] is None
            else:
                assert stored[name] == value and isinstance(stored[name], float), name
    assert any(value is None for row in rows.values() for value in row.features.values())


def test_running_the_same_date_and_version_again_replaces_its_rows(scored_store, serving_folders) -> None:  # noqa: ANN001
    before = _rows(scored_store.engine)
    again = score_all(scored_store.engine, serving_folders["1"], AS_OF)
    after = _rows(scored_store.engine)
    assert again.replaced == again.rows == len(before) == len(after)
    assert {f: (r.pd, r.reason_codes) for f, r in after.items()} == {f: (r.pd, r.reason_codes) for f, r in before.items()}
    assert {row.scored_at for row in after.values()} == {again.scored_at}


def test_another_model_version_keeps_its_own_rows_beside_the_first(scored_store, serving_folders) -> None:  # noqa: ANN001
    second = score_all(scored_store.engine, serving_folders["2"], AS_OF)
    first, rows = _rows(scored_store.engine, version="1"), _rows(scored_store.engine, version="2")
    assert second.replaced == 0 and second.rows == len(rows) == len(first)
    model = ServingModel.load(serving_folders["2"])
    assert [rows[f].pd for f in scored_store.panel["firm_id"]] == model.predict_pd(scored_store.panel).tolist()
    assert list(next(iter(rows.values())).features) == model.features != scored_store.model.features


def test_an_earlier_date_adds_a_snapshot_of_that_date(scored_store, serving_folders) -> None:  # noqa: ANN001
    earlier = score_all(scored_store.engine, serving_folders["1"], EARLIER)
    rows = _rows(scored_store.engine, as_of=EARLIER)
    assert earlier.rows == len(rows) > 100 and earlier.replaced == 0
    assert len(_rows(scored_store.engine)) == scored_store.run.rows
    assert np.isclose(earlier.seconds, earlier.feature_seconds + earlier.scoring_seconds + earlier.writing_seconds,
                      atol=0.05)


def test_a_date_outside_the_history_is_refused_and_writes_nothing(scored_store, serving_folders) -> None:  # noqa: ANN001
    with scored_store.engine.connect() as connection:
        before = connection.execute(select(func.count()).select_from(ScoreSnapshot)).scalar_one()
    with pytest.raises(AsOfError):
        score_all(scored_store.engine, serving_folders["1"], AS_OF.replace(year=2030))
    with scored_store.engine.connect() as connection:
        assert connection.execute(select(func.count()).select_from(ScoreSnapshot)).scalar_one() == before
