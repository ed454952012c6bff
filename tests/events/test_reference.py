"""docs/events.md is the catalogue rendered, and its examples have exactly the fields the catalogue lists."""

from __future__ import annotations

from pathlib import Path

import pytest

from credit.events.catalogue import EVENT_TYPES
from credit.events.reference import EXAMPLES, example_payload, render_events_reference

REPO = Path(__file__).resolve().parents[2]


def test_the_event_reference_doc_matches_the_catalogue():
    assert (REPO / "docs" / "events.md").read_text() == render_events_reference(), (
        "docs/events.md is stale: run `make events-doc`")


@pytest.mark.parametrize("type_", sorted(EXAMPLES))
def test_each_example_has_the_fields_of_its_type(type_):
    fields = EVENT_TYPES[type_].data_fields()
    payload = example_payload(type_)
    assert set(payload["data"]) - {"object", "id", "firm_id"} == set(fields)
    assert payload["data"]["object"] == EVENT_TYPES[type_].object_type


def test_every_type_whose_data_is_listed_has_an_example():
    assert {name for name, kind in EVENT_TYPES.items() if kind.data_fields() is not None} == set(EXAMPLES)
