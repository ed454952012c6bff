"""Scores inside a request: a firm's latest snapshot, and re-scoring stored features with any model.

The decision service does not rebuild point-in-time features per request; the batch job
(:func:`credit.scoring.batch.score_all`) stores them. A request reads the firm's newest row
(:func:`latest_score`, one indexed query) and, when the champion it serves is not the model
version that wrote that row, scores the stored features itself (:func:`score_features`). A
replayed decision does the same with the features it recorded.

:func:`score_features` gives exactly the PD and reason codes of the batch job and of
:meth:`ServingModel.predict_pd` for the same inputs, but skips pandas: it builds one NumPy
row in the booster's feature order, with each category replaced by its position in the
training categories (how LightGBM codes a pandas categorical), and predicts single-threaded,
which for one row is many times faster than starting OpenMP's threads.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Any

import numpy as np
from sqlalchemy import Connection, bindparam, select
from sqlalchemy.orm import Session

from credit.models.reasons import REASON_CATALOGUE_VERSION, feature_reason_codes, true_of_firm
from credit.models.serving import ServingModel, calibrate
from credit.scoring.batch import REASONS_PER_SCORE
from credit.scoring.tables import ScoreSnapshot
from credit.store.prepared import PreparedStatement


@dataclass(frozen=True)
class FirmScore:
    """A firm's stored score: what the batch job computed as of ``as_of`` under one model version."""

    firm_id: int
    as_of: date
    model_name: str
    model_version: str
    pd: float
    reason_codes: list[str]
    features: dict[str, Any]
    reason_catalogue_version: int
    scored_at: datetime


_SCORES = ScoreSnapshot.__table__
_LATEST = (  # on the table, not the ORM class: a plain Core row, no ORM result machinery per request
    select(_SCORES.c.firm_id, _SCORES.c.as_of, _SCORES.c.model_name, _SCORES.c.model_version, _SCORES.c.pd,
           _SCORES.c.reason_codes, _SCORES.c.features, _SCORES.c.reason_catalogue_version, _SCORES.c.scored_at)
    .where(_SCORES.c.firm_id == bindparam("firm_id"))
    .order_by(_SCORES.c.as_of.desc(), _SCORES.c.scored_at.desc(), _SCORES.c.score_id.desc())
    .limit(1)
)
_LATEST_ROW = PreparedStatement(_LATEST)  # run on the driver's cursor: every checkout reads it


def latest_score(session: Session | Connection, firm_id: int) -> FirmScore | None:
    """The firm's newest snapshot row: latest as-of date, then the latest run on that date.

    One query on the index ``ix_firm_scores_latest``. The row may come from a model version
    other than the current champion's; compare ``model_version`` and re-score with
    :func:`score_features` when it matters.

    Returns
    -------
    FirmScore or None
        None when the firm was never scored (unknown, registered after the last batch, or
        already in default at every batch date).
    """
    row = _LATEST_ROW.first(session, {"firm_id": firm_id})
    return None if row is None else FirmScore(*row)


def score_firm(session: Session | Connection, model: ServingModel, firm_id: int) -> FirmScore | None:
    """The firm's score under ``model``: its latest snapshot, re-scored when another model wrote it.

    What a credit decision needs. When the snapshot's model is ``model`` (the usual case) the
    stored PD and reasons are returned as they are, at the cost of :func:`latest_score`;
    after a champion change, the stored features are scored with ``model``
    (:func:`score_features`) and the result names ``model``'s version.

    Returns
    -------
    FirmScore or None
        None when the firm has no snapshot.

    Raises
    ------
    ValueError
        If the snapshot lacks a feature of ``model`` (the batch must run again under it).
    """
    latest = latest_score(session, firm_id)
    if latest is None or (latest.model_name, latest.model_version) == (model.name, model.version):
        return latest
    pd_, codes = score_features(model, latest.features)
    return replace(latest, model_name=model.name, model_version=model.version, pd=pd_, reason_codes=codes,
                   reason_catalogue_version=REASON_CATALOGUE_VERSION)


def score_features(model: ServingModel, features: Mapping[str, Any],
                   top: int = REASONS_PER_SCORE) -> tuple[float, list[str]]:
    """PD and ordered reason codes of one firm from its feature values, without pandas.

    Parameters
    ----------
    model
        Any exported model; the features may have been stored under another version.
    features
        Feature name -> value as stored in ``firm_scores.features`` (numbers, null for
        missing, category labels as text); names the model does not use are ignored.
    top
        Most reason codes.

    Returns
    -------
    pd, reason_codes
        The calibrated PD, equal to :meth:`ServingModel.predict_pd` on the same values, and
        the codes :func:`credit.models.reasons.reason_codes` gives for the row's contributions
        and values (only codes true of the firm).

    Raises
    ------
    ValueError
        If a model feature is missing from ``features`` (a snapshot of another feature set),
        or ``top`` is below 1.
    """
    return _row_scorer(model).score(features, top)


class _RowScorer:
    """A model's feature order, category codes and reason-code groups, prepared once."""

    def __init__(self, model: ServingModel) -> None:
        self.model = model
        self.features = list(model.features)
        position = {name: i for i, name in enumerate(self.features)}
        categorical = [name for name in self.features if name in model.categories]
        self.category_codes = [(position[name], {str(value): float(code) for code, value in
                                                 enumerate(model.categories[name])}) for name in categorical]
        # predict_pd codes categories through the booster's own copy (LightGBM's pandas_categorical)
        booster_categories = getattr(model.booster, "pandas_categorical", None)
        if booster_categories and booster_categories != [model.categories[name] for name in categorical]:
            raise ValueError("features.json and the booster disagree on the categories of "
                             f"{categorical}; re-export the model.")
        self.calibrator = {key: np.asarray(value) if isinstance(value, list) else value
                           for key, value in model.calibrator.items()}
        # the order credit.models.reasons sums in: codes in order, each code's features by name
        codes = feature_reason_codes(self.features)
        self.reason_groups: list[tuple[str, list[int]]] = []
        for name in sorted(self.features, key=lambda name: (codes[name], name)):
            if not self.reason_groups or self.reason_groups[-1][0] != codes[name]:
                self.reason_groups.append((codes[name], []))
            self.reason_groups[-1][1].append(position[name])

    def score(self, features: Mapping[str, Any], top: int) -> tuple[float, list[str]]:
        if isinstance(top, bool) or not isinstance(top, int) or top < 1:
            raise ValueError(f"`top` must be an integer >= 1; got {top!r}.")
        try:
            values = [features[name] for name in self.features]
        except KeyError:
            missing = [name for name in self.features if name not in features]
            raise ValueError(f"the features lack {len(missing)} of the model's: {missing[:5]}; they were "
                             f"stored for another model's inputs: score the firms again (score_all) with "
                             f"{self.model.name} version {self.model.version}.") from None
        for i, codes in self.category_codes:
            values[i] = None if values[i] is None else codes.get(str(values[i]))  # unknown -> missing
        row = np.array(values, dtype=np.float64).reshape(1, -1)
        booster = self.model.booster
        pd_ = float(calibrate(self.calibrator, booster.predict(row, num_threads=1))[0])
        contributions = booster.predict(row, pred_contrib=True, num_threads=1)[0].tolist()
        totals = []
        for _, positions in self.reason_groups:
            total = 0.0
            for i in positions:
                total += contributions[i]
            totals.append(total)
        ranked = sorted(range(len(totals)), key=lambda j: -totals[j])  # stable: ties stay in code order
        # what is true of the firm is read from the model's inputs only, as the batch reads them
        inputs = {name: features[name] for name in self.features}
        cited = [self.reason_groups[j][0] for j in ranked if totals[j] > 0]
        return pd_, [code for code in cited if true_of_firm(code, inputs)][:top]


_PREPARED: dict[int, _RowScorer] = {}
_PREPARED_MODELS = 4  # a champion, a challenger and the ones they replace


def _row_scorer(model: ServingModel) -> _RowScorer:
    scorer = _PREPARED.get(id(model))
    if scorer is None or scorer.model is not model:  # the scorer holds the model, so its id is not reused
        scorer = _RowScorer(model)
        if len(_PREPARED) >= _PREPARED_MODELS:
            _PREPARED.pop(next(iter(_PREPARED)))
        _PREPARED[id(model)] = scorer
    return scorer
