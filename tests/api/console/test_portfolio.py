"""The portfolio dashboard: exposure and expected loss by grade, utilisation, application rates, monitoring."""

from __future__ import annotations

from collections import Counter, defaultdict
from decimal import ROUND_HALF_EVEN, Decimal

from sqlalchemy import select, text

from credit.ledger.tables import CreditLine
from credit.monitoring.results import WARNING_REASONS, latest_run
from credit.scoring.tables import ScoreSnapshot
from tests.api.console.facts import euros, grade_of
from tests.api.console.pages import parse

LGD = Decimal("0.45")  # credit_line.limit.loss_given_default in credit/policy/policy.yaml


def tooltips(svg) -> list[str]:  # noqa: ANN001
    return [title.text for title in svg.find_all("title")]


def chart(page, title: str):  # noqa: ANN001, ANN201
    return next(svg for svg in page.find_all("svg") if svg.find("text").text == title)


def test_exposure_and_expected_loss_by_grade_are_worked_out_from_lines_and_latest_scores(finance, console_app) -> None:
    with console_app.state.sessionmaker() as session:
        lines = session.execute(select(CreditLine).where(CreditLine.status != "closed")).scalars().all()
        latest = {}
        for firm_id, pd_ in session.execute(select(ScoreSnapshot.firm_id, ScoreSnapshot.pd).order_by(
                ScoreSnapshot.firm_id, ScoreSnapshot.as_of, ScoreSnapshot.scored_at, ScoreSnapshot.score_id)):
            latest[firm_id] = Decimal(repr(pd_))
    expected: dict[str, list] = defaultdict(lambda: [0, 0, 0, Decimal(0)])
    for line in lines:
        exposure = line.posted_minor + line.pending_minor
        pd_ = latest[line.firm_id]
        for key in (grade_of(pd_), "All"):
            expected[key][0] += 1
            expected[key][1] += line.limit_minor
            expected[key][2] += exposure
            expected[key][3] += pd_ * LGD * exposure
    page = parse(finance.get("/console/portfolio").text)
    for grade, (count, limit, exposure, loss) in expected.items():
        row = page.find("tr", data_grade=grade) if grade != "All" else page.find("tfoot").find("tr")
        cells = [td.text for td in row.find_all("td")]
        assert cells[:3] == [str(count), euros(limit), euros(exposure)], grade
        assert cells[3] == f"{Decimal(exposure) * 100 / limit:.1f}%"
        assert cells[4] == euros(int(loss.quantize(Decimal(1), ROUND_HALF_EVEN))), grade
    assert expected["All"][2] > 0 and len(expected) >= 3
    total = expected["All"]
    assert f"{total[0]} open credit lines (1 frozen)" in page.find("p", class_="lead").text
    assert "LGD 45% from the credit policy" in page.text
    bars = tooltips(chart(page, "Expected loss by grade"))
    for grade, (_, _, _, loss) in expected.items():
        if grade != "All":
            assert any(tip == f"Expected loss, {grade}: EUR {euros(int(loss.quantize(Decimal(1), ROUND_HALF_EVEN)))}"
                       for tip in bars), (grade, bars)


def test_utilisation_bands_and_application_rates_count_the_store(finance, console_app) -> None:
    with console_app.state.engine.connect() as connection:
        lines = connection.execute(text("SELECT limit_minor, posted_minor + pending_minor FROM credit_lines "
                                        "WHERE status <> 'closed'")).all()
        statuses = Counter(connection.execute(text("SELECT status FROM credit_line_applications")).scalars())
    bands = Counter()
    for limit, used in lines:
        share = Decimal(used) * 100 / limit
        bands["0%" if used == 0 else "1–25%" if share <= 25 else "25–50%" if share <= 50 else "50–75%" if share <= 75
              else "75–90%" if share <= 90 else "90–100%"] += 1
    page = parse(finance.get("/console/portfolio").text)
    shown = tooltips(chart(page, "Lines by share of the limit used"))
    for band in ("0%", "1–25%", "25–50%", "50–75%", "75–90%", "90–100%"):
        assert f"Lines, {band}: {bands[band]}" in shown, shown
    table = next(t for t in page.find_all("table") if t.find("th").text == "Decided")
    rows = {tr.find("th").text: [td.text for td in tr.find_all("td")] for tr in table.find("tbody").find_all("tr")}
    total = sum(statuses.values())
    assert rows["Approved at once"] == [str(statuses["approved"]), f"{Decimal(statuses['approved']) * 100 / total:.1f}%"]
    assert rows["Declined at once"][0] == str(statuses["declined"])
    assert rows["… waiting for review"][0] == str(statuses["referred"])
    assert rows["Referred to the finance team"][0] == str(statuses["referred"] + statuses["reviewed"])
    assert table.find("tfoot").find("td").text == str(total)


def test_the_monitoring_panels_show_the_latest_run(finance, console_app) -> None:
    with console_app.state.sessionmaker() as session:
        run = latest_run(session)
    page = parse(finance.get("/console/portfolio").text)
    calibration = next(t for t in page.find_all("table") if [th.text for th in t.find("thead").find_all("th")][:3]
                       == ["Grade", "Firms", "Defaults"])
    shown = [[td.text for td in tr.find_all("td")] + [tr.find("th").text] for tr in calibration.find("tbody").find_all("tr")]
    assert shown == [[str(g.firms), str(g.defaults), f"{Decimal(str(g.predicted_rate)) * 100:.2f}%",
                      f"{Decimal(str(g.realised_rate)) * 100:.2f}%",
                      f"{Decimal(str(g.ci_low)) * 100:.2f}% – {Decimal(str(g.ci_high)) * 100:.2f}%", g.status, g.grade]
                     for g in run.grades]
    status = page.find("p", class_="alarms").text
    if run.alarms:
        assert status.startswith("Alarms:")
        for item in run.alarms:
            assert (f"PSI of the score {item.psi:.2f}" if hasattr(item, "variable") else f"grade {item.grade}") in status
    else:
        assert status.startswith("No alarm")
    assert "Default rate by grade: predicted and realised" in [svg.find("text").text for svg in page.find_all("svg")]
    psi = chart(page, "PSI of the 15 most shifted variables")
    largest = sorted((row for row in run.psi if row.segment == "all"), key=lambda row: -row.psi)[:15]
    assert len([tip for tip in tooltips(psi) if ": " in tip]) >= len(largest)
    rows = [tr for table in page.find_all("table", class_="warnings") for tr in table.find_all("tr")
            if "data-firm-id" in tr.attrs]
    assert [tr.find("a").attrs["href"] for tr in rows] == [f"/console/firms/{w.firm_id}" for w in run.warnings]
    with console_app.state.sessionmaker() as session:
        lines = {line.firm_id: line for line in session.execute(select(CreditLine)).scalars()}
    for tr, warning in zip(rows, run.warnings, strict=True):
        chips = tr.find_all("span", class_="chip")
        assert [chip.attrs["data-code"] for chip in chips] == list(warning.reasons)
        assert [chip.attrs["title"] for chip in chips] == [WARNING_REASONS[code] for code in warning.reasons]
        line = lines.get(warning.firm_id)
        used = tr.find_all("td")[1].text
        assert used == ("no line" if line is None else
                        f"{euros(line.posted_minor + line.pending_minor)} of {euros(line.limit_minor)}"
                        + ("" if line.status == "active" else f" {line.status}"))
    assert any("utilisation_high" in w.reasons for w in run.warnings if w.firm_id in lines)


def test_without_a_monitoring_run_the_dashboard_says_how_to_get_one(finance, console_app) -> None:
    with console_app.state.engine.begin() as connection:
        for table in ("monitoring_early_warnings", "monitoring_psi", "monitoring_grade_calibration",
                      "monitoring_vintage_calibration", "monitoring_runs"):
            connection.execute(text(f"DELETE FROM {table}"))
    response = finance.get("/console/portfolio")
    assert response.status_code == 200
    assert "No monitoring run is stored yet" in parse(response.text).find("p", class_="empty").text
