"""Decision commands: show a stored decision, replay it under its own policy."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.table import Table

from cli.common import DatabaseUrl, app, console, fail, open_store

decisions_app = typer.Typer(help="The decision audit trail: show a decision, replay it to the same result.",
                            no_args_is_help=True)
app.add_typer(decisions_app, name="decisions")

DecisionId = Annotated[str, typer.Argument(help="The decision's id (a UUID, as the API returned it).")]


def _text(value: object) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)


@decisions_app.command("show")
def show(decision_id: DecisionId, database_url: DatabaseUrl = "") -> None:
    """Print a stored decision: kind, firm, outcome, amounts, reasons, model and policy versions, inputs."""
    from sqlalchemy.orm import Session

    from credit.audit import get_decision
    from credit.decisions.codes import describe

    with Session(open_store(database_url)) as session:
        record = get_decision(session, decision_id)
        if record is None:
            fail(f"no decision {decision_id!r} in the store.", code=1)
        table = Table(show_header=False)
        table.add_column("field", style="bold")
        table.add_column("value", overflow="fold")
        for name, value in (
            ("decision", record.decision_id), ("kind", record.kind), ("firm", record.firm_id),
            ("outcome", record.outcome), ("grade", record.grade), ("amounts", record.amounts),
            ("model", f"{record.model_name} version {record.model_version}" if record.model_name else "none"),
            ("policy", record.policy_version), ("actor", record.actor), ("parent", record.parent_decision_id),
            ("created", f"{record.created_at:%Y-%m-%d %H:%M:%S} UTC"), ("request", record.request),
        ):
            table.add_row(name, _text(value) if value is not None else "")
        for rule in record.rules_fired:
            table.add_row("rule fired", f"{rule['code']}: {rule['detail']}")
        for code in record.reason_codes:
            table.add_row("reason", f"{code}: {describe(code)}")
        for code in record.next_actions:
            table.add_row("next action", f"{code}: {describe(code)}")
        table.add_row("inputs", _text(record.inputs))
    console.print(table)


@decisions_app.command("replay")
def replay(decision_id: DecisionId, database_url: DatabaseUrl = "") -> None:
    """Re-run a stored decision on its stored inputs and policy: prints `same` (exit 0) or `different` and
    each difference (exit 1)."""
    from sqlalchemy.orm import Session

    from credit.audit import replay as replay_decision

    with Session(open_store(database_url)) as session:
        try:
            result = replay_decision(session, decision_id)
        except LookupError as exc:
            fail(str(exc), code=2)
    if result.same:
        console.print(f"same: decision {decision_id} replays to its stored result "
                      f"({result.stored.get('outcome')}).", highlight=False)
        return
    console.print(f"different: decision {decision_id} does not replay to its stored result.", highlight=False)
    table = Table()
    for column in ("field", "stored", "recomputed"):
        table.add_column(column, overflow="fold")
    for difference in result.differences:
        table.add_row(difference.field, _text(difference.stored), _text(difference.recomputed))
    console.print(table)
    raise typer.Exit(1)
