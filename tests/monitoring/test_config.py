"""The monitoring configuration: shipped defaults, overrides key by key, one clear line for a bad value."""

from __future__ import annotations

from pathlib import Path

import pytest

from credit.monitoring.config import BUILT_IN, MonitoringConfigError, load_monitoring_config


def test_the_shipped_thresholds_are_the_industry_ones():
    config = load_monitoring_config()
    assert (config.psi.watch, config.psi.alarm) == (0.1, 0.25)
    assert (config.calibration.confidence, config.calibration.alarm_confidence) == (0.95, 0.999)
    assert config.early_warning.grade_drop_notches == 2 and config.early_warning.utilisation_share == 0.9
    assert config.source == BUILT_IN


def test_a_file_overrides_only_its_keys(tmp_path: Path):
    path = tmp_path / "mine.toml"
    path.write_text("[psi]\nmin_rows = 50\n[early_warning]\nutilisation_share = 0.8\n")
    config = load_monitoring_config(path)
    assert config.psi.min_rows == 50 and config.psi.watch == 0.1
    assert config.early_warning.utilisation_share == 0.8 and config.source == str(path)


@pytest.mark.parametrize(("text", "message"), [
    ("[psi]\nwatch = 0.3\n", r"\[psi\] alarm \(0.25\) must be above watch \(0.3\)"),
    ("[psi]\nmin_rows = 0\n", r"\[psi\] min_rows must be an integer >= 1; got 0"),
    ("[calibration]\nconfidence = 1.0\n", r"\[calibration\] confidence must be a number in \(0, 1\); got 1.0"),
    ("[early_warning]\nutilisation_share = \"0.9\"\n", r"\[early_warning\] utilisation_share must be a number"),
    ("[early_warning]\ngrade_drop_notches = true\n", r"grade_drop_notches must be an integer >= 1; got True"),
    ("[drift]\nwatch = 0.1\n", r"unknown section \[drift\]"),
    ("[psi]\nwach = 0.1\n", r"unknown key\(s\) \['wach'\] in \[psi\]"),
    ("[psi\n", "is not valid TOML"),
])
def test_a_bad_file_is_one_clear_error(tmp_path: Path, text: str, message: str):
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(MonitoringConfigError, match=message):
        load_monitoring_config(path)


def test_a_missing_file_is_named(tmp_path: Path):
    with pytest.raises(MonitoringConfigError, match="cannot read the monitoring configuration .*nope.toml"):
        load_monitoring_config(tmp_path / "nope.toml")
