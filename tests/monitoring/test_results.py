"""What a stored monitoring run counts as an alarm and as a watch: the statuses, nothing else."""

from __future__ import annotations

from tests.monitoring.factories import grade_row, make_run, psi_row


def test_a_score_psi_just_above_the_watch_level_is_a_watch_not_an_alarm() -> None:
    run = make_run(psi=(psi_row("score", "all", 0.101),), grades=(grade_row("A"),))
    assert run.psi[0].status == "watch"
    assert run.alarms == ()
    assert run.watches == run.psi


def test_a_score_psi_at_the_alarm_level_is_an_alarm_not_a_watch() -> None:
    run = make_run(psi=(psi_row("score", "all", 0.25),))
    assert run.psi[0].status == "alarm"
    assert run.alarms == run.psi
    assert run.watches == ()


def test_score_rows_and_grades_are_counted_by_status_and_feature_rows_never() -> None:
    calm, moved, drifted = psi_row("score", "all", 0.02), psi_row("score", "industry=textiles", 0.18), \
        psi_row("score", "industry=construction", 0.54)
    tenure = psi_row("tenure_days", "all", 2.05)  # a feature at alarm explains, it does not alarm
    grade_b, grade_g = grade_row("B", "watch"), grade_row("G", "alarm")
    run = make_run(psi=(calm, moved, drifted, tenure), grades=(grade_row("A"), grade_b, grade_g))
    assert run.alarms == (drifted, grade_g)
    assert run.watches == (moved, grade_b)
