"""Every command of the `credit` CLI documents itself."""

from __future__ import annotations

import pytest
import typer
from typer.testing import CliRunner

from cli import app


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
                                               "train", "evaluate", "promote", "retrain", "serve", "api-key",
                                               "api-key create", "api-key list", "api-key revoke"}


@pytest.mark.parametrize("path", COMMANDS, ids=[" ".join(p) for p in COMMANDS])
def test_every_command_has_help(path):
    result = CliRunner().invoke(app, [*path, "--help"])
    assert result.exit_code == 0
    assert "Usage:" in result.output
    command = typer.main.get_command(app)
    for name in path:
        command = command.commands[name]
    assert command.help and len(command.help.split()) >= 4, f"{' '.join(path)} has no real description"


def test_api_keys_are_printed_once_and_stored_hashed(tmp_path):
    import hashlib

    from sqlalchemy import create_engine, text

    url = f"sqlite:///{tmp_path / 'store.db'}"
    created = CliRunner().invoke(app, ["api-key", "create", "checkout-service", "checkout", "--database-url", url])
    assert created.exit_code == 0, created.output
    plaintext = created.output.split()[-1]
    assert plaintext.startswith("mck_")
    with create_engine(url).connect() as connection:
        stored = connection.execute(text("SELECT key_hash, role FROM api_keys")).one()
    assert stored == (hashlib.sha256(plaintext.encode()).hexdigest(), "checkout")
    wrong = CliRunner().invoke(app, ["api-key", "create", "x", "boss", "--database-url", url])
    assert wrong.exit_code == 2 and "`role` must be one of checkout, payments, finance, analyst, admin" in wrong.output


def test_the_payment_systems_key_is_issued_with_the_payments_role_the_help_lists(tmp_path):
    from sqlalchemy import create_engine, text

    from api.kit.tables import ROLES

    help_text = " ".join(CliRunner().invoke(app, ["api-key", "create", "--help"], terminal_width=200).output.split())
    assert all(role in help_text for role in ROLES), help_text
    url = f"sqlite:///{tmp_path / 'store.db'}"
    created = CliRunner().invoke(app, ["api-key", "create", "payment-system", "payments", "--database-url", url])
    assert created.exit_code == 0, created.output
    assert "for payment-system (payments)" in created.output
    with create_engine(url).connect() as connection:
        assert connection.execute(text("SELECT name, role FROM api_keys")).one() == ("payment-system", "payments")


def test_an_error_naming_a_config_section_shows_the_brackets(capsys) -> None:  # noqa: ANN001
    from cli.common import fail

    with pytest.raises(typer.Exit) as exited:
        fail("[promotion] min_auc_gain must be a number; got 'x'")
    assert exited.value.exit_code == 2
    assert "error: [promotion] min_auc_gain must be a number; got 'x'" in capsys.readouterr().err


def test_train_help_names_the_tuning_section_of_the_configuration() -> None:
    result = CliRunner().invoke(app, ["train", "--help"], terminal_width=200)
    text = " ".join(result.output.replace("│", " ").split())
    assert "with Optuna first ([tuning] of the configuration); every trial is logged." in text, result.output


@pytest.mark.parametrize("path", COMMANDS, ids=[" ".join(p) for p in COMMANDS])
def test_every_bracketed_word_of_an_option_help_is_shown(path):
    """Rich reads ``[tuning]`` as markup and drops it unless escaped (``\\[tuning]``): none may go missing."""
    import re

    command = typer.main.get_command(app)
    for name in path:
        command = command.commands[name]
    wanted = {word for option in command.params for word in re.findall(r"\[[^\]\s]+\]", option.help or "")}
    shown = CliRunner().invoke(app, [*path, "--help"], terminal_width=200).output
    assert not [word for word in wanted if word not in shown], shown
