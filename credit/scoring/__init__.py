"""Scores for the decision service: a batch snapshot of every firm, read and re-scored online.

:func:`score_all` builds every firm's features as of a date from the store, scores them with
an exported PD model and writes the snapshot (:class:`ScoreSnapshot`, table ``firm_scores``);
:func:`latest_score` reads one firm's newest row in one indexed query, and
:func:`score_features` scores stored features with any exported model without pandas, for a
champion newer than the snapshot and for replaying a decision; :func:`score_firm` combines
the two the way a credit decision needs them.

Names are imported on first use: :mod:`credit.store` imports :mod:`credit.scoring.tables` to
register the table, and that must not pull the feature engine (and pandas) into every program
that opens a store.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

_EXPORTS = {
    "ScoringRun": "credit.scoring.batch", "score_all": "credit.scoring.batch",
    "FirmScore": "credit.scoring.online", "latest_score": "credit.scoring.online",
    "score_features": "credit.scoring.online", "score_firm": "credit.scoring.online",
    "ScoreSnapshot": "credit.scoring.tables",
}
__all__ = sorted(_EXPORTS)

if TYPE_CHECKING:
    from credit.scoring.batch import ScoringRun, score_all
    from credit.scoring.online import FirmScore, latest_score, score_features, score_firm
    from credit.scoring.tables import ScoreSnapshot


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'credit.scoring' has no attribute {name!r}")
    return getattr(import_module(_EXPORTS[name]), name)
