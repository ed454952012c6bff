"""GET /v1/events: committed events in order, paged by an opaque cursor, for every role."""

from __future__ import annotations

from fastapi.testclient import TestClient

from credit.events import outbox
from tests.api.conftest import auth


def _emit(app, count: int, first: int = 1) -> list[str]:  # noqa: ANN001
    with app.state.sessionmaker() as session:
        ids = [outbox.emit(session, "credit_line.frozen", object_id=n, firm_id=n, data={"status": "frozen"})
               for n in range(first, first + count)]
        session.commit()
    return ids


def test_a_poller_reads_every_event_once_in_order_across_pages(client: TestClient, app, keys) -> None:  # noqa: ANN001
    ids = _emit(app, 5)
    first = client.get("/v1/events", params={"limit": 2}, headers=auth(keys["checkout"]))
    assert first.status_code == 200, first.text
    page = first.json()
    assert [e["id"] for e in page["items"]] == ids[:2]
    assert page["items"][0]["data"] == {"object": "credit_line", "id": "1", "firm_id": 1, "status": "frozen"}
    assert page["items"][0]["timestamp"].endswith("Z")

    rest = client.get("/v1/events", params={"cursor": page["next_cursor"], "limit": 10}, headers=auth(keys["analyst"]))
    assert [e["id"] for e in rest.json()["items"]] == ids[2:]

    # The end of the feed: an empty page whose cursor still points after the last event read.
    end = client.get("/v1/events", params={"cursor": rest.json()["next_cursor"]}, headers=auth(keys["finance"])).json()
    assert end["items"] == [] and end["next_cursor"] == rest.json()["next_cursor"]
    later = _emit(app, 1, first=6)
    assert [e["id"] for e in client.get("/v1/events", params={"cursor": end["next_cursor"]},
                                        headers=auth(keys["admin"])).json()["items"]] == later


def test_events_filter_by_type_and_read_one_by_id(client: TestClient, app, keys) -> None:  # noqa: ANN001
    [frozen] = _emit(app, 1)
    with app.state.sessionmaker() as session:
        opened = outbox.emit(session, "credit_line.opened", object_id=9, firm_id=9, data={})
        session.commit()
    page = client.get("/v1/events", params={"type": "credit_line.opened"}, headers=auth(keys["admin"])).json()
    assert [e["id"] for e in page["items"]] == [opened]
    one = client.get(f"/v1/events/{frozen}", headers=auth(keys["payments"]))
    assert one.status_code == 200 and one.json()["type"] == "credit_line.frozen"
    missing = client.get(f"/v1/events/evt_{'0' * 32}", headers=auth(keys["admin"]))
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "event_not_found"


def test_a_cursor_the_service_did_not_give_is_refused_naming_it(client: TestClient, keys) -> None:  # noqa: ANN001
    answer = client.get("/v1/events", params={"cursor": "bm9wZTox"}, headers=auth(keys["admin"]))
    assert answer.status_code == 422
    assert answer.json()["error"]["details"][0]["loc"] == ["query", "cursor"]
    assert client.get("/v1/events").status_code == 401
