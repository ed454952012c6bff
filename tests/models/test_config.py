"""The model configuration file: defaults, overrides key by key, and errors that name the key."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from credit.models.config import ConfigError, load_model_config


def config_file(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "model.toml"
    path.write_text(text)
    return path


def test_defaults_come_from_the_shipped_file() -> None:
    config = load_model_config()
    assert config.training.label == "default_12m"
    assert config.training.calibration == "sigmoid"
    assert config.lightgbm["learning_rate"] == 0.03
    assert config.promotion.min_auc_gain == 0.005


def test_a_file_overrides_only_the_keys_it_sets(tmp_path: Path) -> None:
    config = load_model_config(config_file(tmp_path, "[lightgbm]\nnum_leaves = 31\n[windows]\ntest_months = 6\n"
                                                     '[training]\ncalibration = "none"\n'))
    assert config.lightgbm["num_leaves"] == 31 and config.lightgbm["learning_rate"] == 0.03
    assert config.windows.test_months == 6 and config.windows.valid_months == 3
    assert config.training.calibration is None
    assert config.as_params()["windows.test_months"] == 6


@pytest.mark.parametrize(("text", "message"), [
    ("[lightgbm\n", "is not valid TOML"),
    ("[trainng]\nlabel = 'x'\n", "unknown section [trainng]"),
    ("[windows]\ntest_month = 3\n", "unknown key(s) ['test_month'] in [windows]"),
    ("[windows]\ntest_months = 0\n", "[windows] test_months must be an integer >= 1; got 0"),
    ("[windows]\ntest_months = 2.5\n", "[windows] test_months must be an integer >= 1; got 2.5"),
    ("[training]\ncalibration = 'platt'\n", "[training] calibration must be \"isotonic\", \"sigmoid\" or \"none\""),
    ("[promotion]\nmin_hosmer_lemeshow_p = 2\n", "[promotion] min_hosmer_lemeshow_p must be a number in [0, 1]; got 2"),
    ("[lightgbm]\nobjective = 'regression'\n", "[lightgbm] may not set ['objective']"),
    ("[master_scale]\nA = 0.1\n", "unknown section [master_scale]"),
])
def test_bad_files_are_refused_naming_the_key(tmp_path: Path, text: str, message: str) -> None:
    path = config_file(tmp_path, text)
    with pytest.raises(ConfigError, match=re.escape(message)) as caught:
        load_model_config(path)
    assert str(path) in str(caught.value)


def test_every_bad_value_of_a_file_is_reported_on_a_line_of_its_own(tmp_path: Path) -> None:
    path = config_file(tmp_path, "[windows]\ntest_months = 0\n[tuning]\ntimeout_seconds = '900'\n"
                                 "[training]\nscorecard = 1\n")
    with pytest.raises(ConfigError) as caught:
        load_model_config(path)
    assert str(caught.value).splitlines() == [
        f"{path}: [training] scorecard must be true or false; got 1",
        f"{path}: [windows] test_months must be an integer >= 1; got 0",
        f"{path}: [tuning] timeout_seconds must be a number in [1, inf]; got '900'",
    ]


def test_a_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read the model configuration .*nothing.toml"):
        load_model_config(tmp_path / "nothing.toml")
