"""WAL checkpoints off the request path: commits leave them to the Checkpointer, up to the hard bound."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from credit.store.checkpoint import Checkpointer
from credit.store.engine import make_engine

_PAGE = 4096


def _commit_pages(engine, commits: int) -> None:  # noqa: ANN001
    # Each commit appends a page-sized row (about two WAL frames with its table's page).
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE IF NOT EXISTS blobs (id INTEGER PRIMARY KEY, data BLOB)"))
    for _ in range(commits):
        with engine.begin() as connection:
            connection.execute(text("INSERT INTO blobs (data) VALUES (zeroblob(:n))"), {"n": _PAGE})


def _wal_frames(engine) -> tuple[int, int, int]:  # noqa: ANN001
    # (busy, frames in the WAL, frames copied back); a PASSIVE checkpoint copies what it can first.
    connection = engine.raw_connection()
    try:
        return tuple(connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone())
    finally:
        connection.close()


def test_commits_leave_the_checkpoint_to_the_thread_below_the_hard_bound(tmp_path) -> None:  # noqa: ANN001
    engine = make_engine(f"sqlite:///{tmp_path / 'store.db'}", wal_autocheckpoint=100_000)
    _commit_pages(engine, 1_500)
    busy, frames, copied = _wal_frames(engine)
    # 1,500 commits of a page each: past SQLite's default 1,000 pages, none of them checkpointed,
    # so the WAL still holds them all (a commit that checkpointed would have let the WAL restart).
    assert busy == 0 and frames >= 3_000 and copied == frames
    engine.dispose()


def test_the_default_bound_checkpoints_in_a_commit(tmp_path) -> None:  # noqa: ANN001
    # The same writes with SQLite's default: a commit past 1,000 pages checkpoints and the WAL starts over.
    engine = make_engine(f"sqlite:///{tmp_path / 'store.db'}")
    _commit_pages(engine, 1_500)
    assert _wal_frames(engine)[1] < 2_000
    engine.dispose()


def test_the_hard_bound_still_checkpoints_when_the_thread_lags(tmp_path) -> None:  # noqa: ANN001
    engine = make_engine(f"sqlite:///{tmp_path / 'store.db'}", wal_autocheckpoint=500)
    _commit_pages(engine, 1_500)
    assert _wal_frames(engine)[1] < 1_500  # restarted after a commit passed 500 pages
    engine.dispose()


def test_checkpointer_copies_the_wal_back_and_stops(tmp_path) -> None:  # noqa: ANN001
    engine = make_engine(f"sqlite:///{tmp_path / 'store.db'}", wal_autocheckpoint=100_000)
    _commit_pages(engine, 300)
    checkpointer = Checkpointer(engine, interval=3600)  # the thread would wait an hour: the test checkpoints
    connection = engine.raw_connection()
    try:
        busy, frames, copied = checkpointer.checkpoint(connection)
    finally:
        connection.close()
    assert busy == 0 and frames >= 600 and copied == frames and checkpointer.checkpoints == 1
    checkpointer.start()
    thread = checkpointer._thread
    assert thread is not None and thread.is_alive()
    checkpointer.stop()
    assert not thread.is_alive()  # stopped while waiting: no checkpoint to finish first
    with pytest.raises(RuntimeError, match="already started"):
        checkpointer.start()
    engine.dispose()


def test_checkpointer_does_nothing_on_another_store() -> None:
    engine = make_engine("sqlite://")  # in memory: no WAL
    checkpointer = Checkpointer(engine).start()
    assert checkpointer._thread is None
    checkpointer.stop()
    engine.dispose()


@pytest.mark.parametrize("value", [-1, 1.5, True, "1000"])
def test_wal_autocheckpoint_must_be_pages(tmp_path, value) -> None:  # noqa: ANN001
    with pytest.raises(ValueError, match="wal_autocheckpoint"):
        make_engine(f"sqlite:///{tmp_path / 'store.db'}", wal_autocheckpoint=value)


def test_interval_must_be_positive(tmp_path) -> None:  # noqa: ANN001
    with pytest.raises(ValueError, match="interval"):
        Checkpointer(make_engine(f"sqlite:///{tmp_path / 'store.db'}"), interval=0)
