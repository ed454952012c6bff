"""Configuration errors name the parameter, the rule and the value given."""

from datetime import date, datetime

import pytest

from credit.simulate import IndustryShock, SimulationConfig, simulate


def test_too_few_firms_is_refused_with_the_rule_and_the_value():
    with pytest.raises(ValueError, match=r"^`firms` must be an integer >= 10; got 3\.$"):
        SimulationConfig(firms=3)


@pytest.mark.parametrize("firms", [10.5, "100", True])
def test_firms_must_be_an_integer(firms):
    with pytest.raises(ValueError, match="`firms` must be an integer >= 10"):
        SimulationConfig(firms=firms)


@pytest.mark.parametrize("years", [0, 21, 1.5])
def test_years_out_of_range_is_refused(years):
    with pytest.raises(ValueError, match="`years` must be an integer"):
        SimulationConfig(years=years)


def test_negative_seed_is_refused():
    with pytest.raises(ValueError, match=r"`seed` must be an integer >= 0; got -1\."):
        SimulationConfig(seed=-1)


def test_start_must_be_a_date_not_a_datetime():
    with pytest.raises(ValueError, match="`start` must be a datetime.date"):
        SimulationConfig(start=datetime(2023, 1, 1))


def test_unknown_file_format_lists_the_allowed_formats():
    with pytest.raises(ValueError, match="`file_format` must be one of parquet, csv; got 'xlsx'"):
        SimulationConfig(file_format="xlsx")


def test_shock_of_unknown_industry_names_the_allowed_industries():
    with pytest.raises(ValueError, match="must be one of machinery, construction, .*wholesale; got 'mining'"):
        IndustryShock(industry="mining", start=date(2024, 1, 1))


@pytest.mark.parametrize(("field", "value"), [("months", 0), ("depth", 0.0), ("depth", -1.0)])
def test_shock_out_of_range_is_refused(field, value):
    kwargs = {"industry": "textiles", "start": date(2024, 1, 1), field: value}
    with pytest.raises(ValueError, match=f"`{field}`"):
        IndustryShock(**kwargs)


def test_shocks_must_be_industry_shocks():
    with pytest.raises(ValueError, match="`shocks` must hold IndustryShock values"):
        SimulationConfig(shocks=({"industry": "textiles"},))


def test_simulate_refuses_anything_but_a_config(tmp_path):
    with pytest.raises(ValueError, match="`config` must be a SimulationConfig; got dict"):
        simulate({"firms": 100}, tmp_path)
