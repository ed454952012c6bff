"""``python -m cli``: the ``credit`` command, as the installed script runs it (``-X importtime`` needs a module)."""

from cli import app

app(prog_name="credit")
