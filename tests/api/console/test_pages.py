"""Every console page answers bad addresses and bad queries with a page, never a server error; the decision page."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from credit.audit import DecisionRecord
from tests.api.console.pages import parse

ODD = ["%00", "'; DROP TABLE firms; --", "<script>alert(1)</script>", "9" * 40, "-1", "1e309", "..%2F..%2Fetc",
       "%E2%80%AE", " ", "NaN"]


@pytest.mark.parametrize("odd", ODD)
def test_odd_addresses_and_queries_get_a_page_not_a_server_error(finance, odd) -> None:
    paths = [f"/console/firms/{odd}", f"/console/applications/{odd}", f"/console/decisions/{odd}",
             f"/console/firms?firm_id={odd}", f"/console/models/runs/{odd}/reports/{odd}.html",
             *(f"/console/queue?{name}={odd}" for name in ("grade", "min_limit", "max_limit", "reason", "min_age",
                                                            "max_age"))]
    for path in paths:
        response = finance.get(path)
        assert response.status_code < 500, (path, response.status_code)
        if response.status_code != 303:
            assert "<script>" not in response.text, path  # escaped, never echoed raw
    for path in (f"/console/firms/{odd}/line", f"/console/applications/{odd}/review"):
        response = finance.post(path, data={"action": odd, "limit": odd, "reason": odd, "csrf_token": odd})
        assert response.status_code < 500, (path, response.status_code)


def test_the_decision_page_shows_the_audited_record(finance, console_app, book) -> None:
    with console_app.state.sessionmaker() as session:
        record = session.execute(select(DecisionRecord).where(DecisionRecord.kind == "line_change")).scalar_one()
    page = parse(finance.get(f"/console/decisions/{record.decision_id}").text)
    assert page.find("h1").text == f"Line change decision {record.decision_id}"
    assert f"by {record.actor}" in page.find("p", class_="lead").text
    request = {tr.find("th").text: tr.find("td").text for tr in page.find_all("table")[-1].find_all("tr")}
    assert request["reason"] == "watching arrears" and request["action"] == "freeze"
    assert "Line frozen by the finance team" in page.text
