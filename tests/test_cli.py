"""Every command of the `credit` CLI documents itself."""

from __future__ import annotations

import pytest
import typer
from typer.testing import CliRunner

from credit.cli import app


def _command_paths(group, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:  # noqa: ANN001
    paths = []
    for name, command in group.commands.items():
        paths.append((*prefix, name))
        if hasattr(command, "commands"):  # a group (Typer ships its own click)
            paths.extend(_command_paths(command, (*prefix, name)))
    return paths


COMMANDS = _command_paths(typer.main.get_command(app))


def test_the_cli_has_the_commands_the_readme_lists():
    assert {" ".join(p) for p in COMMANDS} >= {"simulate", "ingest", "quarantine", "schema", "db", "db upgrade", "db revision", "demo",
                                               "features", "features list", "features build",
                                               "train", "evaluate", "promote", "retrain"}


@pytest.mark.parametrize("path", COMMANDS, ids=[" ".join(p) for p in COMMANDS])
def test_every_command_has_help(path):
    result = CliRunner().invoke(app, [*path, "--help"])
    assert result.exit_code == 0
    assert "Usage:" in result.output
    command = typer.main.get_command(app)
    for name in path:
        command = command.commands[name]
    assert command.help and len(command.help.split()) >= 4, f"{' '.join(path)} has no real description"
