"""The online path: a firm's latest snapshot in one indexed query, and stored features re-scored exactly."""

from __future__ import annotations

import pandas as pd
import pytest
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from credit.models.reasons import reason_codes
from credit.models.serving import ServingModel
from credit.scoring.batch import score_all
from credit.scoring.online import FirmScore, latest_score, score_features, score_firm
from credit.scoring.tables import ScoreSnapshot
from tests.scoring.conftest import AS_OF, EARLIER


def _stored(engine, version="1") -> list[ScoreSnapshot]:  # noqa: ANN001
    with engine.connect() as connection:
        return list(connection.execute(select(ScoreSnapshot).where(
            ScoreSnapshot.as_of == AS_OF, ScoreSnapshot.model_version == version)).all())


def test_latest_score_returns_the_newest_as_of_even_when_an_older_date_was_scored_last(
        scored_store, serving_folders) -> None:  # noqa: ANN001
    score_all(scored_store.engine, serving_folders["1"], EARLIER)
    firm = int(scored_store.panel["firm_id"].iloc[0])
    with Session(scored_store.engine) as session:
        score = latest_score(session, firm)
    assert isinstance(score, FirmScore)
    assert (score.firm_id, score.as_of) == (firm, AS_OF)
    stored = next(row for row in _stored(scored_store.engine, score.model_version) if row.firm_id == firm)
    assert (score.pd, score.reason_codes, score.features, score.scored_at) == (
        stored.pd, stored.reason_codes, stored.features, stored.scored_at)


def test_latest_score_prefers_the_latest_run_on_the_same_date(scored_store, serving_folders) -> None:  # noqa: ANN001
    second = score_all(scored_store.engine, serving_folders["2"], AS_OF)
    firm = int(scored_store.panel["firm_id"].iloc[-1])
    with Session(scored_store.engine) as session:
        score = latest_score(session, firm)
    assert (score.as_of, score.model_version, score.scored_at) == (AS_OF, "2", second.scored_at)


def test_latest_score_of_a_firm_never_scored_is_none(scored_store) -> None:  # noqa: ANN001
    with Session(scored_store.engine) as session:
        assert latest_score(session, 10**12) is None


def test_latest_score_is_read_through_its_index(scored_store) -> None:  # noqa: ANN001
    from credit.scoring.online import _LATEST

    firm = int(scored_store.panel["firm_id"].iloc[0])
    with scored_store.engine.connect() as connection:
        sql = str(_LATEST.params(firm_id=firm).compile(connection, compile_kwargs={"literal_binds": True}))
        assert f"firm_id = {firm}" in sql
        if connection.dialect.name == "sqlite":
            plan = " ".join(row[-1] for row in connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}"))
            assert "USING INDEX ix_firm_scores_latest" in plan and "TEMP B-TREE" not in plan, plan
        else:
            connection.exec_driver_sql("SET LOCAL enable_seqscan = off")  # a tiny table would be scanned anyway
            plan = " ".join(row[0] for row in connection.exec_driver_sql(f"EXPLAIN {sql}"))
            assert "ix_firm_scores_latest" in plan and "Sort" not in plan, plan


def test_score_features_reproduces_every_stored_pd_and_reason_exactly(scored_store) -> None:  # noqa: ANN001
    rows = _stored(scored_store.engine)
    rescored = [score_features(scored_store.model, row.features) for row in rows]
    assert [pd_ for pd_, _ in rescored] == [row.pd for row in rows]
    assert [codes for _, codes in rescored] == [row.reason_codes for row in rows]


def test_a_new_champion_scores_the_stored_features_like_its_own_batch(scored_store, serving_folders) -> None:  # noqa: ANN001
    champion = ServingModel.load(serving_folders["2"])
    rows = _stored(scored_store.engine, version="1")
    panel = scored_store.panel.set_index("firm_id").loc[[row.firm_id for row in rows]]
    rescored = [score_features(champion, row.features) for row in rows]
    assert [pd_ for pd_, _ in rescored] == champion.predict_pd(panel).tolist()
    assert [codes for _, codes in rescored] == reason_codes(champion.contributions(panel), top=4,
                                                            values=panel[champion.features])


def test_missing_values_and_an_unknown_category_score_like_predict_pd(scored_store) -> None:  # noqa: ANN001
    model = scored_store.model
    features = dict(_stored(scored_store.engine)[0].features)
    features.update({"region": "atlantis", model.features[-1]: None, "industry": None})
    frame = pd.DataFrame([features]).astype({name: float for name in model.features if name not in model.categories})
    pd_, codes = score_features(model, features)
    assert pd_ == model.predict_pd(frame)[0]
    assert codes == reason_codes(model.contributions(frame), top=4, values=frame)[0]


def test_fewer_reasons_on_request(scored_store) -> None:  # noqa: ANN001
    row = next(row for row in _stored(scored_store.engine) if len(row.reason_codes) == 4)
    assert score_features(scored_store.model, row.features, top=2) == (row.pd, row.reason_codes[:2])
    with pytest.raises(ValueError, match="`top` must be an integer >= 1"):
        score_features(scored_store.model, row.features, top=0)


def test_features_stored_for_another_feature_set_are_refused(scored_store) -> None:  # noqa: ANN001
    features = dict(_stored(scored_store.engine)[0].features)
    del features[scored_store.model.features[3]]
    with pytest.raises(ValueError, match=f"lack 1 of the model's: \\['{scored_store.model.features[3]}'\\]"):
        score_features(scored_store.model, features)


def test_score_firm_returns_the_snapshot_of_its_own_model_and_re_scores_another_models(
        scored_store, serving_folders) -> None:  # noqa: ANN001
    score_all(scored_store.engine, serving_folders["1"], AS_OF)  # version 1 wrote the latest rows
    first, second = (ServingModel.load(serving_folders[version]) for version in ("1", "2"))
    firm = int(scored_store.panel["firm_id"].iloc[1])
    with Session(scored_store.engine) as session:
        latest = latest_score(session, firm)
        assert latest.model_version == "1" and score_firm(session, first, firm) == latest
        rescored = score_firm(session, second, firm)
        assert score_firm(session, second, 10**12) is None
    assert (rescored.model_version, rescored.as_of, rescored.features) == ("2", AS_OF, latest.features)
    assert (rescored.pd, rescored.reason_codes) == score_features(second, latest.features)


def test_score_firm_refuses_a_snapshot_that_lacks_the_models_features(scored_store, serving_folders) -> None:  # noqa: ANN001
    score_all(scored_store.engine, serving_folders["2"], AS_OF)  # version 2 (half the features) wrote the latest
    firm = int(scored_store.panel["firm_id"].iloc[1])
    with Session(scored_store.engine) as session, pytest.raises(ValueError, match="stored for another model's inputs"):
        score_firm(session, ServingModel.load(serving_folders["1"]), firm)
