"""Write and read the audit trail: policies by version, decisions by id. Insert only.

Service code calls :func:`record_decision` in its unit of work; these functions flush and
never commit. There is deliberately no function that updates or deletes a record.
"""

from __future__ import annotations

import functools
import json
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, class_mapper

from credit import clock
from credit.audit.kinds import KINDS, result_json
from credit.audit.tables import DecisionRecord, StoredPolicy
from credit.decisions.codes import CODES_CATALOGUE_VERSION
from credit.models.reasons import REASON_CATALOGUE_VERSION
from credit.policy import Policy, PolicyError, parse_policy
from credit.store.prepared import PreparedStatement


class PolicyVersionConflict(PolicyError):
    """A policy whose version is already stored with different content: bump its version."""


class DecisionMismatch(ValueError):
    """A decision handed to :func:`record_decision` that its inputs and policy do not produce."""



# What every recorded decision runs, built once on the tables: the stored policy's hash and
# the decision's INSERT (an ORM add and flush of the record cost several times more).
_STORED_HASH = PreparedStatement(select(StoredPolicy.__table__.c.content_hash).where(
    StoredPolicy.__table__.c.policy_version == bindparam("version")))
_INSERT_DECISION = PreparedStatement(insert(DecisionRecord.__table__), column_keys=[
    "decision_id", "kind", "firm_id", "request", "inputs", "model_name", "model_version", "policy_version",
    "policy_hash", "reason_catalogue_version", "codes_catalogue_version", "outcome", "grade", "amount_minor",
    "amounts", "rules_fired", "reason_codes", "next_actions", "result", "actor", "parent_decision_id", "created_at"])


def store_policy(session: Session, policy: Policy, *, now: datetime | None = None) -> StoredPolicy:
    """Keep ``policy``'s document under its version, once; return the stored row.

    Raises
    ------
    PolicyVersionConflict
        If the version is already stored with a different content hash.
    """
    stored = session.get(StoredPolicy, policy.version)
    if stored is None:
        row = StoredPolicy(policy_version=policy.version, content_hash=policy.content_hash, document=policy.text,
                           stored_at=now or clock.now())
        try:
            with session.begin_nested():  # another request may store the same policy first
                session.add(row)
        except IntegrityError:
            stored = session.get(StoredPolicy, policy.version, populate_existing=True)
            if stored is None:
                raise
        else:
            return row
    if stored.content_hash != policy.content_hash:
        raise PolicyVersionConflict(
            f"policy version {policy.version} is already stored with content hash {stored.content_hash[:12]}..., "
            f"this document hashes to {policy.content_hash[:12]}...: a changed policy needs a new version.")
    return stored


def load_stored_policy(session: Session, version: str) -> Policy:
    """The policy a past decision used, parsed from the stored document.

    Raises
    ------
    LookupError
        If no policy of that version was stored.
    PolicyError
        If the stored document no longer validates or no longer has its stored hash.
    """
    stored = session.get(StoredPolicy, version)
    if stored is None:
        raise LookupError(f"no stored policy of version {version!r}.")
    policy = parse_policy(stored.document, source=f"stored policy {version}")
    if policy.content_hash != stored.content_hash:
        raise PolicyError(f"stored policy {version}: the document hashes to {policy.content_hash[:12]}..., "
                          f"not the stored {stored.content_hash[:12]}...")
    return policy


def record_decision(session: Session, *, kind: str, inputs: Any, decision: Any, policy: Policy, actor: str,
                    request: dict | None = None, firm_id: int | None = None, model_name: str | None = None,
                    model_version: str | None = None, parent_decision_id: str | None = None,
                    now: datetime | None = None) -> DecisionRecord:
    """Append one decision to the audit trail (and its policy, the first time it is used).

    Parameters
    ----------
    session
        The unit of work; flushed, not committed.
    kind
        A key of :data:`credit.audit.kinds.KINDS` (``credit_line_application``, ...).
    inputs
        What the decision function was given (e.g. a :class:`~credit.decisions.CreditLineApplication`).
    decision
        What it returned. It is re-computed here and must match, so every record replays.
    policy
        The policy it was decided under.
    actor
        Who asked: the API key as ``key:<id>`` (its name before migration 0020_api_clients), a job name.
    request
        The caller's request as JSON values (defaults to ``{}``).
    firm_id
        Defaults to the kind's applicant in ``inputs``.
    model_name, model_version
        The PD model that scored the inputs, if one did.
    parent_decision_id
        The decision this one follows (a review's application, a change's line decision).
    now
        Record time (UTC); defaults to the clock.

    Returns
    -------
    DecisionRecord
        With its new ``decision_id``: what was inserted, not attached to the session
        (:func:`get_decision` reads the stored row).

    Raises
    ------
    ValueError
        For an unknown kind, inputs of the wrong type, or a request that is not JSON.
    DecisionMismatch
        If ``decision`` is not what ``inputs`` and ``policy`` produce.
    """
    if kind not in KINDS:
        raise ValueError(f"`kind` must be one of {sorted(KINDS)}; got {kind!r}.")
    spec = KINDS[kind]
    if not isinstance(inputs, spec.inputs_type):
        raise ValueError(f"a {kind} decision takes {spec.inputs_type.__name__} inputs; got {type(inputs).__name__}.")
    result = result_json(decision)
    if result_json(spec.decide(inputs, policy)) != result:
        raise DecisionMismatch(f"the {kind} decision given is not what its inputs produce under policy "
                               f"{policy.version}; record the decision the function returned.")
    request = {} if request is None else request
    try:
        request = json.loads(json.dumps(request, allow_nan=False))
    except (TypeError, ValueError) as exc:
        raise ValueError(f"`request` must be JSON values: {exc}") from None
    _ensure_policy_stored(session, policy, now)
    values = dict(
        decision_id=str(uuid.uuid4()), kind=kind, firm_id=firm_id if firm_id is not None else spec.firm_of(inputs),
        request=request, inputs=spec.inputs_json(inputs), model_name=model_name, model_version=model_version,
        policy_version=policy.version, policy_hash=policy.content_hash,
        reason_catalogue_version=REASON_CATALOGUE_VERSION, codes_catalogue_version=CODES_CATALOGUE_VERSION,
        outcome=result["outcome"], grade=spec.grade_of(decision), amount_minor=spec.headline_amount(decision),
        amounts=dict(decision.amounts), rules_fired=result["rules_fired"], reason_codes=result["reason_codes"],
        next_actions=result["next_actions"], result=result, actor=actor, parent_decision_id=parent_decision_id,
        created_at=now or clock.now())
    session.flush()  # what the unit of work added before this decision is written first, as with session.add
    _INSERT_DECISION.rows(session, values)
    # Built as the ORM builds a loaded row, without firing an attribute event per column: the
    # mapped constructor cost more than the INSERT (checkout records one decision per request).
    record = _new_decision_record()()
    record.__dict__.update(values)
    return record


_POLICIES_KEY = "credit.audit.policies_stored"


def _ensure_policy_stored(session: Session, policy: Policy, now: datetime | None) -> None:
    """Store ``policy`` if its version is not stored yet (raises PolicyVersionConflict for another document).

    Checked once per transaction: the versions seen stored are kept in ``session.info`` with
    the innermost transaction they were seen in, and trusted only while that transaction is
    still the innermost and active (policies are insert-only), so the decisions of one unit of
    work (a batch of checkout authorizations, :mod:`api.checkout.group_commit`) read it once.
    """
    transaction = session.get_nested_transaction() or session.get_transaction()
    seen = session.info.get(_POLICIES_KEY)
    if seen is not None and seen[0] is transaction and transaction is not None and transaction.is_active \
            and (policy.version, policy.content_hash) in seen[1]:
        return
    stored = _STORED_HASH.first(session, {"version": policy.version})
    if stored is None or stored.content_hash != policy.content_hash:
        store_policy(session, policy, now=now)  # stores it the first time, or raises PolicyVersionConflict
    transaction = session.get_nested_transaction() or session.get_transaction()
    if seen is None or seen[0] is not transaction:
        seen = session.info[_POLICIES_KEY] = (transaction, set())
    seen[1].add((policy.version, policy.content_hash))


@functools.cache
def _new_decision_record() -> Any:
    # Looked up once (0.5 % of an authorization per call): class_mapper configures the mappers first.
    return class_mapper(DecisionRecord).class_manager.new_instance


def get_decision(session: Session, decision_id: str) -> DecisionRecord | None:
    """The stored decision with that id, or None."""
    return session.get(DecisionRecord, decision_id)


