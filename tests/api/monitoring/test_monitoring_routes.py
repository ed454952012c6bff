"""GET /v1/monitoring/...: roles, 404 before the first run, and what the latest run says."""

from __future__ import annotations

import pytest

from credit.monitoring.results import WARNING_REASONS

PATHS = ["/v1/monitoring/latest", "/v1/monitoring/psi", "/v1/monitoring/calibration",
         "/v1/monitoring/early-warnings"]


def _get(client, path: str, key: str, **params):  # noqa: ANN001, ANN202
    return client.get(path, params=params, headers={"Authorization": f"Bearer {key}"})


@pytest.mark.parametrize("path", PATHS)
def test_before_the_first_run_every_route_is_404_with_its_code(market_client, market_keys, path: str):  # noqa: ANN001
    response = _get(market_client, path, market_keys["analyst"])
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "monitoring_run_not_found"
    assert "credit monitor" in response.json()["error"]["message"]


@pytest.mark.parametrize("path", PATHS)
def test_the_checkout_key_is_refused_and_analyst_finance_admin_read(market_client, market_keys, monitored,  # noqa: ANN001
                                                                   path: str):
    refused = _get(market_client, path, market_keys["checkout"])
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "forbidden"
    assert market_client.get(path).status_code == 401
    for role in ("analyst", "finance", "admin"):
        assert _get(market_client, path, market_keys[role]).status_code == 200, role


def test_the_summary_counts_what_the_run_holds(market_client, market_keys, monitored):  # noqa: ANN001
    body = _get(market_client, "/v1/monitoring/latest", market_keys["finance"]).json()
    assert body["run"]["run_id"] == monitored.run_id and body["run"]["as_of"] == monitored.as_of.isoformat()
    assert body["run"]["training_from"] == monitored.training_from.isoformat()
    assert body["alarms"] == len(monitored.alarms)
    assert body["watches"] == len(monitored.watches)
    assert body["early_warnings"] == len(monitored.warnings)
    assert sum(body["feature_psi"].values()) == sum(row.variable != "score" for row in monitored.psi)
    assert [row["segment"] for row in body["score_psi"]] == [r.segment for r in monitored.psi if r.variable == "score"]
    assert body["early_warnings_by_reason"] == {
        code: sum(code in w.reasons for w in monitored.warnings) for code in WARNING_REASONS}


def test_psi_filters_by_variable_segment_and_status(market_client, market_keys, monitored):  # noqa: ANN001
    key = market_keys["analyst"]
    score = _get(market_client, "/v1/monitoring/psi", key, variable="score").json()["items"]
    assert score and {row["variable"] for row in score} == {"score"} and score[0]["segment"] == "all"
    book = _get(market_client, "/v1/monitoring/psi", key, segment="all").json()["items"]
    assert len(book) == 1 + sum(row.variable != "score" and row.segment == "all" for row in monitored.psi)
    assert book[0]["variable"] == "score"  # the score first
    watched = _get(market_client, "/v1/monitoring/psi", key, status="watch").json()["items"]
    assert len(watched) == sum(row.status == "watch" for row in monitored.psi)
    assert all(0.1 <= row["psi"] < 0.25 for row in watched)
    assert _get(market_client, "/v1/monitoring/psi", key, status="panic").status_code == 422
    assert _get(market_client, "/v1/monitoring/psi", key, segment="x" * 201).status_code == 422


def test_calibration_by_grade_and_vintage(market_client, market_keys, monitored):  # noqa: ANN001
    body = _get(market_client, "/v1/monitoring/calibration", market_keys["analyst"]).json()
    assert body["interval"] == "Clopper-Pearson, 95%"
    assert [g["grade"] for g in body["grades"]] == [g.grade for g in monitored.grades]
    assert all(g["ci_low"] <= g["realised_rate"] <= g["ci_high"] for g in body["grades"])
    assert len(body["vintages"]) == len(monitored.vintages) > 0
    assert body["calibration_vintage"] == monitored.calibration_vintage.isoformat()


def test_early_warnings_filter_by_reason_and_limit(market_client, market_keys, monitored):  # noqa: ANN001
    key = market_keys["finance"]
    everything = _get(market_client, "/v1/monitoring/early-warnings", key, limit=1000).json()
    assert everything["total"] == len(everything["items"]) == len(monitored.warnings) > 0
    first = everything["items"][0]
    assert [r["text"] for r in first["reasons"]] == [WARNING_REASONS[r["code"]] for r in first["reasons"]]
    assert set(first["details"]) == {r["code"] for r in first["reasons"]}
    code = first["reasons"][0]["code"]
    only = _get(market_client, "/v1/monitoring/early-warnings", key, reason=code, limit=2).json()
    assert only["total"] == sum(code in w.reasons for w in monitored.warnings)
    assert len(only["items"]) == min(2, only["total"])
    assert all(code in {r["code"] for r in item["reasons"]} for item in only["items"])
    assert _get(market_client, "/v1/monitoring/early-warnings", key, reason="vibes").status_code == 422
    assert _get(market_client, "/v1/monitoring/early-warnings", key, limit=0).status_code == 422


def test_psi_and_early_warnings_page_by_cursor_within_the_run(market_client, market_keys, monitored):  # noqa: ANN001
    from credit.paging import encode_cursor

    key = market_keys["analyst"]
    for path, name, page_size, filters in (("/v1/monitoring/psi", "psi", 7, {"segment": "all"}),
                                           ("/v1/monitoring/early-warnings", "early-warning", 2, {})):
        whole = _get(market_client, path, key, limit=1000, **filters).json()
        assert whole["next_cursor"] is None and len(whole["items"]) > page_size, path
        items, cursor, pages = [], None, 0
        while True:
            params = filters | {"limit": page_size} | ({"cursor": cursor} if cursor else {})
            page = _get(market_client, path, key, **params).json()
            items += page["items"]
            pages += 1
            cursor = page["next_cursor"]
            if cursor is None:
                break
            assert cursor == encode_cursor(f"{name}.{monitored.run_id}", len(items))
        assert items == whole["items"] and pages == -(-len(whole["items"]) // page_size), path
        other_run = _get(market_client, path, key, cursor=encode_cursor(f"{name}.{monitored.run_id + 1}", 2))
        assert other_run.status_code == 422 and other_run.json()["error"]["details"][0]["loc"] == ["query", "cursor"]
