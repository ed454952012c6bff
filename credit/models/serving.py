"""Score with an exported PD model using LightGBM and NumPy only: no MLflow, no scikit-learn.

:func:`credit.models.registry.export_serving_files` writes a folder with the champion's
booster (``model.lgb``), its calibrator as numbers (``calibrator.json``), the feature list
with the categories of categorical features (``features.json``) and the registry version it
came from (``version.json``). :class:`ServingModel` reads that folder back. The service
imports this module at start-up, so it imports nothing heavy at import time: LightGBM is
imported when a model is loaded. (LightGBM itself imports scikit-learn if it is installed,
but it works without it, so the serving image need not ship scikit-learn or MLflow.)
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

BOOSTER_FILE = "model.lgb"
CALIBRATOR_FILE = "calibrator.json"
FEATURES_FILE = "features.json"
VERSION_FILE = "version.json"


@dataclass(frozen=True)
class ServingModel:
    """A PD model read from an exported folder.

    Attributes
    ----------
    name, version, alias, run_id : str
        The registered model, its version, the alias it was exported under and the MLflow
        run that trained it, as written in ``version.json``.
    features : list of str
        The columns :meth:`predict_pd` reads, in the order the booster expects them.
    """

    booster: Any
    calibrator: dict
    features: list[str]
    categories: dict[str, list]
    name: str
    version: str
    alias: str
    run_id: str

    marker: str = ""
    """The text of ``version.json`` the model was read with (:func:`version_marker`)."""

    @classmethod
    def load(cls, folder: str | Path) -> ServingModel:
        """Read the files :func:`credit.models.registry.export_serving_files` wrote.

        ``version.json`` is read first and again last; when it lists the files' digests
        (every export since they were added), each file read must match its digest. So a
        folder that an export is replacing while it is read gives :class:`ServingFilesChanging`,
        never a model made of two versions' files.

        Raises
        ------
        FileNotFoundError
            If one of the four files is missing from ``folder``.
        ServingFilesChanging
            If the files were being replaced while they were read: read again.
        """
        import lightgbm  # here, not at import time: see the module docstring

        folder = Path(folder)
        marker = (folder / VERSION_FILE).read_text()
        version = json.loads(marker)
        contents = {name: (folder / name).read_bytes() for name in (BOOSTER_FILE, CALIBRATOR_FILE, FEATURES_FILE)}
        digests = version.get("files") or {}
        for name, data in contents.items():
            if name in digests and hashlib.sha256(data).hexdigest() != digests[name]:
                raise ServingFilesChanging(f"{folder / name} is not the file {VERSION_FILE} names (version "
                                           f"{version.get('version')}): the folder is being exported to; read it again")
        if (folder / VERSION_FILE).read_text() != marker:
            raise ServingFilesChanging(f"{folder} was exported to while it was read; read it again")
        features = json.loads(contents[FEATURES_FILE])
        return cls(booster=lightgbm.Booster(model_str=contents[BOOSTER_FILE].decode()),
                   calibrator=json.loads(contents[CALIBRATOR_FILE]),
                   features=list(features["features"]), categories=dict(features["categories"]),
                   name=version["name"], version=str(version["version"]), alias=version["alias"],
                   run_id=version["run_id"], marker=marker)

    def predict_pd(self, frame: Any) -> np.ndarray:
        """Calibrated probability of default of each row of a pandas DataFrame.

        Columns beyond :attr:`features` are ignored; categorical features may arrive as
        strings (as they do from JSON) and are mapped onto the training categories.

        Raises
        ------
        ValueError
            If a feature is missing from ``frame``.
        """
        missing = [name for name in self.features if name not in frame.columns]
        if missing:
            raise ValueError(f"the frame lacks {len(missing)} model features: {missing[:5]}.")
        rows = restore_categories(frame[self.features], self.categories)
        return calibrate(self.calibrator, self.booster.predict(rows))

    def contributions(self, frame: Any) -> Any:
        """Each feature's TreeSHAP contribution to each row's log-odds, for reason codes.

        The same numbers as :meth:`credit.models.pd_model.LightGBMPD.contributions` (the
        exported booster is cut at the best iteration): a DataFrame with :attr:`features` as
        columns and ``frame``'s index, ready for :func:`credit.models.reasons.reason_codes`.

        Raises
        ------
        ValueError
            If a feature is missing from ``frame``.
        """
        import pandas as pd  # the caller passed a DataFrame, so pandas is loaded already

        missing = [name for name in self.features if name not in frame.columns]
        if missing:
            raise ValueError(f"the frame lacks {len(missing)} model features: {missing[:5]}.")
        rows = restore_categories(frame[self.features], self.categories)
        values = self.booster.predict(rows, pred_contrib=True)
        return pd.DataFrame(values[:, :-1], columns=self.features, index=frame.index)  # last column: the bias


class ServingFilesChanging(ValueError):
    """The serving files changed while they were read (an export was writing them)."""


def version_marker(folder: str | Path) -> str | None:
    """The text of the folder's ``version.json``, or None when there is none (yet).

    The export writes it last and whole, so a change of this text says a new set of serving
    files is complete: what a running service compares, every few seconds, with the marker of
    the model it holds, to read the folder again only when it changed.
    """
    try:
        return (Path(folder) / VERSION_FILE).read_text()
    except (FileNotFoundError, NotADirectoryError):
        return None


def restore_categories(frame: Any, categories: dict[str, list]) -> Any:
    """``frame`` with each categorical feature cast back to its training categories.

    LightGBM codes a categorical column by its pandas categories, so a column that arrives
    as strings (from JSON, or from MLflow's schema enforcement) must become categorical
    again; values outside the training categories become missing, as in training.
    """
    frame = frame.copy()
    for column, values in categories.items():
        if not hasattr(frame[column], "cat"):
            as_text = [str(value) for value in values]
            restored = frame[column].astype("category").cat.set_categories(as_text)
            frame[column] = restored.cat.rename_categories(list(values))
    return frame


def calibrate(calibrator: dict, raw: np.ndarray) -> np.ndarray:
    """Map the booster's PDs through the exported calibrator (see ``calibrator.json``).

    With ``pd_clip`` in the file (every export since PDs are kept off 0 and 1), the PD is then
    clipped to [pd_clip, 1 - pd_clip], as :func:`credit.models.pd_model.calibrated_pd` does.
    """
    kind = calibrator["kind"]
    if kind is None:
        calibrated = raw
    elif kind == "isotonic":
        x, y = np.asarray(calibrator["x_thresholds"]), np.asarray(calibrator["y_thresholds"])
        # scikit-learn clips to the fitted range and interpolates linearly between thresholds
        calibrated = np.interp(np.clip(raw, x[0], x[-1]), x, y)
    elif kind == "sigmoid":
        clip = calibrator["logit_clip"]
        p = np.clip(raw, clip, 1 - clip)
        z = calibrator["coef"] * np.log(p / (1 - p)) + calibrator["intercept"]
        calibrated = 1 / (1 + np.exp(-z))
    else:
        raise ValueError(f"unknown calibrator kind {kind!r}; expected 'isotonic', 'sigmoid' or null.")
    pd_clip = calibrator.get("pd_clip")
    return calibrated if pd_clip is None else np.clip(calibrated, pd_clip, 1 - pd_clip)
