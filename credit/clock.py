"""The one clock: every "now" of the library, the service, the pipelines and the demo.

Timestamps in the store are UTC without a zone, so :func:`now` returns a naive UTC
``datetime``. Nothing else reads the wall clock (``tests/test_clock.py`` greps the tree for
it), which lets tests, the demo and a sandbox put the whole product at another moment:

* :class:`SystemClock` is the machine's clock (the default);
* :class:`FixedClock` stands still until moved (tests of expiry, ageing and month ends);
* :class:`ShiftedClock` ticks like the machine's clock from a chosen start, so a served
  demo or a whole test session can run "as if" on another date;
* :class:`OffsetClock` is the installed clock moved by a fixed offset (the sandbox's clock).

The installed clock is the process's (:func:`install`, :func:`using`). :func:`running_on`
puts one block of work on another clock without touching the process's: a context variable
that the thread or task running the block sees, and the threads it hands work to (Starlette's
thread pool copies the context), while other requests keep the installed clock. The sandbox
runs each request of a test key that way (:mod:`api.kit.sandbox`).

The environment variable ``CREDIT_NOW`` (ISO 8601, UTC, e.g. ``2028-02-29T12:00:00``)
starts a process on a :class:`ShiftedClock`; a CLI subprocess started by a test inherits it.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, date, datetime, timedelta
from typing import Protocol

ENVIRONMENT_VARIABLE = "CREDIT_NOW"


class Clock(Protocol):
    """Anything that tells the time as a naive UTC ``datetime``."""

    def now(self) -> datetime: ...


class SystemClock:
    """The machine's clock."""

    def now(self) -> datetime:
        return datetime.now(UTC).replace(tzinfo=None)

    def __repr__(self) -> str:
        return "SystemClock()"


class FixedClock:
    """A clock that stands at ``at`` until :meth:`set` or :meth:`advance` moves it.

    Parameters
    ----------
    at : datetime
        The instant, naive UTC (an aware one is converted to UTC).
    """

    def __init__(self, at: datetime):
        self._at = _naive_utc(at, "at")

    def now(self) -> datetime:
        return self._at

    def set(self, at: datetime) -> None:
        """Put the clock at ``at``."""
        self._at = _naive_utc(at, "at")

    def advance(self, by: timedelta) -> datetime:
        """Move the clock forward (or back, with a negative ``by``) and return the new now."""
        self._at += by
        return self._at

    def __repr__(self) -> str:
        return f"FixedClock({self._at.isoformat()})"


class ShiftedClock:
    """A clock that reads ``start`` when it is made and then ticks with the machine's clock.

    Parameters
    ----------
    start : datetime
        What :meth:`now` returns at construction, naive UTC (an aware one is converted).
    """

    def __init__(self, start: datetime):
        self._start = _naive_utc(start, "start")
        self._began = time.monotonic()

    def now(self) -> datetime:
        return self._start + timedelta(seconds=time.monotonic() - self._began)

    def __repr__(self) -> str:
        return f"ShiftedClock(started at {self._start.isoformat()})"


class OffsetClock:
    """The installed clock moved by ``offset``: it ticks as the installed clock ticks (or stands as it stands).

    Parameters
    ----------
    offset : timedelta
        Added to the installed clock's now; may be negative.
    """

    def __init__(self, offset: timedelta):
        if not isinstance(offset, timedelta):
            raise TypeError(f"`offset` must be a timedelta; got {offset!r}.")
        self.offset = offset

    def now(self) -> datetime:
        return _clock.now() + self.offset  # the installed clock, never now(): this clock may be the context's

    def __repr__(self) -> str:
        return f"OffsetClock({self.offset})"


def _naive_utc(at: object, name: str) -> datetime:
    if not isinstance(at, datetime):
        raise TypeError(f"`{name}` must be a datetime; got {at!r}.")
    return at.astimezone(UTC).replace(tzinfo=None) if at.tzinfo is not None else at


def parse_instant(text: str, source: str = ENVIRONMENT_VARIABLE) -> datetime:
    """An ISO 8601 instant (date, or date and time; UTC unless it carries an offset) as naive UTC.

    Raises
    ------
    ValueError
        If ``text`` is not such an instant; the message names ``source``.
    """
    try:
        at = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(f"{source} must be an ISO 8601 date or date and time such as 2028-02-29T12:00:00 "
                         f"(UTC); got {text!r}.") from None
    return _naive_utc(at, source)


def _from_environment() -> Clock:
    text = os.environ.get(ENVIRONMENT_VARIABLE, "")
    return ShiftedClock(parse_instant(text)) if text.strip() else SystemClock()


_clock: Clock = _from_environment()
_context_clock: ContextVar[Clock | None] = ContextVar("credit_clock", default=None)


def now() -> datetime:
    """Now, naive UTC, from the context's clock (:func:`running_on`) or else the installed clock."""
    clock = _context_clock.get()
    return (_clock if clock is None else clock).now()


def today() -> date:
    """Today's date in UTC, from the same clock as :func:`now`."""
    return now().date()


def current() -> Clock:
    """The installed clock."""
    return _clock


def install(clock: Clock) -> Clock:
    """Make ``clock`` the one clock; return the clock it replaces."""
    global _clock
    if not callable(getattr(clock, "now", None)):
        raise TypeError(f"`clock` must have a now() method; got {clock!r}.")
    previous, _clock = _clock, clock
    return previous


@contextmanager
def using(clock: Clock) -> Iterator[Clock]:
    """Run a block on ``clock``, then put the previous clock back."""
    previous = install(clock)
    try:
        yield clock
    finally:
        install(previous)


@contextmanager
def running_on(clock: Clock) -> Iterator[Clock]:
    """Run a block on ``clock`` in this context only: this thread or task, and the work it hands to threads.

    The installed clock stays as it is for everything else, so one request of a server can run
    at another time than its neighbours. Blocks nest; each puts the previous context clock back.
    """
    if not callable(getattr(clock, "now", None)):
        raise TypeError(f"`clock` must have a now() method; got {clock!r}.")
    token = _context_clock.set(clock)
    try:
        yield clock
    finally:
        _context_clock.reset(token)


@contextmanager
def frozen(at: datetime) -> Iterator[FixedClock]:
    """Run a block with the clock standing at ``at``; the :class:`FixedClock` can be moved inside it."""
    with using(FixedClock(at)) as clock:
        yield clock
