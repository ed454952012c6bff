"""The PD model's configuration file: hyper-parameters, windows, tuning and the promotion gate.

Risk grades are not here: they are the credit policy's master scale (credit/policy/policy.yaml).

The defaults are the TOML file ``credit/models/model.toml`` shipped with the package; a file an
analyst passes (``credit train --config FILE``) overrides it key by key. Every value is
checked when the file is read, by the pydantic models below through
:func:`credit.toml_layers.load_layers`, and an error names the file, the section and the key.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator

from credit.toml_layers import Section, load_layers

DEFAULT_CONFIG = files("credit.models") / "model.toml"
BUILT_IN = "built-in defaults (credit/models/model.toml)"
"""The ``source`` of a configuration read without a file."""


class ConfigError(ValueError):
    """A configuration file that cannot be used; the message names the file and the key."""


PositiveInt = Annotated[int, Field(ge=1)]


class TrainingConfig(Section):
    label: Annotated[str, Field(min_length=1, description="a column name")]
    num_boost_round: PositiveInt
    early_stopping_rounds: PositiveInt
    calibration: Annotated[Literal["isotonic", "sigmoid"] | None,
                           BeforeValidator(lambda value: None if value == "none" else value),
                           Field(description='"isotonic", "sigmoid" or "none"')]
    """None when the file says ``"none"``: no calibration."""
    random_state: Annotated[int, Field(ge=0)]
    scorecard: bool


class WindowConfig(Section):
    test_months: PositiveInt
    calibrate_months: PositiveInt
    valid_months: PositiveInt
    min_train_months: PositiveInt


class TuningConfig(Section):
    trials: PositiveInt
    timeout_seconds: Annotated[float, Field(ge=1)]
    table_trials: Annotated[int, Field(ge=0)]
    """Optuna trials tuning LightGBM in each training set of `credit train --table`; 0: no tuning."""
    table_inner_folds: Annotated[int, Field(ge=2)]


class PromotionPolicy(Section):
    """What a challenger must show, on the champion's own test rows, to replace it.

    Attributes
    ----------
    min_auc_gain
        Challenger AUC minus champion AUC must be at least this.
    max_brier_increase
        Challenger Brier minus champion Brier must be at most this.
    max_calibration_z
        Calibration in the large: ``|observed - expected defaults| / sqrt(sum p(1-p))`` at most this.
    min_hosmer_lemeshow_p
        The Hosmer-Lemeshow test over PD deciles must not reject at this level.
    """

    min_auc_gain: Annotated[float, Field(ge=-1, le=1)]
    max_brier_increase: Annotated[float, Field(ge=-1, le=1)]
    max_calibration_z: Annotated[float, Field(ge=0)]
    min_hosmer_lemeshow_p: Annotated[float, Field(ge=0, le=1)]


_LIGHTGBM_RESERVED = {"objective", "seed", "monotone_constraints", "verbose"}


class ModelConfig(BaseModel):
    """The whole file, checked. ``lightgbm`` holds LightGBM parameters as given."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    lightgbm: dict
    training: TrainingConfig
    windows: WindowConfig
    tuning: TuningConfig
    promotion: PromotionPolicy
    source: str

    @field_validator("lightgbm")
    @classmethod
    def _no_reserved_parameters(cls, lightgbm: dict) -> dict:
        reserved = _LIGHTGBM_RESERVED & set(lightgbm)
        if reserved:
            raise ValueError(f"may not set {sorted(reserved)}: the PD model fixes the objective, the seed comes "
                             "from [training] random_state and monotone constraints from the risk directions")
        return lightgbm

    def as_params(self) -> dict[str, object]:
        """Flat ``section.key -> value`` for MLflow's run parameters."""
        flat = {f"lightgbm.{key}": value for key, value in self.lightgbm.items()}
        for section in ("training", "windows", "tuning", "promotion"):
            flat |= {f"{section}.{key}": value for key, value in getattr(self, section).model_dump().items()}
        return flat


def load_model_config(path: Path | str | None = None) -> ModelConfig:
    """The defaults, overridden by the file at ``path`` when one is given.

    Raises
    ------
    ConfigError
        If the file cannot be read or parsed, or has an unknown section or key, or a value of
        the wrong type or out of range.
    """
    return load_layers(DEFAULT_CONFIG, path, ModelConfig, what="model configuration", built_in=BUILT_IN,
                       error=ConfigError, open_sections=frozenset({"lightgbm"}))  # LightGBM's own parameters
