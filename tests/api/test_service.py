"""Health and metrics."""

from __future__ import annotations

from sqlalchemy import create_engine

from tests.api.conftest import auth


def test_health_needs_no_key_and_reports_the_schema(client):
    response = client.get("/v1/health")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok" and body["database"] == "ok" and body["schema_current"] is True
    assert {"0020_api_clients", "0014_payout_references"} <= set(body["schema_revisions"])


def test_health_is_503_when_the_store_does_not_answer(client, app):
    store = app.state.engine
    app.state.engine = create_engine("postgresql+psycopg://nobody@127.0.0.1:1/none", connect_args={"connect_timeout": 2})
    try:
        response = client.get("/v1/health")
    finally:
        app.state.engine = store
    assert response.status_code == 503
    assert response.json()["status"] == "unavailable"


def test_metrics_count_requests_per_route_template_and_status(client, keys):
    client.get("/v1/health")
    client.delete("/v1/api-keys/424242", headers=auth(keys["admin"]))
    client.get("/v1/definitely/not/here")
    response = client.get("/v1/metrics", headers=auth(keys["analyst"]))
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/plain")
    text = response.text
    assert 'credit_http_requests_total{method="GET",route="/v1/health",status="200"} 1.0' in text
    assert 'credit_http_requests_total{method="DELETE",route="/v1/api-keys/{key_id}",status="404"} 1.0' in text
    assert 'route="unmatched",status="404"' in text and "424242" not in text
    assert 'credit_http_request_duration_seconds_bucket{le="0.005",method="GET",route="/v1/health",status="200"}' in text
