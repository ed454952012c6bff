"""PostgreSQL's short lane for :mod:`credit.store.prepared`: a statement psycopg has prepared, run by libpq in one call.

psycopg prepares a statement on the server after it ran five times on a connection, and from
then on sends only its name and parameters. What stays costly is psycopg's own Python around
each of them: a cursor per statement, its generators, a ``poll`` on the socket between sending
and reading, the result's description. ``benchmarks/pg_statement.py`` (a small ``SELECT``
through :class:`~credit.store.prepared.PreparedStatement`, one connection) measured 36-37 us
of client CPU and 46-48 us of wall per statement on a cursor, and 13 us and 21 us through
libpq's ``PQexecPrepared``, which sends, waits (the GIL released) and reads in one C call;
in a slow hour of the shared machine 84-92 and 138-145 us against 46-48 and 100-112 us.
An authorization runs about twelve such statements.

:func:`run` takes a statement only when everything psycopg would check holds, and otherwise
says no (None), so the caller runs it on a cursor as before:

* the connection is inside a transaction (on an idle one psycopg's cursor first sends the
  ``BEGIN`` that SQLAlchemy's transaction stands for; this lane sends nothing but the
  statement), and not in pipeline mode (where libpq refuses a call that waits for its result);
* psycopg has this very statement (its SQL and its parameters' types) prepared on this
  connection, under the name psycopg gave it. psycopg forgets its names when it deallocates
  them (``DEALLOCATE ALL`` after every rollback, to a savepoint too, and its cache's own
  evictions), so a name it still holds exists on the server. The lane never prepares or
  deallocates anything itself.

The parameters are dumped, and the rows loaded, by psycopg's own transformer for the
connection, the same adapters a cursor uses: the values are the cursor's. A failed statement
raises psycopg's exception for its SQLSTATE, as the cursor would, and leaves the transaction
failed, as the cursor would.

psycopg's prepared-statement cache (``Connection._prepared``) and query conversion
(``psycopg._queries``) are not public API. If a psycopg release changes them, the lane turns
itself off and every statement takes the cursor (``tests/store/test_libpq_lane.py`` checks
that the lane is taken, so the suite notices).
"""

from __future__ import annotations

from typing import Any
from weakref import WeakKeyDictionary

try:
    from psycopg import errors as _errors
    from psycopg._queries import PostgresQuery
    from psycopg.adapt import Transformer
    from psycopg.pq import ExecStatus, Format, TransactionStatus
except ImportError:  # no psycopg, or one without these: the cursor takes everything
    PostgresQuery = None

_TRANSFORMERS: WeakKeyDictionary[Any, Any] = WeakKeyDictionary()  # psycopg connection -> its transformer


def run(connection: Any, sql: str, arguments: dict[str, Any]) -> tuple[list[tuple], int, list[int]] | None:
    """Run ``sql`` (psycopg's ``%(name)s`` style) on psycopg ``connection`` through libpq, or None: use a cursor.

    Returns
    -------
    rows, rowcount, type_codes
        The rows as tuples, as ``cursor.fetchall()`` gives them; ``cursor.rowcount`` (-1 when
        the command reports none); each result column's type OID, as the cursor's
        ``description`` has it (``[]`` without rows).

    Raises
    ------
    psycopg.Error
        The server's error, as psycopg raises it.
    """
    if (PostgresQuery is None or connection.pgconn.transaction_status != TransactionStatus.INTRANS
            or connection.pgconn.pipeline_status):
        return None
    names = getattr(getattr(connection, "_prepared", None), "_names", None)
    if not names:  # nothing prepared yet (or psycopg's cache looks different): the cursor prepares
        return None
    transformer = _TRANSFORMERS.get(connection)
    if transformer is None:
        transformer = _TRANSFORMERS[connection] = Transformer(connection)
    query = PostgresQuery(transformer)
    query.convert(sql, arguments)
    name = names.get((query.query, query.types))
    if name is None:
        return None
    result = connection.pgconn.exec_prepared(name, query.params, param_formats=query.formats,
                                             result_format=Format.TEXT)
    status = result.status
    if status == ExecStatus.TUPLES_OK:
        count = result.ntuples
        if not count:
            return [], 0, []
        transformer.set_pgresult(result)
        return (transformer.load_rows(0, count, tuple), count,
                [result.ftype(column) for column in range(result.nfields)])
    if status == ExecStatus.COMMAND_OK:
        count = result.command_tuples
        return [], -1 if count is None else count, []
    if status == ExecStatus.FATAL_ERROR:
        raise _errors.error_from_result(result, encoding=transformer.encoding)
    raise _errors.InterfaceError(f"unexpected result {ExecStatus(status).name} from a prepared statement")
