"""Read, validate and identify a credit policy.

A policy is a YAML document (the default ships as ``credit/policy/policy.yaml``). It is
identified by its ``version`` string and by a content hash: the SHA-256 of its validated
content in canonical JSON, so comments and layout do not change it but any value does. The
audit trail stores every document it decided with under that hash, so a decision can be
replayed under the exact policy it used (:func:`credit.audit.load_stored_policy`).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from decimal import Decimal
from functools import lru_cache
from importlib.resources import files

import numpy as np
import yaml
from pydantic import ValidationError

from credit.policy.document import PolicyDocument

DEFAULT_POLICY = files("credit.policy") / "policy.yaml"


class PolicyError(ValueError):
    """A policy document that cannot be used; the message names the source and the key."""


@dataclass(frozen=True)
class Policy:
    """A validated policy with its source text and identity.

    Attributes
    ----------
    document : PolicyDocument
        The validated content; sections are reached through it or the shortcuts below.
    text : str
        The document exactly as read (what the audit trail stores).
    content_hash : str
        SHA-256 (hex) of the canonical JSON of ``document``.
    """

    document: PolicyDocument
    text: str = field(repr=False)
    content_hash: str

    @property
    def version(self) -> str:
        return self.document.version

    @property
    def grades(self) -> tuple[str, ...]:
        """Grades of the master scale, best first."""
        return tuple(self.document.master_scale)

    @property
    def credit_line(self):  # noqa: ANN201 - the section's own type
        return self.document.credit_line

    @property
    def checkout(self):  # noqa: ANN201
        return self.document.checkout

    @property
    def order_financing(self):  # noqa: ANN201
        return self.document.order_financing

    @property
    def receivables(self):  # noqa: ANN201
        return self.document.receivables

    @property
    def servicing(self):  # noqa: ANN201
        return self.document.servicing

    @property
    def concentration(self):  # noqa: ANN201
        return self.document.concentration

    @property
    def loans(self):  # noqa: ANN201
        return self.document.loans

    def grade_of(self, pd: Decimal) -> str:
        """Grade of a probability of default on the master scale.

        Each grade holds PDs below its bound; the last grade also holds PD 1.

        Raises
        ------
        ValueError
            If ``pd`` is not a decimal in [0, 1].
        """
        if not isinstance(pd, Decimal) or not pd.is_finite() or not 0 <= pd <= 1:
            raise ValueError(f"`pd` must be a Decimal in [0, 1]; got {pd!r}.")
        for grade, bound in self.document.master_scale.items():
            if pd < bound:
                return grade
        return self.grades[-1]

    def grades_of(self, pds: np.ndarray) -> np.ndarray:
        """Grades of many PDs at once (model reports): the same bounds as :meth:`grade_of`, compared as floats."""
        bounds = np.array([float(bound) for bound in self.document.master_scale.values()])
        index = np.searchsorted(bounds, np.asarray(pds, dtype=float), side="right")
        return np.asarray(self.grades, dtype=object)[np.minimum(index, len(bounds) - 1)]

    def grade_rank(self, grade: str) -> int:
        """Position of ``grade`` on the scale, 0 for the best; ValueError for an unknown grade."""
        try:
            return self.grades.index(grade)
        except ValueError:
            raise ValueError(f"grade {grade!r} is not on the master scale {list(self.grades)}.") from None


def parse_policy(text: str, source: str = "<policy>") -> Policy:
    """Validate a policy document given as YAML text.

    Parameters
    ----------
    text
        The YAML document.
    source
        Where it came from, for error messages (a file name, "stored policy 2026-11-22.1").

    Returns
    -------
    Policy

    Raises
    ------
    PolicyError
        If the text is not YAML, or any key is missing, unknown or out of bounds; the message
        names ``source`` and every offending key (``credit_line.limit.min_limit_minor``).
    """
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise PolicyError(f"{source}: not valid YAML: {exc}") from None
    if not isinstance(raw, dict):
        raise PolicyError(f"{source}: a policy must be a mapping of sections; got {type(raw).__name__}")
    try:
        document = PolicyDocument.model_validate(raw)
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            key = ".".join(str(part) for part in error["loc"])
            message = error["msg"].removeprefix("Value error, ")
            problems.append(f"{key}: {message}" if key else message)
        raise PolicyError(f"{source}: invalid policy: " + "; ".join(problems)) from None
    return Policy(document=document, text=text, content_hash=content_hash(document))


def content_hash(document: PolicyDocument) -> str:
    """SHA-256 (hex) of the document's content in canonical JSON (sorted keys, decimals as text)."""
    canonical = json.dumps(document.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


@lru_cache(maxsize=1)
def default_policy() -> Policy:
    """The policy shipped with the package (``credit/policy/policy.yaml``)."""
    return parse_policy(DEFAULT_POLICY.read_text(encoding="utf-8"), source="credit/policy/policy.yaml")
