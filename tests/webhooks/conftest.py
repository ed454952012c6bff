from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.webhooks.receiver import Receiver


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """A receiver on 127.0.0.1 that answers 200; set its ``secrets`` to the endpoint's."""
    running = Receiver()
    yield running
    running.close()
