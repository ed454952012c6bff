"""A table's report grades on its own PD quantiles or on the analyst's scale, never on the marketplace's."""

from __future__ import annotations

import numpy as np
import pytest

from credit.models.report import EvaluatedModel
from credit.models.table_grades import graded_on, parse_scale, quantile_scale


def test_seven_grades_cut_at_the_sevenths_of_the_pooled_pds() -> None:
    # 70 PDs 0.01, 0.02, ..., 0.70 in two candidates of 35 each; the k/7 quantiles (linear
    # interpolation over 70 values) are 0.01 + 0.69 * k / 7: 0.1086, 0.2071, ..., 0.6014
    first, second = np.arange(1, 71, 2) / 100, np.arange(2, 71, 2) / 100
    scale = quantile_scale([first, second])
    assert scale.grades == list("ABCDEFG")
    assert scale.bounds == pytest.approx([0.01 + 0.69 * k / 7 for k in range(1, 7)] + [1.0])
    grades = scale.grades_of(np.concatenate([first, second]))
    # A takes 0.01..0.10, B 0.11..0.20, ..., G 0.61..0.70: ten PDs each
    assert {g: int((grades == g).sum()) for g in "ABCDEFG"} == dict.fromkeys("ABCDEFG", 10)


def test_tied_quantiles_merge_grades() -> None:
    # every k/7 quantile is 0.1 (90% of the PDs): one cut, two grades, the tied PDs in A
    scale = quantile_scale([np.array([0.1] * 90 + [0.5] * 10)])
    assert scale.bounds == (0.1, 1.0)
    assert scale.grades_of([0.1, 0.5]).tolist() == ["A", "B"]


def test_the_analysts_scale_grades_by_upper_bounds_and_the_last_grade_takes_the_rest() -> None:
    scale = parse_scale("0.02, 0.05,0.1")
    assert scale.grades == ["A", "B", "C", "D"]
    assert scale.grades_of([0.0, 0.02, 0.0201, 0.07, 0.1, 0.1001, 1.0]).tolist() == ["A", "A", "B", "C", "C", "D", "D"]
    assert scale.describe() == ("4 grades on the analyst's scale (--scale 0.02, 0.05,0.1): "
                                "A [0%, 2%]; B (2%, 5%]; C (5%, 10%]; D (10%, 100%]")


@pytest.mark.parametrize(("text", "message"), [
    ("0.02,low", "--scale '0.02,low': give PD upper bounds as numbers separated by commas, e.g. --scale 0.02,0.05,0.1"),
    ("0.05,0.02", "--scale '0.05,0.02': the PD upper bounds must increase and lie between 0 and 1, "
                  "e.g. --scale 0.02,0.05,0.1"),
    ("0.5,1", "--scale '0.5,1': the PD upper bounds must increase and lie between 0 and 1, e.g. --scale 0.02,0.05,0.1"),
])
def test_a_scale_that_is_not_increasing_pds_is_refused(text: str, message: str) -> None:
    with pytest.raises(ValueError) as error:
        parse_scale(text)
    assert str(error.value) == message


def test_every_candidate_is_graded_on_the_same_scale() -> None:
    models = [EvaluatedModel("a", [0, 1], [0.01, 0.3]), EvaluatedModel("b", [0, 1], [0.04, 0.06])]
    graded = graded_on(models, parse_scale("0.05"))
    assert [m.grades.tolist() for m in graded] == [["A", "B"], ["A", "B"]]
    assert graded[0].grade_order == ["A", "B"]
