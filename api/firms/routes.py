"""Routes of firms: a firm's credit standing.

Roles: ``finance``, ``analyst`` and ``admin`` see every firm; ``checkout`` too, because the
marketplace shows a buyer its own headroom and grade at checkout (the marketplace is one
tenant, so every checkout key sees every firm, as every repayer sees every line; holds are
each storefront's own, see :mod:`api.checkout.service`).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request

from api.decisions.schemas import reasons_out
from api.firms import service
from api.firms.schemas import CapOut, ConcentrationOut, ExposureOut, FirmCreditOut, FirmScoreOut
from api.kit.auth import Caller, requires
from api.kit.db import SessionDep
from api.kit.errors import responses
from api.kit.state import champion_if_available, policy_of
from credit import clock, ledger
from credit.financing.exposure import FirmExposure, firm_exposure
from credit.policy import Policy
from credit.standing import sql as standing

router = APIRouter(tags=["firms"])

Reader = Annotated[Caller, requires("checkout", "finance", "analyst", "admin")]
FirmId = Annotated[int, Path(ge=1, le=2**63 - 1, description="The firm's id on the marketplace.")]


@router.get("/v1/firms/{firm_id}/credit", response_model=FirmCreditOut, responses=responses(401, 403, 404, 409, 422))
def firm_credit(firm_id: FirmId, request: Request, session: SessionDep, caller: Reader) -> FirmCreditOut:
    """A firm's limit, available headroom, grade, PD, and every product's exposure with the concentration caps."""
    now = clock.now()
    policy = policy_of(request)
    firm = service.require_firm(session, firm_id)
    line = ledger.find_line_of_firm(session, firm.firm_id)
    score = service.current_score(session, champion_if_available(request), firm.firm_id)
    score_out = None
    if score is not None:
        pd_ = service.pd_decimal(score)
        score_out = FirmScoreOut(grade=policy.grade_of(pd_), pd=pd_,
                                 reason_codes=reasons_out(score.reason_codes), model_name=score.model_name,
                                 model_version=score.model_version, as_of=score.as_of)
    balances = line.balances if line else ledger.Balances(0, 0, 0)
    exposure = firm_exposure(session, firm.firm_id)
    return FirmCreditOut(
        firm_id=firm.firm_id, line_id=line.line_id if line else None, line_status=line.status if line else "none",
        limit=balances.limit_minor, posted=balances.posted_minor, pending=balances.pending_minor,
        available=max(balances.available_minor, 0),
        per_order_cap=line.per_order_cap_minor if line else None,
        days_past_due=standing.firm_days_past_due(session, firm.firm_id, now), score=score_out,
        exposure=_exposure_out(exposure), concentration=_concentration(policy, score_out, exposure))


def _exposure_out(exposure: FirmExposure) -> ExposureOut:
    e = exposure
    return ExposureOut(line=e.line, order_as_buyer=e.order_as_buyer, receivable_as_debtor=e.receivable_as_debtor,
                       order_as_supplier=e.order_as_supplier, receivable_as_supplier=e.receivable_as_supplier,
                       loan=e.loan, as_debtor=e.as_debtor, as_supplier=e.as_supplier, total=e.total)


def _concentration(policy: Policy, score: FirmScoreOut | None, exposure: FirmExposure) -> ConcentrationOut | None:
    if score is None:
        return None
    caps = policy.concentration

    def cap(limit: int, used: int) -> CapOut:
        return CapOut(cap=limit, exposure=used, headroom=max(limit - used, 0))

    return ConcentrationOut(grade=score.grade, per_debtor=cap(caps.per_debtor_minor[score.grade], exposure.as_debtor),
                            per_supplier=cap(caps.per_supplier_minor[score.grade], exposure.as_supplier))
