"""Configuration as TOML layers: the shipped defaults, overridden key by key by a user's file.

The model configuration (``credit/models/model.toml``) and the monitoring thresholds
(``credit/monitoring/monitoring.toml``) are read the same way: a section or key the defaults
do not have is refused by name, so a typo is an error instead of a silent default; then the
merged sections are validated by the caller's pydantic model (one model per file, one
:class:`Section` per ``[section]``), and every bad value is reported with the file, the
``[section]``, the key, what it must be and what it was.
"""

from __future__ import annotations

import tomllib
import typing
from importlib.resources.abc import Traversable
from pathlib import Path

from pydantic import BaseModel, ConfigDict, ValidationError
from pydantic.fields import FieldInfo


class Section(BaseModel):
    """One ``[section]`` of a configuration file: strict types, no unknown keys, read-only.

    Strict: ``2.5`` is not an integer, ``"0.9"`` and ``true`` are not numbers. A field's
    ``description``, when given, says what its value must be ("a column name"); otherwise
    the message is derived from its type and bounds ("an integer >= 1", "a number in (0, 1)").
    """

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


Config = typing.TypeVar("Config", bound=BaseModel)


def load_layers(defaults: Traversable | Path, path: Path | str | None, schema: type[Config], *, what: str,
                built_in: str, error: type[Exception], open_sections: frozenset[str] = frozenset()) -> Config:
    """The defaults with the file at ``path`` laid over them, section by section, validated by ``schema``.

    Parameters
    ----------
    defaults
        The shipped TOML file, which names every section and key.
    path
        The user's file, or None for the defaults alone.
    schema
        The pydantic model of the whole file: a field per section, and a ``source`` field,
        which receives ``str(path)``, or ``built_in`` without a file.
    what
        What the file configures, for messages ("model configuration").
    built_in
        The ``source`` of the defaults alone, and the name errors give them.
    error
        The exception raised for a bad file (the caller's own ``ConfigError``).
    open_sections
        Sections whose keys are not checked against the defaults (LightGBM's parameters).

    Returns
    -------
    Config
        The validated configuration.

    Raises
    ------
    error
        If the file cannot be read or parsed, has an unknown section or key, or a value of
        the wrong type or out of range; one line per problem, each naming the file, the
        ``[section]`` and the key.
    """
    raw = tomllib.loads(defaults.read_text(encoding="utf-8"))
    source = built_in
    if path is not None:
        path = Path(path)
        source = str(path)
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
                raise error(f"{path}: unknown key(s) {sorted(unknown)} in [{section}]; "
                            f"the keys are {sorted(raw[section])}")
            raw[section] |= values
    try:
        return schema.model_validate(raw | {"source": source})
    except ValidationError as exc:
        problems = [_problem(schema, problem, raw, source) for problem in exc.errors()]
        raise error("\n".join(problems)) from None


def _problem(schema: type[BaseModel], problem: dict, raw: dict, source: str) -> str:
    location = [str(part) for part in problem["loc"]]
    if len(location) == 1:  # a check across the keys of a section, or a section's own check
        return f"{source}: [{location[0]}] {problem['msg'].removeprefix('Value error, ')}"
    section, key = location[0], location[1]
    if problem["type"] == "extra_forbidden":  # a key the defaults have and the schema lacks
        return f"{source}: unknown key {key!r} in [{section}]"
    field = schema.model_fields[section].annotation.model_fields[key]
    return f"{source}: [{section}] {key} must be {_wanted(field)}; got {raw[section].get(key)!r}"


def _wanted(field: FieldInfo) -> str:
    """What a value of the field must be, from its description or its type and bounds."""
    if field.description:
        return field.description
    if field.annotation is bool:
        return "true or false"
    if typing.get_origin(field.annotation) is typing.Literal:
        choices = [f'"{choice}"' for choice in typing.get_args(field.annotation)]
        return ", ".join(choices[:-1]) + f" or {choices[-1]}"
    # pydantic keeps Field(ge=..., gt=..., le=..., lt=...) as metadata objects with that attribute
    bounds = {name: getattr(item, name) for item in field.metadata for name in ("ge", "gt", "le", "lt")
              if hasattr(item, name)}
    if field.annotation is int:
        return f"an integer >= {bounds['ge']}" if "ge" in bounds else "an integer"
    low = bounds.get("gt", bounds.get("ge", -float("inf")))
    high = bounds.get("lt", bounds.get("le", float("inf")))
    return f"a number in {'(' if 'gt' in bounds else '['}{low:g}, {high:g}{')' if 'lt' in bounds else ']'}"
