"""The monitoring configuration file: PSI levels, calibration intervals, early-warning thresholds.

The defaults are the TOML file ``credit/monitoring/monitoring.toml`` shipped with the package;
a file an analyst passes (``credit monitor --config FILE``) overrides it key by key. Every
value is checked when the file is read, by the pydantic models below through
:func:`credit.toml_layers.load_layers`, and an error names the file, the section and the key.
The checkout's arrears block is not here: it is the credit policy's
(``checkout.max_days_past_due``), read from the policy in force.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, model_validator

from credit.toml_layers import Section, load_layers

DEFAULT_CONFIG = files("credit.monitoring") / "monitoring.toml"
BUILT_IN = "built-in defaults (credit/monitoring/monitoring.toml)"


class MonitoringConfigError(ValueError):
    """A configuration file that cannot be used; the message names the file and the key."""


PositiveInt = Annotated[int, Field(ge=1)]
Share = Annotated[float, Field(gt=0, le=1)]


class PsiConfig(Section):
    watch: Annotated[float, Field(gt=0, le=10)]
    alarm: Annotated[float, Field(gt=0, le=10)]
    min_rows: PositiveInt
    segment_by: Annotated[str, Field(min_length=1, description="a panel column name")]

    @model_validator(mode="after")
    def _alarm_above_watch(self) -> PsiConfig:
        if self.alarm <= self.watch:
            raise ValueError(f"alarm ({self.alarm:g}) must be above watch ({self.watch:g})")
        return self


class CalibrationConfig(Section):
    confidence: Annotated[float, Field(gt=0, lt=1)]
    alarm_confidence: Annotated[float, Field(gt=0, lt=1)]

    @model_validator(mode="after")
    def _alarm_wider(self) -> CalibrationConfig:
        if self.alarm_confidence <= self.confidence:
            raise ValueError(f"alarm_confidence ({self.alarm_confidence:g}) must be above confidence "
                             f"({self.confidence:g})")
        return self


class EarlyWarningConfig(Section):
    grade_drop_notches: PositiveInt
    grade_drop_months: PositiveInt
    overdue_grace_days: PositiveInt
    overdue_lookback_days: PositiveInt
    dbt_rise_days: Annotated[float, Field(gt=0, le=3650)]
    partner_min_share: Share
    partner_lookback_days: PositiveInt
    arrears_horizon_days: PositiveInt
    utilisation_share: Share


class MonitoringConfig(BaseModel):
    """The whole file, checked."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    psi: PsiConfig
    calibration: CalibrationConfig
    early_warning: EarlyWarningConfig
    source: str

    def as_dict(self) -> dict:
        """Every threshold as JSON values (stored with each run)."""
        return self.model_dump()


def load_monitoring_config(path: Path | str | None = None) -> MonitoringConfig:
    """The defaults, overridden by the file at ``path`` when one is given.

    Raises
    ------
    MonitoringConfigError
        If the file cannot be read or parsed, or has an unknown section or key, or a value of
        the wrong type or out of range.
    """
    return load_layers(DEFAULT_CONFIG, path, MonitoringConfig, what="monitoring configuration", built_in=BUILT_IN,
                       error=MonitoringConfigError)
