"""The PD model's configuration file: hyper-parameters, windows, tuning and the promotion gate.

Risk grades are not here: they are the credit policy's master scale (credit/policy/policy.yaml).

The defaults are the TOML file ``credit/models/model.toml`` shipped with the package; a file an
analyst passes (``credit train --config FILE``) overrides it key by key. Every value is
checked when the file is read, and an error names the file, the section and the key.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from importlib.resources import files
from pathlib import Path

from credit.toml_layers import read_layers

DEFAULT_CONFIG = files("credit.models") / "model.toml"
BUILT_IN = "built-in defaults (credit/models/model.toml)"
"""The ``source`` of a configuration read without a file."""


class ConfigError(ValueError):
    """A configuration file that cannot be used; the message names the file and the key."""


@dataclass(frozen=True)
class TrainingConfig:
    label: str
    num_boost_round: int
    early_stopping_rounds: int
    calibration: str | None
    random_state: int
    scorecard: bool


@dataclass(frozen=True)
class WindowConfig:
    test_months: int
    calibrate_months: int
    valid_months: int
    min_train_months: int


@dataclass(frozen=True)
class TuningConfig:
    trials: int
    timeout_seconds: float


@dataclass(frozen=True)
class PromotionPolicy:
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

    min_auc_gain: float
    max_brier_increase: float
    max_calibration_z: float
    min_hosmer_lemeshow_p: float


@dataclass(frozen=True)
class ModelConfig:
    """The whole file, checked. ``lightgbm`` holds LightGBM parameters as given."""

    lightgbm: dict
    training: TrainingConfig
    windows: WindowConfig
    tuning: TuningConfig
    promotion: PromotionPolicy
    source: str

    def as_params(self) -> dict[str, object]:
        """Flat ``section.key -> value`` for MLflow's run parameters."""
        flat = {f"lightgbm.{key}": value for key, value in self.lightgbm.items()}
        for section in ("training", "windows", "tuning", "promotion"):
            flat |= {f"{section}.{key}": value for key, value in vars(getattr(self, section)).items()}
        return flat


_LIGHTGBM_RESERVED = {"objective", "seed", "monotone_constraints", "verbose"}


def load_model_config(path: Path | str | None = None) -> ModelConfig:
    """The defaults, overridden by the file at ``path`` when one is given.

    Raises
    ------
    ConfigError
        If the file cannot be read or parsed, or has an unknown section or key, or a value of
        the wrong type or out of range.
    """
    defaults, overridden_by = read_layers(DEFAULT_CONFIG, path, what="model configuration", error=ConfigError,
                                          open_sections=frozenset({"lightgbm"}))  # LightGBM's own parameters
    source = overridden_by or BUILT_IN
    return _checked(defaults, source)


def _checked(raw: dict, where: str) -> ModelConfig:
    def fail(section: str, key: str, wanted: str) -> ConfigError:
        return ConfigError(f"{where}: [{section}] {key} must be {wanted}; got {raw[section][key]!r}")

    def integer(section: str, key: str, minimum: int) -> int:
        value = raw[section][key]
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            raise fail(section, key, f"an integer >= {minimum}")
        return value

    def number(section: str, key: str, low: float, high: float = float("inf")) -> float:
        value = raw[section][key]
        if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
            raise fail(section, key, f"a number in [{low:g}, {high:g}]")
        return float(value)

    reserved = _LIGHTGBM_RESERVED & set(raw["lightgbm"])
    if reserved:
        raise ConfigError(f"{where}: [lightgbm] may not set {sorted(reserved)}: the PD model fixes the objective, "
                          "the seed comes from [training] random_state and monotone constraints from the risk directions")
    training = raw["training"]
    if not isinstance(training["label"], str) or not training["label"]:
        raise fail("training", "label", "a column name")
    if training["calibration"] not in ("isotonic", "sigmoid", "none"):
        raise fail("training", "calibration", '"isotonic", "sigmoid" or "none"')
    if not isinstance(training["scorecard"], bool):
        raise fail("training", "scorecard", "true or false")
    return ModelConfig(
        lightgbm=dict(raw["lightgbm"]),
        training=TrainingConfig(
            label=training["label"], num_boost_round=integer("training", "num_boost_round", 1),
            early_stopping_rounds=integer("training", "early_stopping_rounds", 1),
            calibration=None if training["calibration"] == "none" else training["calibration"],
            random_state=integer("training", "random_state", 0), scorecard=training["scorecard"]),
        windows=WindowConfig(**{field.name: integer("windows", field.name, 1) for field in fields(WindowConfig)}),
        tuning=TuningConfig(trials=integer("tuning", "trials", 1),
                            timeout_seconds=number("tuning", "timeout_seconds", 1)),
        promotion=PromotionPolicy(
            min_auc_gain=number("promotion", "min_auc_gain", -1, 1),
            max_brier_increase=number("promotion", "max_brier_increase", -1, 1),
            max_calibration_z=number("promotion", "max_calibration_z", 0),
            min_hosmer_lemeshow_p=number("promotion", "min_hosmer_lemeshow_p", 0, 1)),
        source=where,
    )
