"""Pages and form posts of the finance console, under ``/console`` (left out of the OpenAPI document).

Every page but sign-in needs a console session (:mod:`api.console.sessions`); without one a
request is redirected to the sign-in page, which brings the person back afterwards. Every
form post carries the session's CSRF token. A review or a line change calls the same service
function as the HTTP API (:func:`api.credit_lines.service.review`,
:func:`api.credit_lines.service.change_line`) with the signed-in key as the caller, so it is
the same audited decision. Bad input re-renders the page with a message next to the field
(4xx) and nothing saved: the unit of work is rolled back before the page is drawn again.

Pages are ``def`` and run in FastAPI's thread pool; form posts, which write, and the signed-in
user's lookup are marked ``runs_sql``: pooled on PostgreSQL, inline on SQLite, where a pooled
writer and an inline one would wait on each other for the lock (see :mod:`api.kit.db`).
"""

from __future__ import annotations

import re
from dataclasses import replace
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from fastapi import APIRouter, Depends, FastAPI, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from sqlalchemy import select

from api.console import forms, registry, sessions
from api.console.display import FILTERS
from api.console.queries import (
    application,
    common,
    decision,
    early_warnings,
    exposure,
    financing,
    firm,
    owed,
    portfolio,
    queue,
    scores,
)
from api.console.sessions import ConsoleUser
from api.credit_lines import service as credit_lines
from api.credit_lines.schemas import ReviewIn
from api.kit.state import champion_if_available, policy_of
from api.kit.db import SessionDep, runs_sql, take_write_lock
from api.kit.errors import NotFound, ServiceError, as_service_error
from credit import clock
from credit.charts import svg as charts
from credit.financing import book as financing_book
from credit.ledger import LedgerError
from credit.monitoring.book import PAST_DUE_DAYS, BookPerformance, book_performance
from credit.monitoring import work_list
from credit.monitoring.results import WARNING_REASONS, latest_run
from credit.monitoring.tables import NOTE_MAX_LENGTH
from credit.policy import Policy
from credit.servicing import statement
from credit.webhooks.tables import WebhookEndpoint

PACKAGE = Path(__file__).parent
templates = Jinja2Templates(directory=str(PACKAGE / "templates"))
templates.env.filters.update(FILTERS)

router = APIRouter(prefix="/console", include_in_schema=False)

FIRM_INVOICES_SHOWN = 12
WARNINGS_LISTED = 20  # on the dashboard; the rest behind "show all"
VINTAGES_CHARTED = 8  # the latest capture months: one colour each before the palette repeats
ROLL_STEPS = (("current", "1-30"), ("1-30", "31-60"), ("31-60", "61-90"), ("61-90", "90+"))
_DECISION_ID = re.compile(r"^[0-9a-f-]{36}$")
_MAX_ID = 2**63 - 1
_SECURITY_HEADERS = {
    # Everything the pages use is served from here; charts are inline SVG styled by classes.
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'none'; "
                               "form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}
# The model report is MLflow's artifact, our own HTML: inline styles and inline SVG, nothing else.
_REPORT_HEADERS = _SECURITY_HEADERS | {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'",
}


class SignInRequired(Exception):
    """No valid console session: the request goes to the sign-in page, then back to ``next_path``."""

    def __init__(self, next_path: str) -> None:
        super().__init__(next_path)
        self.next_path = next_path


@runs_sql
def _console_user(request: Request) -> ConsoleUser:
    token = request.cookies.get(sessions.SESSION_COOKIE)
    # A connection of its own, as the API's key check: the request's session must begin with
    # the service's write lock when the route writes.
    with request.app.state.engine.connect() as connection:
        user = sessions.signed_in(connection, token, clock.now())
    if user is None:
        target = request.url.path if request.method == "GET" else "/console/queue"
        if request.method == "GET" and request.url.query:
            target += "?" + request.url.query
        raise SignInRequired(target)
    request.state.console_user = user
    return user


UserDep = Annotated[ConsoleUser, Depends(_console_user)]


async def _to_sign_in(request: Request, exc: SignInRequired) -> Response:
    response = RedirectResponse(f"/console/sign-in?{urlencode({'next': exc.next_path})}", status_code=303)
    if request.cookies.get(sessions.SESSION_COOKIE):
        response.delete_cookie(sessions.SESSION_COOKIE, path=sessions.COOKIE_PATH)
    return response


def mount_console(app: FastAPI) -> None:
    """Add the console to an app: its pages under ``/console``, its CSS under ``/console/static``.

    ``console.css`` comes from this package, ``charts.css`` from :mod:`credit.charts` with
    the charts it styles.

    Parameters
    ----------
    app
        The app :func:`api.app.create_app` builds; the console reads its ``state`` (engine,
        settings, the champion) like the API's routes do.
    """
    app.include_router(router)
    app.mount("/console/static", StaticFiles(directory=str(PACKAGE / "static"), packages=[("credit.charts", "static")]),
              name="console-static")
    app.add_exception_handler(SignInRequired, _to_sign_in)


# ---------------------------------------------------------------------------------------------
# helpers


def _page(request: Request, template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    context.setdefault("user", getattr(request.state, "console_user", None))
    if context["user"] is not None:
        context.setdefault("disabled_webhooks", _disabled_webhooks(request))
    response = templates.TemplateResponse(request, template, context, status_code=status_code)
    response.headers.update(_SECURITY_HEADERS)
    return response


def _disabled_webhooks(request: Request) -> list[WebhookEndpoint]:
    """Webhook endpoints the dispatcher gave up on (or an admin disabled): every page says so, until re-enabled."""
    with request.app.state.sessionmaker() as session:
        return list(session.scalars(select(WebhookEndpoint).where(WebhookEndpoint.status == "disabled")
                                    .order_by(WebhookEndpoint.disabled_at)))


def _not_found(request: Request, what: str) -> HTMLResponse:
    return _page(request, "not_found.html", status_code=404, what=what)


def _csrf_refused(user: ConsoleUser, given: str) -> str | None:
    if sessions.csrf_matches(user.csrf_token, given):
        return None
    return ("This form was opened in an earlier session or has expired, so it was not accepted and nothing was "
            "saved. Check the page below and submit it again.")


def _secure_cookie(request: Request) -> bool:
    return request.url.scheme == "https"


def _safe_next(next_path: str | None) -> str:
    if next_path and next_path.startswith("/console") and not next_path.startswith("//") \
            and "\\" not in next_path and not any(ch in next_path for ch in "\r\n"):
        return next_path
    return "/console/queue"


def _firm_id(text: str) -> int | None:
    if not text.isdigit() or len(text) > 19:
        return None
    number = int(text)
    return number if 1 <= number <= _MAX_ID else None


# ---------------------------------------------------------------------------------------------
# sign-in and sign-out


def _sign_in_page(request: Request, *, next_path: str, status_code: int = 200, error: str | None = None,
                  notice: str | None = None) -> HTMLResponse:
    form_token = sessions.new_form_token()
    response = _page(request, "sign_in.html", status_code=status_code, user=None, next_path=next_path,
                     form_token=form_token, error=error, notice=notice)
    response.set_cookie(sessions.SIGN_IN_COOKIE, form_token, path=sessions.COOKIE_PATH, httponly=True,
                        samesite="strict", secure=_secure_cookie(request), max_age=3600)
    return response


@router.get("", response_class=RedirectResponse)
def console_home() -> RedirectResponse:
    """The console opens on the review queue."""
    return RedirectResponse("/console/queue", status_code=303)


@router.get("/sign-in", response_class=HTMLResponse)
def sign_in_page(request: Request, next: str = "", signed_out: str = "") -> Response:  # noqa: A002 - the query's name
    """Sign in with a finance or admin API key."""
    token = request.cookies.get(sessions.SESSION_COOKIE)
    with request.app.state.engine.connect() as connection:
        if sessions.signed_in(connection, token, clock.now()) is not None:
            return RedirectResponse(_safe_next(next), status_code=303)
    return _sign_in_page(request, next_path=_safe_next(next),
                         notice="You are signed out." if signed_out else None)


@router.post("/sign-in", response_class=HTMLResponse)
@runs_sql
def sign_in(request: Request, session: SessionDep, api_key: Annotated[str, Form(max_length=200)] = "",
            csrf_token: Annotated[str, Form(max_length=200)] = "",
            next: Annotated[str, Form(max_length=2000)] = "") -> Response:  # noqa: A002
    """Check the key and open a console session (a cookie holding a random token)."""
    next_path = _safe_next(next)
    expected = request.cookies.get(sessions.SIGN_IN_COOKIE) or ""
    if not expected or not sessions.csrf_matches(expected, csrf_token):
        return _sign_in_page(request, next_path=next_path, status_code=403,
                             error="The sign-in form had expired: enter the key again.")
    take_write_lock(session)
    try:
        token, _user = sessions.sign_in(session, api_key, clock.now())
    except sessions.SignInRefused as refused:
        session.rollback()
        return _sign_in_page(request, next_path=next_path, status_code=refused.status_code, error=refused.message)
    response = RedirectResponse(next_path, status_code=303)
    response.set_cookie(sessions.SESSION_COOKIE, token, path=sessions.COOKIE_PATH, httponly=True, samesite="strict",
                        secure=_secure_cookie(request), max_age=int(sessions.SESSION_LIFETIME.total_seconds()))
    response.delete_cookie(sessions.SIGN_IN_COOKIE, path=sessions.COOKIE_PATH)
    return response


@router.post("/sign-out")
@runs_sql
def sign_out(request: Request, session: SessionDep, user: UserDep,
             csrf_token: Annotated[str, Form(max_length=200)] = "") -> Response:
    """End the console session."""
    if _csrf_refused(user, csrf_token):
        return RedirectResponse("/console/queue", status_code=303)
    sessions.sign_out(session, user.session_id, clock.now())
    response = RedirectResponse("/console/sign-in?signed_out=1", status_code=303)
    response.delete_cookie(sessions.SESSION_COOKIE, path=sessions.COOKIE_PATH)
    return response


# ---------------------------------------------------------------------------------------------
# the review queue


def _queue_filters(params: dict[str, str], policy: Policy, known_codes: set[str]) -> tuple[queue.QueueFilters, dict[str, str]]:
    errors: dict[str, str] = {}
    grade = params.get("grade") or None
    if grade is not None and grade not in policy.grades:
        errors["grade"] = f"There is no grade “{grade}” on the master scale ({', '.join(policy.grades)})."
        grade = None
    limits = {}
    for name, label in (("min_limit", "The smallest limit"), ("max_limit", "The largest limit")):
        limits[name], problem = forms.parse_amount(params.get(name), label)
        if problem:
            errors[name] = problem
    ages = {}
    for name, label in (("min_age", "The least age"), ("max_age", "The greatest age")):
        text = (params.get(name) or "").strip()
        ages[name] = None
        if text:
            if text.isdigit() and len(text) <= 5:
                ages[name] = int(text)
            else:
                errors[name] = f"{label} is a whole number of days, such as 3; “{text}” is not."
    reason = params.get("reason") or None
    if reason is not None and reason not in known_codes:
        errors["reason"] = f"No application in the queue carries the reason code “{reason}”."
        reason = None
    return queue.QueueFilters(grade=grade, min_limit_minor=limits["min_limit"], max_limit_minor=limits["max_limit"],
                              reason=reason, min_age_days=ages["min_age"], max_age_days=ages["max_age"]), errors


@router.get("/queue", response_class=HTMLResponse)
def review_queue(request: Request, session: SessionDep, user: UserDep) -> HTMLResponse:
    """Referred applications waiting for review, oldest first, with filters."""
    policy = policy_of(request)
    now = clock.now()
    params = {name: request.query_params.get(name, "")[:100] for name in
              ("grade", "min_limit", "max_limit", "reason", "min_age", "max_age")}
    everything = queue.review_queue(session, queue.QueueFilters(), now, limit=0)
    filters, errors = _queue_filters(params, policy, {reason.code for reason in everything.reason_codes})
    listed = queue.review_queue(session, filters, now, policy=policy, model=champion_if_available(request.app))
    return _page(request, "queue.html", status_code=400 if errors else 200, queue=listed, params=params,
                 errors=errors, grades=policy.grades, reason_codes=everything.reason_codes, now=now)


# ---------------------------------------------------------------------------------------------
# an application


def _application_page(request: Request, session: SessionDep, decision_id: str, *, status_code: int = 200,
                      form: forms.FormResult | None = None, errors: dict[str, str] | None = None) -> HTMLResponse:
    now = clock.now()
    model = champion_if_available(request.app)
    view = application.application_view(session, decision_id, now, model)
    if view is None:
        return _not_found(request, f"No credit-line application {decision_id}.")
    policy = policy_of(request)
    score = scores.then_and_now(session, view.firm.firm_id, scores.ScoreAt(view.grade, view.pd, view.score_as_of),
                                policy, model)
    line = exposure.line_of_firm(session, view.firm.firm_id)
    ageing = exposure.invoice_ageing(session, view.firm.firm_id, now)
    drivers_chart = None
    if view.top_features:
        drivers_chart = charts.horizontal_bar_chart(
            [FILTERS["feature_label"](feature.name) for feature in view.top_features],
            [feature.contribution for feature in view.top_features],
            title="What moved this PD: the ten strongest features", x_format="ratio",
            x_label="push on the log-odds of default (positive raises the PD)", width=820)
    ageing_chart = charts.bar_chart(
        [bucket.label for bucket in ageing.buckets],
        [charts.BarSeries("Outstanding", [bucket.outstanding_minor for bucket in ageing.buckets])],
        title="What the firm owes, by days past due", y_label="Outstanding", y_format="money", width=350,
        height=210)
    bounds = policy.credit_line.limit
    return _page(request, "application.html", status_code=status_code, view=view, score=score, line=line,
                 ageing=ageing,
                 drivers_chart=drivers_chart, ageing_chart=ageing_chart, actions=forms.REVIEW_ACTIONS,
                 form=form.values if form else {"action": "", "limit": "", "reason": ""}, errors=errors or {},
                 min_limit=bounds.min_limit_minor, max_limit=bounds.max_limit_minor, now=now)


@router.get("/applications/{decision_id}", response_class=HTMLResponse)
def application_page(decision_id: str, request: Request, session: SessionDep, user: UserDep) -> HTMLResponse:
    """One credit-line application: decision, reasons, the features behind them, exposure, ageing, review form."""
    if not _DECISION_ID.match(decision_id):
        return _not_found(request, f"No credit-line application {decision_id[:40]}.")
    return _application_page(request, session, decision_id)


@router.post("/applications/{decision_id}/review", response_class=HTMLResponse)
@runs_sql
def review_application(
    decision_id: str, request: Request, session: SessionDep, user: UserDep,
    action: Annotated[str, Form(max_length=50)] = "", limit: Annotated[str, Form(max_length=100)] = "",
    reason: Annotated[str, Form(max_length=5000)] = "", csrf_token: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    """Approve, approve with another limit, or decline a referred application: the API's audited review."""
    if not _DECISION_ID.match(decision_id):
        return _not_found(request, f"No credit-line application {decision_id[:40]}.")
    policy = policy_of(request)
    form = forms.review_form(action, limit, reason, policy)
    refused = _csrf_refused(user, csrf_token)
    if refused:
        return _application_page(request, session, decision_id, status_code=403, form=form, errors={"form": refused})
    if not form.ok:
        return _application_page(request, session, decision_id, status_code=422, form=form, errors=form.errors)
    body = ReviewIn(action=form.action, reason=form.reason,
                    limit=None if form.limit_minor is None else forms.amount_text(form.limit_minor))
    try:
        credit_lines.review(session, user.caller, decision_id, body, policy, clock.now())
    except NotFound:
        session.rollback()
        return _not_found(request, f"No credit-line application {decision_id}.")
    except (ServiceError, LedgerError) as exc:
        session.rollback()
        refusal = as_service_error(exc)
        return _application_page(request, session, decision_id, status_code=refusal.status_code, form=form,
                                 errors=forms.service_error_messages(refusal))
    return RedirectResponse(f"/console/applications/{decision_id}?reviewed=1", status_code=303)


# ---------------------------------------------------------------------------------------------
# a firm


@router.get("/firms", response_class=HTMLResponse)
def find_firm(request: Request, user: UserDep, firm_id: str = "") -> Response:
    """Open a firm's page by its id (the search box of every page)."""
    number = _firm_id(firm_id.strip()[:30])
    if number is None:
        return _not_found(request, f"“{firm_id[:30]}” is not a firm id: a firm id is a whole number such as 1042.")
    return RedirectResponse(f"/console/firms/{number}", status_code=303)


def _firm_page(request: Request, session: SessionDep, firm_id: int, *, status_code: int = 200,
               form: forms.FormResult | None = None, errors: dict[str, str] | None = None) -> HTMLResponse:
    now = clock.now()
    policy = policy_of(request)
    summary = common.firm_summary(session, firm_id)
    if summary is None:
        return _not_found(request, f"No firm {firm_id} on the marketplace.")
    model = champion_if_available(request.app)
    score = firm.current_score(session, firm_id, policy, model)
    history = firm.score_history(session, firm_id, policy)
    line = exposure.line_of_firm(session, firm_id)
    holds = exposure.pending_holds(session, line.line_id) if line else []
    ageing = exposure.invoice_ageing(session, firm_id, now, shown=FIRM_INVOICES_SHOWN)
    owed_both = owed.owed_reconciliation(session, firm_id, now, ageing, line)
    decisions, decisions_total = firm.decisions_of_firm(session, firm_id)
    warnings = firm.early_warnings(session, firm_id)
    warning_run = early_warnings.latest_run(session) if warnings else None
    book = firm.book_of_firm(session, firm_id, now)
    financings = financing.firm_financings(session, firm_id)
    score_chart = charts.line_chart(
        [charts.Series("PD", [(point.as_of, float(point.pd)) for point in history])],
        title="PD at each batch score", y_label="12-month PD", y_format="percent", y_min=0, width=820, height=240,
        reference_lines=_grade_lines(policy, history))
    line_charts = None
    if line is not None:
        over_time = firm.line_history(session, firm_id, line, now)
        line_charts = (
            charts.line_chart([charts.Series("Limit", over_time.limit, step=True),
                               charts.Series("Posted + held", over_time.exposure, step=True)],
                              title="Limit and exposure", y_label="Amount", y_format="money", y_min=0, width=400,
                              height=230),
            charts.line_chart([charts.Series("Utilisation", [(day, None if share is None else float(share))
                                                            for day, share in over_time.utilisation], step=True)],
                              title="Utilisation of the limit", y_label="Used", y_format="percent", y_min=0,
                              width=400, height=230),
        )
    ageing_chart = charts.bar_chart(
        [bucket.label for bucket in ageing.buckets],
        [charts.BarSeries("Outstanding", [bucket.outstanding_minor for bucket in ageing.buckets])],
        title="What the firm owes, by days past due", y_label="Outstanding", y_format="money", width=500, height=210)
    bounds = policy.credit_line.limit
    return _page(request, "firm.html", status_code=status_code, firm=summary, score=score, history=history,
                 line=line, holds=holds, ageing=ageing, owed=owed_both, book=book, decisions=decisions, decisions_total=decisions_total,
                 warnings=warnings, warning_run=warning_run, financings=financings,
                 product_labels=financing.PRODUCT_LABELS,
                 score_chart=score_chart, line_charts=line_charts, ageing_chart=ageing_chart,
                 form=form.values if form else {"action": "", "limit": "", "reason": ""}, errors=errors or {},
                 min_limit=bounds.min_limit_minor, max_limit=bounds.max_limit_minor, now=now)


def _grade_lines(policy: Policy, history: list[firm.ScorePoint]) -> list[charts.ReferenceLine]:
    """The master scale's bounds across the firm's PDs, spaced so their labels stay readable.

    From the bound just above the highest PD down to half the lowest PD, keeping a bound only
    when it is at least an eighth of the highest PD away from the last one kept.
    """
    if not history:
        return []
    lowest, highest = min(point.pd for point in history), max(point.pd for point in history)
    scale = list(policy.document.master_scale.items())
    ceiling = next((bound for _, bound in scale if bound >= highest), Decimal(1))
    lines: list[charts.ReferenceLine] = []
    kept: Decimal | None = None
    for index in range(len(scale) - 2, -1, -1):
        grade, bound = scale[index]
        if not lowest / 2 <= bound <= ceiling or (kept is not None and kept - bound < highest / 8):
            continue
        lines.append(charts.ReferenceLine(float(bound), f"{grade} | {scale[index + 1][0]}"))
        kept = bound
    return lines[:4]


@router.get("/firms/{firm_id}", response_class=HTMLResponse)
def firm_page(firm_id: str, request: Request, session: SessionDep, user: UserDep) -> HTMLResponse:
    """A firm: score and grade history, line, holds, receivables and statement, invoices, decisions, warnings."""
    number = _firm_id(firm_id)
    if number is None:
        return _not_found(request, f"No firm “{firm_id[:30]}”: a firm id is a whole number.")
    return _firm_page(request, session, number)


@router.get("/firms/{firm_id}/receivables.csv", response_class=Response)
def firm_receivables_csv(firm_id: str, request: Request, session: SessionDep, user: UserDep) -> Response:
    """Every receivable of the firm, as the API's CSV export (``/v1/receivables.csv?firm_id=``)."""
    number = _firm_id(firm_id)
    if number is None or common.firm_summary(session, number) is None:
        return _not_found(request, f"No firm “{firm_id[:30]}” on the marketplace.")
    response = Response(statement.receivables_csv(statement.all_receivables(session, firm_id=number)),
                        media_type="text/csv; charset=utf-8")
    response.headers.update(_SECURITY_HEADERS)
    response.headers["Content-Disposition"] = (
        f'attachment; filename="receivables-firm-{number}-{clock.today().isoformat()}.csv"')
    return response


@router.post("/firms/{firm_id}/line", response_class=HTMLResponse)
@runs_sql
def change_line(
    firm_id: str, request: Request, session: SessionDep, user: UserDep,
    action: Annotated[str, Form(max_length=50)] = "", limit: Annotated[str, Form(max_length=100)] = "",
    reason: Annotated[str, Form(max_length=5000)] = "", csrf_token: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    """Freeze, unfreeze or change the limit of the firm's line, with a reason: the API's audited line change."""
    number = _firm_id(firm_id)
    if number is None:
        return _not_found(request, f"No firm “{firm_id[:30]}”: a firm id is a whole number.")
    policy = policy_of(request)
    form = forms.line_change_form(action, limit, reason, policy)
    refused = _csrf_refused(user, csrf_token)
    if refused:
        return _firm_page(request, session, number, status_code=403, form=form, errors={"form": refused})
    if not form.ok:
        return _firm_page(request, session, number, status_code=422, form=form, errors=form.errors)
    refused = _change_line_of(request, session, user, number, form, policy)
    if refused is not None:
        status_code, errors = refused
        return _firm_page(request, session, number, status_code=status_code, form=form, errors=errors)
    return RedirectResponse(f"/console/firms/{number}?changed={form.action}", status_code=303)


def _change_line_of(request: Request, session: SessionDep, user: ConsoleUser, firm_id: int,
                    form: forms.FormResult, policy: Policy) -> tuple[int, dict[str, str]] | None:
    """The firm's line changed as the form says, by the API's audited service: None, or the refusal's status and messages."""
    line = exposure.line_of_firm(session, firm_id)
    session.rollback()  # that read must not stand before the service's write lock
    if line is None:
        return 409, {"form": "This firm has no credit line to change. Nothing was saved."}
    try:
        credit_lines.change_line(session, user.caller, line.line_id, form.action, form.reason, form.limit_minor,
                                 policy, champion_if_available(request.app), clock.now())
    except (ServiceError, LedgerError) as exc:
        session.rollback()
        refusal = as_service_error(exc)
        return refusal.status_code, forms.service_error_messages(refusal)
    return None


# ---------------------------------------------------------------------------------------------
# a decision


@router.get("/decisions/{decision_id}", response_class=HTMLResponse)
def decision_page(decision_id: str, request: Request, session: SessionDep, user: UserDep) -> HTMLResponse:
    """One audited decision: what was decided, by whom, why, on which inputs."""
    view = decision.decision_view(session, decision_id) if _DECISION_ID.match(decision_id) else None
    if view is None:
        return _not_found(request, f"No decision {decision_id[:40]}.")
    score = None
    if view.score_then is not None and view.record.firm_id is not None:
        score = scores.then_and_now(session, view.record.firm_id, view.score_then, policy_of(request),
                                    champion_if_available(request.app))
    return _page(request, "decision.html", view=view, score=score)


# ---------------------------------------------------------------------------------------------
# the portfolio


@router.get("/portfolio", response_class=HTMLResponse)
def portfolio_page(request: Request, session: SessionDep, user: UserDep) -> HTMLResponse:
    """The book: exposure and expected loss by grade, utilisation, rates, servicing figures, calibration, PSI, warnings."""
    policy = policy_of(request)
    book = portfolio.portfolio(session, policy)
    run = latest_run(session)
    grades = [grade for grade in book.grades if grade.lines or grade.grade in policy.grades]
    names = [grade.grade for grade in grades]
    exposure_chart = charts.bar_chart(
        names, [charts.BarSeries("Limit", [grade.limit_minor for grade in grades]),
                charts.BarSeries("Posted + held", [grade.exposure_minor for grade in grades])],
        title="Limits and exposure by grade", y_label="Amount", y_format="money", width=590, height=250)
    loss_chart = charts.bar_chart(
        names, [charts.BarSeries("Expected loss", [grade.expected_loss_minor for grade in grades])],
        title="Expected loss by grade", y_label="PD × LGD × exposure", y_format="money", width=590, height=250)
    utilisation_chart = charts.bar_chart(
        [label for label, _ in book.utilisation],
        [charts.BarSeries("Lines", [lines for _, lines in book.utilisation])],
        title="Lines by share of the limit used", y_label="Lines", width=590, height=230)
    rates_chart = None
    if book.monthly:
        rates_chart = charts.line_chart(
            [charts.Series(name, [(month.month, _rate(month.rates, number)) for month in book.monthly], outcome=outcome)
             for name, outcome, number in (("Approved at once", "approved", lambda r: r.approved),
                                           ("Referred", "referred", lambda r: r.referred),
                                           ("Declined", "declined", lambda r: r.declined))],
            title="Credit-line applications by month", y_label="Share of applications", y_format="percent",
            y_min=0, width=590, height=230)
    calibration_chart = psi_chart = vintage_chart = None
    psi_rows: list = []
    if run is not None:
        calibration_chart = charts.bar_chart(
            [g.grade for g in run.grades],
            [charts.BarSeries("Predicted", [g.predicted_rate for g in run.grades]),
             charts.BarSeries("Realised (95% interval)", [g.realised_rate for g in run.grades],
                              lower=[g.ci_low for g in run.grades], upper=[g.ci_high for g in run.grades])],
            title="Default rate by grade: predicted and realised", y_label="12-month default rate",
            y_format="percent", width=590, height=260)
        if run.vintages:
            vintage_chart = charts.line_chart(
                [charts.Series("Predicted", [(v.vintage, v.predicted_rate) for v in run.vintages]),
                 charts.Series("Realised", [(v.vintage, v.realised_rate) for v in run.vintages])],
                title="Default rate by vintage (as-of month)", y_label="12-month default rate", y_format="percent",
                y_min=0, width=590, height=230)
        psi_rows = sorted((row for row in run.psi if row.segment == "all"), key=lambda row: -row.psi)
        shown = psi_rows[:15]
        thresholds = [(0.1, "watch"), (0.25, "alarm")]
        psi_chart = charts.horizontal_bar_chart(
            [FILTERS["feature_short"](row.variable) for row in shown], [row.psi for row in shown],
            title="PSI of the 15 most shifted variables", x_format="ratio", thresholds=thresholds, width=1220,
            x_label="population stability index, training window against the month monitored")
    firm_names: dict[int, str] = {}
    warned_lines: dict[int, exposure.LineView] = {}
    if run is not None and run.warnings:
        warned = [warning.firm_id for warning in run.warnings]
        firm_names = common.firm_names(session, warned)
        warned_lines = exposure.lines_of_firms(session, warned)
    today = clock.today()
    serviced = book_performance(session, policy, start=today.replace(day=1), end=today)
    return _page(request, "portfolio.html", book=book, grades=grades, run=run, exposure_chart=exposure_chart,
                 loss_chart=loss_chart, utilisation_chart=utilisation_chart, rates_chart=rates_chart,
                 calibration_chart=calibration_chart, vintage_chart=vintage_chart, psi_chart=psi_chart,
                 psi_rows=psi_rows, firm_names=firm_names, warned_lines=warned_lines, warning_texts=WARNING_REASONS,
                 warnings_listed=WARNINGS_LISTED, serviced=serviced, past_due_days=PAST_DUE_DAYS,
                 **_book_charts(serviced))


def _book_charts(serviced: BookPerformance) -> dict[str, str | None]:
    """The roll rates by month end and the vintage curves of the book, as charts (None: nothing to draw yet)."""
    roll_chart = None
    if serviced.roll_rates:
        roll_chart = charts.line_chart(
            [charts.Series(f"{a} → {b}", [(m.to_day, m.rate(a, b)) for m in serviced.roll_rates])
             for a, b in ROLL_STEPS],
            title="Roll rates by month end", y_label="Share of the lines in the bucket a month before",
            y_format="percent", y_min=0, width=590, height=240)
    charged_chart = past_due_chart = None
    vintages = serviced.vintages[-VINTAGES_CHARTED:]
    if any(vintage.points for vintage in vintages):
        # Months on book as categories "0", "1", ...: whole months on the axis, a gap where a vintage has no point.
        months = range(max(p.months_on_book for vintage in vintages for p in vintage.points) + 1)

        def curves(share: str) -> list[charts.Series]:
            return [charts.Series(vintage.vintage.strftime("%Y-%m"), [
                (str(month), by_month[month] if month in by_month else None) for month in months])
                for vintage in vintages if vintage.points
                for by_month in [{p.months_on_book: getattr(p, share) for p in vintage.points}]]

        charged_chart = charts.line_chart(
            curves("charged_off_share"), title="Charged off by months on book", y_label="Share of principal",
            x_label="months on book", y_format="percent", y_min=0, width=590, height=240)
        past_due_chart = charts.line_chart(
            curves("past_due_share"), title=f"More than {PAST_DUE_DAYS} days past due by months on book",
            y_label="Share of principal", x_label="months on book", y_format="percent", y_min=0, width=590,
            height=240)
    return {"roll_chart": roll_chart, "charged_chart": charged_chart, "past_due_chart": past_due_chart}


def _rate(rates: portfolio.ApplicationRates, number: Any) -> float | None:
    share = rates.rate(number(rates))
    return None if share is None else float(share)


# ---------------------------------------------------------------------------------------------
# the financing book


@router.get("/financing", response_class=HTMLResponse)
def financing_page(request: Request, session: SessionDep, user: UserDep) -> HTMLResponse:
    """The financing book: outstanding by product, concentration by debtor, financings in trouble, dilution."""
    policy = policy_of(request)
    view = financing.financing_book(session, policy, clock.today())
    chart = charts.bar_chart(
        [product.label for product in view.products],
        [charts.BarSeries("Outstanding", [product.outstanding_minor for product in view.products]),
         charts.BarSeries("Approved, not paid out", [product.approved_minor for product in view.products])],
        title="The financing book by product", y_label="Amount", y_format="money", width=590, height=250)
    return _page(request, "financing.html", view=view, chart=chart, labels=financing.PRODUCT_LABELS,
                 today=clock.today())


@router.get("/financing.csv", response_class=Response)
def financing_csv(request: Request, session: SessionDep, user: UserDep) -> Response:
    """Every financing, as the API's CSV export (``/v1/financings.csv``)."""
    response = Response(financing_book.financings_csv(financing_book.all_financings(session)),
                        media_type="text/csv; charset=utf-8")
    response.headers.update(_SECURITY_HEADERS)
    response.headers["Content-Disposition"] = f'attachment; filename="financings-{clock.today().isoformat()}.csv"'
    return response


# ---------------------------------------------------------------------------------------------
# models


@router.get("/models", response_class=HTMLResponse)
def models_page(request: Request, user: UserDep) -> HTMLResponse:
    """Champion and challenger of the PD model, with their metrics and reports."""
    uri = request.app.state.settings.resolved_tracking_uri()
    view = registry.registry_view(uri)
    comparison = None
    if view.models:
        names = [label for key, label in registry.HEADLINE_METRICS if key in ("auc", "gini", "ks")]
        series = []
        for model in view.models:
            row = model.registered_metrics
            if row is None:
                continue
            values = [row.interval(key) for key in ("auc", "gini", "ks")]
            series.append(charts.BarSeries(f"{model.alias.capitalize()} v{model.version.version}",
                                           [value for value, _, _ in values], lower=[low for _, low, _ in values],
                                           upper=[high for _, _, high in values]))
        if series:
            comparison = charts.bar_chart(names, series, title="Champion and challenger on their test windows",
                                          y_label="Metric with its 95% interval", y_format="ratio", width=590,
                                          height=240)
    return _page(request, "models.html", view=view, headline=registry.HEADLINE_METRICS, other=registry.OTHER_METRICS,
                 comparison=comparison)


@router.get("/models/runs/{run_id}/reports/{name}", response_class=HTMLResponse)
def model_report(run_id: str, name: str, request: Request, user: UserDep) -> HTMLResponse:
    """The HTML evaluation report logged with a model's training run."""
    html = registry.report_html(request.app.state.settings.resolved_tracking_uri(), run_id, name)
    if html is None:
        return _not_found(request, f"No report {name[:60]} in run {run_id[:40]}.")
    return HTMLResponse(html, headers=_REPORT_HEADERS)



# ---------------------------------------------------------------------------------------------
# the early-warning work list

_LIST_PARAMS = ("exposure", "product", "rule", "industry", "page")
_WORK_MESSAGES = {"acknowledged": "Warning acknowledged.", "assigned": "Warning assigned.", "noted": "Note added."}


def _list_filters(params: dict[str, str], products: tuple[str, ...]) -> tuple[early_warnings.WorkListFilters, int,
                                                                                 dict[str, str]]:
    errors: dict[str, str] = {}
    product = params["product"] or None
    if product is not None and product not in products:
        errors["product"] = (f"There is no product “{product}” in the book: choose one of "
                             f"{', '.join(early_warnings.PRODUCT_LABELS.get(p, p) for p in products)}.")
        product = None
    rule = params["rule"] or None
    if rule is not None and rule not in WARNING_REASONS:
        errors["rule"] = f"There is no early-warning rule “{rule}”; choose one from the list."
        rule = None
    page_text = params["page"].strip()
    page = 1
    if page_text:
        if page_text.isdigit() and 1 <= len(page_text) <= 6 and int(page_text) >= 1:
            page = int(page_text)
        else:
            errors["page"] = f"A page is a whole number from 1; “{page_text}” is not."
    return early_warnings.WorkListFilters(with_exposure=params["exposure"] == "1", product=product, rule=rule,
                                          industry=params["industry"] or None), page, errors


@router.get("/early-warnings", response_class=HTMLResponse)
def early_warning_list(request: Request, session: SessionDep, user: UserDep) -> HTMLResponse:
    """The early-warning work list: filter by exposure, product, rule and industry; largest exposure at risk first."""
    params = {name: request.query_params.get(name, "")[:100] for name in _LIST_PARAMS}
    filters, page, errors = _list_filters(params, early_warnings.products_in_store(session))
    listed = early_warnings.work_list(session, filters, page)
    if filters.industry is not None and filters.industry not in listed.industries:
        errors["industry"] = f"No firm on the list is in the industry “{filters.industry}”."
        listed = early_warnings.work_list(session, replace(filters, industry=None), page)
    if page > listed.pages:
        errors["page"] = f"The list has {listed.pages} page{'s' if listed.pages > 1 else ''}; there is no page {page}."
        listed = early_warnings.work_list(session, filters, 1)

    def query(**changed: object) -> str:
        return urlencode({name: value for name, value in (params | changed).items() if value})

    here = "/console/early-warnings" + (f"?{query()}" if query() else "")  # where its forms return, filters kept
    return _page(request, "early_warnings.html", status_code=400 if errors else 200, listed=listed, params=params,
                 errors=errors, here=here, query=query, labels=early_warnings.PRODUCT_LABELS,
                 warning_texts=WARNING_REASONS, notice=_WORK_MESSAGES.get(request.query_params.get("done", "")))


def _warning_page(request: Request, session: SessionDep, run_id: int, firm_id: int, *, status_code: int = 200,
                  errors: dict[str, str] | None = None, values: dict[str, str] | None = None,
                  notice: str | None = None) -> HTMLResponse:
    found = early_warnings.work_item(session, run_id, firm_id)
    if found is None:
        return _not_found(request, f"Firm {firm_id} is not on the early-warning list of monitoring run {run_id}.")
    run, item = found
    latest = early_warnings.latest_run(session)
    back = _list_back(request.query_params.get("back"))
    here = f"/console/early-warnings/{run_id}/{firm_id}"
    if back != "/console/early-warnings":
        here += "?" + urlencode({"back": back})
    bounds = policy_of(request).credit_line.limit
    return _page(request, "early_warning.html", status_code=status_code, run=run,
                 item=item, latest=latest, users=early_warnings.console_users(session),
                 changes=early_warnings.line_changes_since(session, firm_id, run.created_at),
                 labels=early_warnings.PRODUCT_LABELS, warning_texts=WARNING_REASONS, errors=errors or {},
                 form=values or {}, line_actions=forms.LINE_ACTIONS, notice=notice,
                 back=back, here=here, note_max=NOTE_MAX_LENGTH,
                 min_limit=bounds.min_limit_minor, max_limit=bounds.max_limit_minor)


def _list_back(back: str | None) -> str:
    """Where the work list's forms return: the list as it was filtered, never elsewhere."""
    if back and back.startswith("/console/early-warnings") and _safe_next(back) == back:
        return back
    return "/console/early-warnings"


def _warning_ids(run_id: str, firm_id: str) -> tuple[int, int] | None:
    run, firm_number = _firm_id(run_id), _firm_id(firm_id)
    return None if run is None or firm_number is None else (run, firm_number)


@router.get("/early-warnings/{run_id}/{firm_id}", response_class=HTMLResponse)
def early_warning_page(run_id: str, firm_id: str, request: Request, session: SessionDep, user: UserDep) -> HTMLResponse:
    """One early warning: reasons, exposure at risk, what was done on it; acknowledge, assign, note, freeze, re-limit."""
    ids = _warning_ids(run_id, firm_id)
    if ids is None:
        return _not_found(request, f"No early warning “{run_id[:20]}/{firm_id[:20]}”: run and firm are whole numbers.")
    changed = request.query_params.get("changed", "")
    notice = (f"Line change recorded: {forms.LINE_ACTIONS[changed].lower()}." if changed in forms.LINE_ACTIONS
              else _WORK_MESSAGES.get(request.query_params.get("done", "")))
    return _warning_page(request, session, *ids, notice=notice)


def _work_post(request: Request, session: SessionDep, user: ConsoleUser, run_id: str, firm_id: str, csrf_token: str,
               back: str, done: str, act: Any, values: dict[str, str]) -> Response:
    """Check the form's token, take the write lock, record the work, then go back to where the form was."""
    ids = _warning_ids(run_id, firm_id)
    if ids is None:
        return _not_found(request, f"No early warning “{run_id[:20]}/{firm_id[:20]}”: run and firm are whole numbers.")
    refused = _csrf_refused(user, csrf_token)
    if refused:
        return _warning_page(request, session, *ids, status_code=403, errors={"form": refused}, values=values)
    take_write_lock(session)
    try:
        act(*ids)
    except work_list.WarningNotFound as exc:
        session.rollback()
        return _not_found(request, exc.message)
    except work_list.WorkListError as exc:
        session.rollback()
        return _warning_page(request, session, *ids, status_code=exc.status_code, errors={done: exc.message},
                             values=values)
    return _back_to(back, ids, ("done", done))


def _back_to(back: str, ids: tuple[int, int], outcome: tuple[str, str]) -> RedirectResponse:
    """After a work-list form: back to the page it was on (the list as filtered, or the warning), saying what was done."""
    target = urlsplit(_list_back(back) if back else f"/console/early-warnings/{ids[0]}/{ids[1]}")
    kept = [(name, value) for name, value in parse_qsl(target.query) if name not in ("done", "changed")]
    return RedirectResponse(f"{target.path}?{urlencode([*kept, outcome])}", status_code=303)


@router.post("/early-warnings/{run_id}/{firm_id}/acknowledge", response_class=HTMLResponse)
@runs_sql
def acknowledge_warning(run_id: str, firm_id: str, request: Request, session: SessionDep, user: UserDep,
                        csrf_token: Annotated[str, Form(max_length=200)] = "",
                        back: Annotated[str, Form(max_length=2000)] = "") -> Response:
    """Acknowledge an early warning: audited (who, when) with its event."""
    return _work_post(request, session, user, run_id, firm_id, csrf_token, back, "acknowledged",
                      lambda run, firm_id: work_list.acknowledge(session, run, firm_id, actor=user.caller.actor,
                                                                 actor_name=user.name, now=clock.now()), {})


@router.post("/early-warnings/{run_id}/{firm_id}/assign", response_class=HTMLResponse)
@runs_sql
def assign_warning(run_id: str, firm_id: str, request: Request, session: SessionDep, user: UserDep,
                   assignee: Annotated[str, Form(max_length=200)] = "",
                   csrf_token: Annotated[str, Form(max_length=200)] = "",
                   back: Annotated[str, Form(max_length=2000)] = "") -> Response:
    """Assign an early warning to a console user: audited with its event."""
    def act(run: int, firm_id: int) -> None:
        name = assignee.strip()
        if name and name not in early_warnings.console_users(session):
            raise work_list.InvalidWork(f"No console user “{name[:100]}”: a warning goes to a person who can sign in "
                                        "to the console (a finance or admin key that is not revoked).")
        work_list.assign(session, run, firm_id, name, actor=user.caller.actor, actor_name=user.name, now=clock.now())

    return _work_post(request, session, user, run_id, firm_id, csrf_token, back, "assigned", act,
                      {"assignee": assignee})


@router.post("/early-warnings/{run_id}/{firm_id}/note", response_class=HTMLResponse)
@runs_sql
def note_warning(run_id: str, firm_id: str, request: Request, session: SessionDep, user: UserDep,
                 note: Annotated[str, Form(max_length=2 * NOTE_MAX_LENGTH)] = "",
                 csrf_token: Annotated[str, Form(max_length=200)] = "",
                 back: Annotated[str, Form(max_length=2000)] = "") -> Response:
    """Add a note to an early warning: audited with its event."""
    return _work_post(request, session, user, run_id, firm_id, csrf_token, back, "noted",
                      lambda run, firm_id: work_list.add_note(session, run, firm_id, note, actor=user.caller.actor,
                                                              actor_name=user.name, now=clock.now()),
                      {"note": note})


@router.post("/early-warnings/{run_id}/{firm_id}/line", response_class=HTMLResponse)
@runs_sql
def change_warned_line(
    run_id: str, firm_id: str, request: Request, session: SessionDep, user: UserDep,
    action: Annotated[str, Form(max_length=50)] = "", limit: Annotated[str, Form(max_length=100)] = "",
    reason: Annotated[str, Form(max_length=5000)] = "", csrf_token: Annotated[str, Form(max_length=200)] = "",
    back: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    """Freeze, unfreeze or re-limit the warned firm's line from the work list: the API's audited line change."""
    ids = _warning_ids(run_id, firm_id)
    if ids is None:
        return _not_found(request, f"No early warning “{run_id[:20]}/{firm_id[:20]}”: run and firm are whole numbers.")
    policy = policy_of(request)
    form = forms.line_change_form(action, limit, reason, policy)
    refused = _csrf_refused(user, csrf_token)
    if refused:
        return _warning_page(request, session, *ids, status_code=403, errors={"form": refused}, values=form.values)
    if not form.ok:
        return _warning_page(request, session, *ids, status_code=422, errors=form.errors, values=form.values)
    if early_warnings.work_item(session, *ids) is None:
        return _not_found(request, f"Firm {ids[1]} is not on the early-warning list of monitoring run {ids[0]}.")
    refused = _change_line_of(request, session, user, ids[1], form, policy)
    if refused is not None:
        status_code, errors = refused
        return _warning_page(request, session, *ids, status_code=status_code, values=form.values, errors=errors)
    return _back_to(back, ids, ("changed", form.action))
