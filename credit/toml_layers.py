"""Configuration as TOML layers: the shipped defaults, overridden key by key by a user's file.

The model configuration (``credit/models/model.toml``) and the monitoring thresholds
(``credit/monitoring/monitoring.toml``) are read the same way: a section or key the defaults
do not have is refused by name, so a typo is an error instead of a silent default.
"""

from __future__ import annotations

import tomllib
from importlib.resources.abc import Traversable
from pathlib import Path


def read_layers(defaults: Traversable | Path, path: Path | str | None, *, what: str, error: type[Exception],
                open_sections: frozenset[str] = frozenset()) -> tuple[dict, str | None]:
    """The defaults with the file at ``path`` laid over them, section by section.

    Parameters
    ----------
    defaults
        The shipped TOML file, which names every section and key.
    path
        The user's file, or None for the defaults alone.
    what
        What the file configures, for messages ("model configuration").
    error
        The exception raised for a bad file (the caller's own ``ConfigError``).
    open_sections
        Sections whose keys are not checked against the defaults (LightGBM's parameters).

    Returns
    -------
    tuple of (dict, str or None)
        The merged sections, and ``str(path)`` when a file was laid over them.

    Raises
    ------
    error
        If the file cannot be read or parsed, or has an unknown section or key.
    """
    raw = tomllib.loads(defaults.read_text(encoding="utf-8"))
    if path is None:
        return raw, None
    path = Path(path)
    try:
        overrides = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise error(f"cannot read the {what} {path}: {exc.strerror}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise error(f"{path} is not valid TOML: {exc}") from exc
    for section, values in overrides.items():
        if section not in raw:
            raise error(f"{path}: unknown section [{section}]; the sections are "
                        f"{', '.join(f'[{name}]' for name in raw)}")
        if not isinstance(values, dict):
            raise error(f"{path}: {section} must be a [{section}] table of keys")
        unknown = set() if section in open_sections else set(values) - set(raw[section])
        if unknown:
            raise error(f"{path}: unknown key(s) {sorted(unknown)} in [{section}]; the keys are {sorted(raw[section])}")
        raw[section] |= values
    return raw, str(path)
