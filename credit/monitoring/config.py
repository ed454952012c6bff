"""The monitoring configuration file: PSI levels, calibration intervals, early-warning thresholds.

The defaults are the TOML file ``credit/monitoring/monitoring.toml`` shipped with the package;
a file an analyst passes (``credit monitor --config FILE``) overrides it key by key. Every
value is checked when the file is read, and an error names the file, the section and the key.
The checkout's arrears block is not here: it is the credit policy's
(``checkout.max_days_past_due``), read from the policy in force.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from importlib.resources import files
from pathlib import Path

from credit.toml_layers import read_layers

DEFAULT_CONFIG = files("credit.monitoring") / "monitoring.toml"
BUILT_IN = "built-in defaults (credit/monitoring/monitoring.toml)"


class MonitoringConfigError(ValueError):
    """A configuration file that cannot be used; the message names the file and the key."""


@dataclass(frozen=True)
class PsiConfig:
    watch: float
    alarm: float
    min_rows: int
    segment_by: str


@dataclass(frozen=True)
class CalibrationConfig:
    confidence: float
    alarm_confidence: float


@dataclass(frozen=True)
class EarlyWarningConfig:
    grade_drop_notches: int
    grade_drop_months: int
    overdue_grace_days: int
    overdue_lookback_days: int
    dbt_rise_days: float
    partner_min_share: float
    partner_lookback_days: int
    arrears_horizon_days: int
    utilisation_share: float


@dataclass(frozen=True)
class MonitoringConfig:
    """The whole file, checked."""

    psi: PsiConfig
    calibration: CalibrationConfig
    early_warning: EarlyWarningConfig
    source: str

    def as_dict(self) -> dict:
        """Every threshold as JSON values (stored with each run)."""
        return {"psi": asdict(self.psi), "calibration": asdict(self.calibration),
                "early_warning": asdict(self.early_warning), "source": self.source}


def load_monitoring_config(path: Path | str | None = None) -> MonitoringConfig:
    """The defaults, overridden by the file at ``path`` when one is given.

    Raises
    ------
    MonitoringConfigError
        If the file cannot be read or parsed, or has an unknown section or key, or a value of
        the wrong type or out of range.
    """
    raw, overridden_by = read_layers(DEFAULT_CONFIG, path, what="monitoring configuration", error=MonitoringConfigError)
    source = overridden_by or BUILT_IN
    return _checked(raw, source)


def _checked(raw: dict, where: str) -> MonitoringConfig:
    def fail(section: str, key: str, wanted: str) -> MonitoringConfigError:
        return MonitoringConfigError(f"{where}: [{section}] {key} must be {wanted}; got {raw[section][key]!r}")

    def integer(section: str, key: str, minimum: int) -> int:
        value = raw[section][key]
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            raise fail(section, key, f"an integer >= {minimum}")
        return value

    def number(section: str, key: str, low: float, high: float, *, open_low: bool = False,
               open_high: bool = False) -> float:
        value = raw[section][key]
        inside = isinstance(value, int | float) and not isinstance(value, bool) and \
            (low < value if open_low else low <= value) and (value < high if open_high else value <= high)
        if not inside:
            interval = f"{'(' if open_low else '['}{low:g}, {high:g}{')' if open_high else ']'}"
            raise fail(section, key, f"a number in {interval}")
        return float(value)

    psi = PsiConfig(watch=number("psi", "watch", 0, 10, open_low=True), alarm=number("psi", "alarm", 0, 10, open_low=True),
                    min_rows=integer("psi", "min_rows", 1), segment_by=raw["psi"]["segment_by"])
    if psi.alarm <= psi.watch:
        raise MonitoringConfigError(f"{where}: [psi] alarm ({psi.alarm:g}) must be above watch ({psi.watch:g})")
    if not isinstance(psi.segment_by, str) or not psi.segment_by:
        raise fail("psi", "segment_by", "a panel column name")
    calibration = CalibrationConfig(
        confidence=number("calibration", "confidence", 0, 1, open_low=True, open_high=True),
        alarm_confidence=number("calibration", "alarm_confidence", 0, 1, open_low=True, open_high=True))
    if calibration.alarm_confidence <= calibration.confidence:
        raise MonitoringConfigError(f"{where}: [calibration] alarm_confidence ({calibration.alarm_confidence:g}) "
                                    f"must be above confidence ({calibration.confidence:g})")
    early = "early_warning"
    early_warning = EarlyWarningConfig(
        grade_drop_notches=integer(early, "grade_drop_notches", 1), grade_drop_months=integer(early, "grade_drop_months", 1),
        overdue_grace_days=integer(early, "overdue_grace_days", 1),
        overdue_lookback_days=integer(early, "overdue_lookback_days", 1),
        dbt_rise_days=number(early, "dbt_rise_days", 0, 3650, open_low=True),
        partner_min_share=number(early, "partner_min_share", 0, 1, open_low=True),
        partner_lookback_days=integer(early, "partner_lookback_days", 1),
        arrears_horizon_days=integer(early, "arrears_horizon_days", 1),
        utilisation_share=number(early, "utilisation_share", 0, 1, open_low=True))
    return MonitoringConfig(psi=psi, calibration=calibration, early_warning=early_warning, source=where)
