"""The PD models in MLflow: log and register, champion/challenger aliases, export for serving.

Every model is logged as an MLflow pyfunc that returns the calibrated PD, registered under
one name (``credit_pd``) whose versions are promoted by moving aliases (``champion``,
``challenger``), not by MLflow's deprecated stages. The service does not read the registry:
:func:`export_serving_files` writes the champion's booster and calibrator as plain files that
:class:`credit.models.serving.ServingModel` scores with LightGBM and NumPy alone.

Call :func:`tracking` first; it points MLflow (whose tracking URI is process-wide) at the
store in :class:`credit.settings.Settings` or at a URI a test gives.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import os
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path

import lightgbm as lgb
import mlflow
import numpy as np
import pandas as pd
import sklearn
from mlflow import MlflowClient
from mlflow.entities.model_registry import ModelVersion
from mlflow.exceptions import MlflowException
from mlflow.models import ModelSignature, infer_signature
from mlflow.types.schema import AnyType, ColSpec, Schema
from sklearn.isotonic import IsotonicRegression

from credit.models import REGISTERED_MODEL
from credit.models.pd_model import LOGIT_CLIP, PD_CLIP, LightGBMPD, calibrated_pd
from credit.models.serving import (
    BOOSTER_FILE,
    CALIBRATOR_FILE,
    FEATURES_FILE,
    VERSION_FILE,
    calibrate,
    restore_categories,
)
from credit.settings import Settings

EXPERIMENT = "credit-pd"


@dataclass(frozen=True)
class RegisteredVersion:
    """One version of a registered model.

    MLflow's own ``ModelVersion.version`` is an int or a string depending on the store and
    the call; here it is always the string MLflow URIs use (``"1"``).
    """

    name: str
    version: str
    run_id: str
    model_uri: str
    """Where MLflow keeps the logged model (``models:/m-<id>``)."""

    @classmethod
    def of(cls, version: ModelVersion) -> RegisteredVersion:
        return cls(name=version.name, version=str(version.version), run_id=version.run_id, model_uri=version.source)


class ModelNotFoundError(LookupError):
    """The registry has no such model, version or alias."""


class AliasNotFoundError(ModelNotFoundError):
    """A registered model has no version under the alias asked for."""


class NotServableError(ValueError):
    """A registered model that is not a LightGBM PD model, so it has no serving files."""


class PDPyfunc(mlflow.pyfunc.PythonModel):
    """The pyfunc face of a fitted PD model: ``predict`` returns the calibrated PD.

    ``model`` is a :class:`LightGBMPD` (the marketplace's models, the only kind that can be
    exported for serving) or, for a labelled table's champion, any fitted classifier with
    ``feature_names_in_`` and ``predict_proba`` (a :class:`~credit.models.scorecard.ScorecardPD`,
    the logistic pipeline of :func:`~credit.models.training.logistic_baseline`, or a
    :class:`~credit.models.table_training.BlendPD`). ``categories`` maps each categorical
    feature to its training categories, so that rows whose categoricals arrive as strings
    (MLflow's schema has no categorical type) are coded as in training.
    """

    def __init__(self, model: object, categories: dict[str, list]) -> None:
        self.model = model
        self.categories = categories

    def predict(self, context, model_input: pd.DataFrame, params=None) -> np.ndarray:
        features = list(self.model.feature_names_in_)
        return self.model.predict_proba(restore_categories(model_input[features], self.categories))[:, 1]


def tracking(settings_or_uri: Settings | str) -> str:
    """Point MLflow's tracking and registry at a store and make sure the experiment exists.

    Parameters
    ----------
    settings_or_uri : Settings or str
        Settings (``tracking_uri`` and ``artifact_location``), or a tracking URI whose
        artifacts go to the settings' default location (``mlruns/``). Tests pass a
        :class:`Settings` with both under a temporary directory.

    Returns
    -------
    str
        The id of the ``credit-pd`` experiment. Its artifact location is fixed when it is
        created; later calls with another location leave it as it is.
    """
    settings = Settings(tracking_uri=settings_or_uri) if isinstance(settings_or_uri, str) else settings_or_uri
    uri = settings.resolved_tracking_uri()
    if uri.startswith("sqlite:///"):
        # SQLite creates the file but not its folder (var/ does not exist on a fresh checkout)
        Path(uri.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    experiment = mlflow.get_experiment_by_name(EXPERIMENT)
    if experiment is not None:
        return experiment.experiment_id
    return mlflow.create_experiment(EXPERIMENT, artifact_location=settings.resolved_artifact_location())


def log_pd_model(model: object, *, params: dict, metrics: dict[str, float], feature_names: list[str],
                 input_example: pd.DataFrame, run_name: str, report_path: str | Path | None = None,
                 register_as: str = REGISTERED_MODEL) -> RegisteredVersion:
    """Log a fitted PD model in one MLflow run and register it as a new version.

    Parameters
    ----------
    model : LightGBMPD or fitted classifier
        A fitted model: a :class:`LightGBMPD`, or any classifier with ``feature_names_in_``
        and ``predict_proba`` (see :class:`PDPyfunc`; only a LightGBMPD can be exported for
        serving).
    params, metrics : dict
        Logged as the run's parameters and metrics.
    feature_names : list of str
        The model's features in order; logged as ``features.json``. Must equal
        ``model.feature_names_in_``.
    input_example : DataFrame
        A few rows with the model's columns; they give the signature and are stored with the
        model. Categorical columns are logged as strings.
    run_name : str
        The MLflow run's name. When a run is active already (a training run that logs more
        than the model), the model is logged into that run instead and this is unused.
    report_path : path or None
        An HTML evaluation report to attach to the run.
    register_as : str
        Registered model name.

    Returns
    -------
    RegisteredVersion
        The registered version: ``.version`` (a string such as ``"1"``), ``.run_id``.

    Raises
    ------
    ValueError
        If ``feature_names`` or the example's columns differ from the model's features.
    RuntimeError
        If :func:`tracking` has not created the experiment in the current store.
    """
    features = [str(name) for name in model.feature_names_in_]
    if list(feature_names) != features:
        raise ValueError(f"`feature_names` must be the model's features in order; got {list(feature_names)[:5]}..., "
                         f"the model has {features[:5]}...")
    if list(input_example.columns) != features:
        raise ValueError(f"`input_example` must have the model's columns in order; got {list(input_example.columns)[:5]}.")
    experiment = mlflow.get_experiment_by_name(EXPERIMENT)
    if experiment is None:
        raise RuntimeError(f"no experiment {EXPERIMENT!r} at {mlflow.get_tracking_uri()}; call tracking() first.")
    categories = {column: input_example[column].cat.categories.tolist()
                  for column in features if isinstance(input_example[column].dtype, pd.CategoricalDtype)}
    example = input_example.astype({column: str for column in categories})
    signature = _signature(example, model.predict_proba(input_example)[:, 1], categories)
    active = mlflow.active_run()
    with nullcontext(active) if active else mlflow.start_run(experiment_id=experiment.experiment_id, run_name=run_name):
        mlflow.log_params(params)
        mlflow.log_metrics(metrics)
        mlflow.log_dict({"features": features, "categories": categories}, FEATURES_FILE)
        if report_path is not None:
            mlflow.log_artifact(str(report_path), artifact_path="reports")
        info = mlflow.pyfunc.log_model(
            name="pd_model", python_model=PDPyfunc(model, categories), signature=signature,
            input_example=example, registered_model_name=register_as,
            pip_requirements=_requirements(model))
    return RegisteredVersion.of(MlflowClient().get_model_version(register_as, str(info.registered_model_version)))


def _requirements(model: object) -> list[str]:
    # explicit requirements: inferring them loads the model again and costs seconds
    requirements = [f"mlflow=={mlflow.__version__}", f"lightgbm=={lgb.__version__}",
                    f"scikit-learn=={sklearn.__version__}", f"pandas=={pd.__version__}", f"numpy=={np.__version__}"]
    if not isinstance(model, LightGBMPD):  # a table's champion may hold a scorecard
        requirements.append(f"optbinning=={importlib.metadata.version('optbinning')}")
    return requirements


def _signature(example: pd.DataFrame, pd_: np.ndarray, categories: dict[str, list]) -> ModelSignature:
    # MLflow's schema has no categorical type and cannot infer one (it warns and gives no
    # signature). Typed as strings, categorical columns would be refused when they arrive as
    # pandas categoricals ("Can not safely convert category to <U0"), so they are typed "any"
    # and PDPyfunc maps them onto the training categories.
    inferred = infer_signature(example, pd_)
    columns = [ColSpec(AnyType(), spec.name) if spec.name in categories else spec for spec in inferred.inputs.inputs]
    return ModelSignature(inputs=Schema(columns), outputs=inferred.outputs)


def set_alias(name: str, alias: str, version: str | int) -> None:
    """Point ``alias`` (``champion``, ``challenger``) of registered model ``name`` at ``version``."""
    MlflowClient().set_registered_model_alias(name, alias, str(version))


def resolve_alias(name: str, alias: str) -> RegisteredVersion:
    """The version of registered model ``name`` that ``alias`` points at.

    Raises
    ------
    AliasNotFoundError
        If the model does not exist or has no such alias.
    """
    client = MlflowClient()
    try:
        return RegisteredVersion.of(client.get_model_version_by_alias(name, alias))
    except MlflowException as exc:
        try:
            aliases = sorted(client.get_registered_model(name).aliases)
        except MlflowException:
            raise AliasNotFoundError(f"no registered model {name!r} (looking for alias {alias!r}) "
                                     f"at {mlflow.get_registry_uri()}.") from exc
        raise AliasNotFoundError(f"registered model {name!r} has no alias {alias!r}; "
                                 f"its aliases are {aliases}.") from exc


def load_version(name: str, version: str | int) -> LightGBMPD:
    """The fitted :class:`LightGBMPD` of registered model version ``name/version``, for evaluation.

    Raises
    ------
    ModelNotFoundError
        If the model has no such version.
    """
    try:
        pyfunc = mlflow.pyfunc.load_model(f"models:/{name}/{version}")
    except MlflowException as exc:
        raise ModelNotFoundError(f"registered model {name!r} has no version {version!r} at "
                                 f"{mlflow.get_registry_uri()}.") from exc
    return pyfunc.unwrap_python_model().model


def export_serving_files(name: str, alias: str, folder: str | Path) -> Path:
    """Write the model under ``name@alias`` as files :class:`ServingModel` can score with.

    The folder gets ``model.lgb`` (the booster as a LightGBM text file, cut at the best
    iteration), ``calibrator.json``, ``features.json`` and ``version.json`` (registered
    name, version, alias and run id, and the SHA-256 of each other file), written last. Each
    file replaces the one before atomically, so a running service that reads the folder
    (:mod:`api.kit.state`) sees the new version only once every file is in place, and never
    loads files of two versions (:meth:`ServingModel.load` checks the digests).

    Returns
    -------
    Path
        The folder.

    Raises
    ------
    AliasNotFoundError
        If the model does not exist or has no such alias.
    NotServableError
        If the version is not a :class:`LightGBMPD` (a table's scorecard, logistic or blend champion).
    """
    version = resolve_alias(name, alias)
    pyfunc = mlflow.pyfunc.load_model(f"models:/{name}/{version.version}").unwrap_python_model()
    if not isinstance(pyfunc.model, LightGBMPD):
        raise NotServableError(f"{name} version {version.version} ({alias}) is not a LightGBM PD model but a "
                               f"{type(pyfunc.model).__name__}: only a LightGBM model can be exported for serving (a "
                               "table's champion may be a scorecard, a logistic regression or a blend; load it "
                               f"with mlflow.pyfunc.load_model('models:/{name}/{version.version}') instead).")
    return write_serving_files(pyfunc.model, folder, categories=pyfunc.categories,
                               version={"name": name, "version": version.version, "alias": alias,
                                        "run_id": version.run_id})


def write_serving_files(model: LightGBMPD, folder: str | Path, *, categories: dict[str, list],
                        version: dict[str, str]) -> Path:
    """Write a fitted model's serving files (see :func:`export_serving_files`).

    Raises
    ------
    RuntimeError
        If the exported calibrator does not reproduce the model's own on a grid of raw PDs,
        which would mean :mod:`credit.models.pd_model` changed how it calibrates.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    calibrator = _calibrator_as_numbers(model)
    contents = {
        BOOSTER_FILE: model.booster_.model_to_string(num_iteration=model.best_iteration_).encode(),
        CALIBRATOR_FILE: json.dumps(calibrator).encode(),
        FEATURES_FILE: json.dumps({"features": [str(name) for name in model.feature_names_in_],
                                   "categories": categories}, indent=1).encode(),
    }
    for name, data in contents.items():
        _replace_file(folder / name, data)
    files = {name: hashlib.sha256(data).hexdigest() for name, data in contents.items()}
    _replace_file(folder / VERSION_FILE, json.dumps({**version, "files": files}, indent=1).encode())  # the marker, last
    return folder


def _replace_file(path: Path, data: bytes) -> None:
    """Write ``path`` whole or not at all: a reader sees the old file or the new one, never a part."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(temporary, "wb") as file:
        file.write(data)
        file.flush()
        os.fsync(file.fileno())
    os.replace(temporary, path)


def _calibrator_as_numbers(model: LightGBMPD) -> dict:
    fitted = model.calibrator_
    if fitted is None:
        calibrator = {"kind": None, "pd_clip": PD_CLIP}
    elif isinstance(fitted, IsotonicRegression):
        calibrator = {"kind": "isotonic", "x_thresholds": fitted.X_thresholds_.tolist(),
                      "y_thresholds": fitted.y_thresholds_.tolist(), "pd_clip": PD_CLIP}
    else:
        calibrator = {"kind": "sigmoid", "coef": float(fitted.coef_[0, 0]), "intercept": float(fitted.intercept_[0]),
                      "logit_clip": LOGIT_CLIP, "pd_clip": PD_CLIP}
    grid = np.concatenate([np.linspace(0, 1, 2001), calibrator.get("x_thresholds", [])])
    expected = calibrated_pd(fitted, grid)
    if not np.allclose(calibrate(calibrator, grid), expected, rtol=0, atol=1e-12):
        raise RuntimeError("the exported calibrator does not reproduce the model's; "
                           "update credit.models.serving.calibrate to match credit.models.pd_model.")
    return calibrator

