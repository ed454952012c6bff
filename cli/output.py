"""What the commands print: progress bars while a job runs, and the tables of what it did.

Shared by the command that runs each job and by ``credit demo``, which runs them all; the
command modules import this module and :mod:`cli.common`, never each other.
"""

from __future__ import annotations

from collections import Counter

from pathlib import Path

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from cli.common import console, errors, installed_command

TOP_WARNINGS = 10
TOP_DRIFTING_FEATURES = 10


def progress_bar() -> Progress:
    """A progress bar on stderr that disappears when done (and stays silent when not a terminal)."""
    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                    console=errors, transient=True, disable=not errors.is_terminal)


def simulate_with_progress(config, out: Path):  # noqa: ANN001, ANN202
    """Simulate ``config`` into ``out`` with a bar of the months done; the simulation's summary."""
    from credit.simulate import simulate as run_simulation

    with progress_bar() as progress:
        task = progress.add_task("simulating months", total=config.years * 12)
        return run_simulation(config, out, progress=lambda done, total: progress.update(task, completed=done, total=total))


def print_simulation(summary, out: Path) -> None:  # noqa: ANN001
    """Rows per table, defaults and where the ground truth is."""
    console.print(f"Simulated marketplace in {out}:")
    table = Table()
    table.add_column("table")
    table.add_column("rows", justify="right")
    for name, count in summary.rows.items():
        table.add_row(name, f"{count:,}")
    console.print(table)
    console.print(
        f"{summary.defaulted_firms:,} firms defaulted (annual default rate {summary.annual_default_rate:.1%}); "
        f"simulated in {summary.elapsed_seconds:.1f} s. Ground truth (true 12-month PD per firm and month "
        f"end, latent state): {out / 'truth'}"
    )


def ingest_with_progress(engine, files: list[tuple[str, Path]]):  # noqa: ANN001, ANN202
    """Ingest ``files`` into the store with a bar per table; one result per file."""
    from credit.ingest import ingest_files

    with progress_bar() as progress:
        tasks = {}

        totals = {table: _row_count(path) for table, path in files}

        def report(table: str, rows: int) -> None:
            if table not in tasks:
                tasks[table] = progress.add_task(f"loading {table}", total=totals[table])
            progress.update(tasks[table], completed=rows)

        return ingest_files(engine, files, progress=report)


def _row_count(path: Path) -> int | None:
    """Rows in a Parquet file from its footer; None for CSV (unknown until read)."""
    if path.suffix != ".parquet":
        return None
    import pyarrow.parquet as pq

    try:
        return pq.ParquetFile(path).metadata.num_rows
    except Exception:  # noqa: BLE001 - an unreadable file is reported by ingest itself
        return None


def print_ingest(results, ignored: list[Path], url: str) -> None:  # noqa: ANN001
    """Rows read, loaded, unchanged and quarantined per file, the quarantine by rule, and unusable files."""
    from credit.ingest.rules import rule_named

    console.print(f"Ingest into {url}:")
    table = Table()
    for column in ("table", "file", "read", "loaded", "unchanged", "quarantined"):
        table.add_column(column, justify="left" if column in ("table", "file") else "right")
    for r in results:
        if r.error:
            table.add_row(r.table, r.path.name, "[red]unusable[/]", "-", "-", "-")
            continue
        table.add_row(r.table, r.path.name, f"{r.rows_read:,}", f"{r.loaded:,}", f"{r.unchanged:,}", f"{r.quarantined:,}")
    console.print(table)
    by_rule = Table(title="Quarantined by rule (a row can break several):", title_justify="left")
    for column in ("table", "rule", "rows", "a valid row has"):
        by_rule.add_column(column, justify="right" if column == "rows" else "left")
    for r in results:
        for rule, count in sorted(r.by_rule.items()):
            by_rule.add_row(r.table, rule, f"{count:,}", rule_named(r.table, rule).requires)
    if by_rule.row_count:
        console.print(by_rule)
        console.print("Each quarantined row, with its values:", highlight=False)
        console.print(f"  {installed_command('credit')} quarantine --table TABLE --rule RULE", highlight=False,
                      soft_wrap=True)
    for path in ignored:
        console.print(f"ignored {path}: its name is not a history table")
    for r in results:
        if r.error:
            errors.print(f"[bold red]error:[/] {r.path}: {r.error}; nothing of it was loaded",
                         highlight=False, soft_wrap=True)


def print_panel(panel, data: Path, meta: Path) -> None:  # noqa: ANN001
    """Rows, labelled rows and defaults per as-of date of a built panel, and where it was written."""
    manifest = panel.manifest
    table = Table(title=f"Feature panel: {manifest['rows']:,} rows x {len(manifest['feature_columns'])} features")
    for column in ("as-of", "firms", "labelled", "defaults in horizon"):
        table.add_column(column, justify="right")
    for day, counts in manifest["rows_by_as_of"].items():
        table.add_row(day, f"{counts['rows']:,}", f"{counts['labelled']:,}", f"{counts['defaults']:,}")
    console.print(table)
    console.print(f"Built in {manifest['build_seconds']} s. Panel: {data}  manifest: {meta}")


def print_windows(windows: dict[str, str]) -> None:
    """The out-of-time windows with their dates, rows and defaults."""
    table = Table(title="Out-of-time windows (as-of dates)", title_justify="left")
    table.add_column("window")
    table.add_column("as-of dates, rows, defaults")
    for name, text in windows.items():
        table.add_row(name, text)
    console.print(table)


def print_summary(summary, scored: str = "Test window") -> None:  # noqa: ANN001
    """One line per model: AUC with its interval, Gini, KS, Brier, log loss, and the gap to the oracle if known."""
    first = summary.iloc[0]
    table = Table(title=f"{scored}: {int(first['rows']):,} rows, {int(first['defaults']):,} defaults "
                        "(95% bootstrap intervals in brackets; all intervals in the report)", title_justify="left")
    for column in ("model", "AUC", "Gini", "KS", "Brier", "log loss"):
        table.add_column(column, justify="left" if column == "model" else "right")
    oracle = summary["oracle_auc"].notna().any()
    if oracle:
        table.add_column("gap to oracle", justify="right")
    for row in summary.to_dict("records"):
        cells = [row["model"], f"{row['auc']:.4f} [{row['auc_low']:.3f}, {row['auc_high']:.3f}]",
                 f"{row['gini']:.4f}", f"{row['ks']:.4f}", f"{row['brier']:.5f}", f"{row['log_loss']:.4f}"]
        if oracle:
            cells.append(f"{row['auc_gap_to_oracle']:+.4f} [{row['auc_gap_low']:+.3f}, {row['auc_gap_high']:+.3f}]")
        table.add_row(*cells)
    console.print(table)
    if oracle:
        console.print(f"Oracle (the simulator's true PD) on the same rows: AUC {first['oracle_auc']:.4f}", highlight=False)


def print_judgement(judgement) -> None:  # noqa: ANN001
    """The promotion gate's checks, one per line, and the verdict."""
    versus = f"champion version {judgement.champion.version}" if judgement.champion else "no champion yet"
    console.print(f"Promotion gate: challenger version {judgement.challenger.version} against {versus}, "
                  f"on test window {judgement.test_window}", highlight=False)
    for line in judgement.decision.reasons():
        console.print(f"  {line}", highlight=False, markup=False)
    if judgement.decision.auc_gain_interval:
        low, high = judgement.decision.auc_gain_interval
        console.print(f"  (AUC gain 95% paired bootstrap interval: [{low:+.4f}, {high:+.4f}])", highlight=False)
    verdict = (f"PROMOTED: version {judgement.challenger.version} is the champion" if judgement.decision.promote
               else "NOT PROMOTED: the champion stays" if judgement.champion
               else "NOT PROMOTED: there is still no champion")
    console.print(verdict, highlight=False)


def print_serving(outcome, as_of, folder, check_seconds: float) -> None:  # noqa: ANN001 - a RetrainOutcome, a date, a Path
    """What a retrain did to what is served: the export, the firms re-scored, when the service has the new champion."""
    judgement = outcome.judgement
    if outcome.served is None:
        served = _served_version(folder)
        console.print(f"Nothing served changed: no export, no firm re-scored; the serving files at {folder} "
                      f"{'hold version ' + served if served else 'hold no model yet'}.", highlight=False)
        return
    version = judgement.challenger.version
    console.print(f"Exported {judgement.challenger.name} version {version} (champion) to {outcome.served}.",
                  highlight=False)
    if outcome.scoring is not None:
        run = outcome.scoring
        console.print(f"Re-scored {run.rows:,} firms as of {run.as_of} with version {run.model_version} into "
                      f"firm_scores ({run.seconds:.1f} s).", highlight=False)
    else:
        console.print(f"Firms not re-scored: {outcome.scoring_note}; score them with: credit score --as-of {as_of}",
                      highlight=False)
    console.print(f"The running service (serving from {outcome.served}) picks up version {version} within "
                  f"{check_seconds:g} s; no restart needed.", highlight=False)


def _served_version(folder) -> str | None:  # noqa: ANN001
    import json

    from credit.models.serving import version_marker

    marker = version_marker(folder)
    try:
        return None if marker is None else str(json.loads(marker)["version"])
    except (ValueError, KeyError):
        return None


def print_run(run) -> None:  # noqa: ANN001
    """A readable summary of a stored monitoring run: PSI, calibration by grade, early warnings."""
    from credit.monitoring.results import WARNING_REASONS

    console.print(f"Monitoring run {run.run_id}: {run.model_name} version {run.model_version}, month {run.as_of} "
                  f"({run.firms:,} firms) against its training window {run.training_from} to {run.training_to}",
                  highlight=False)
    table = Table(title="PSI of the score (watch >= 0.1, alarm >= 0.25)", title_justify="left")
    for column in ("segment", "PSI", "status", "training rows", "rows now"):
        table.add_column(column, justify="left" if column in ("segment", "status") else "right")
    for row in (r for r in run.psi if r.variable == "score"):
        table.add_row(row.segment, f"{row.psi:.3f}", _status(row.status), f"{row.expected_rows:,}",
                      f"{row.actual_rows:,}")
    console.print(table)
    drifting = run.drifting_features
    if drifting:
        table = Table(title=f"Features that moved: {len(drifting)} of {sum(r.variable != 'score' for r in run.psi)} "
                            f"(feature, segment) pairs at watch or alarm; the largest", title_justify="left")
        for column in ("feature", "segment", "PSI", "status"):
            table.add_column(column, justify="right" if column == "PSI" else "left")
        for row in drifting[:TOP_DRIFTING_FEATURES]:
            table.add_row(row.variable, row.segment, f"{row.psi:.3f}", _status(row.status))
        console.print(table)
    skipped = run.settings.get("segments_not_assessed") or []
    if skipped:
        console.print(f"Segments with too few rows for a PSI: {', '.join(skipped)}", highlight=False)
    if run.grades:
        table = Table(title=f"Realised vs predicted 12-month default rate by grade, vintage {run.calibration_vintage} "
                            "(95% Clopper-Pearson interval)", title_justify="left")
        for column in ("grade", "firms", "defaults", "predicted", "realised", "95% interval", "status"):
            table.add_column(column, justify="left" if column in ("grade", "status") else "right")
        for grade in run.grades:
            table.add_row(grade.grade, f"{grade.firms:,}", f"{grade.defaults:,}", f"{grade.predicted_rate:.2%}",
                          f"{grade.realised_rate:.2%}", f"[{grade.ci_low:.2%}, {grade.ci_high:.2%}]",
                          _status(grade.status))
        console.print(table)
    else:
        console.print("No vintage of the panel has a matured outcome yet: no calibration by grade.", highlight=False)
    alarms, watches = run.alarms, run.watches
    console.print(f"Alarms: {len(alarms)}" + (" (score PSI at alarm, or a grade outside its 99.9% interval)" if alarms
                                              else " (no score PSI at alarm, every grade inside its 99.9% interval)"),
                  highlight=False)
    if watches:
        console.print(f"On watch: {len(watches)} (score PSI at watch, or a grade outside its 95% interval only)",
                      highlight=False)
    counts = {code: sum(code in w.reasons for w in run.warnings) for code in WARNING_REASONS}
    console.print(f"Early-warning list: {len(run.warnings):,} firms ({len(run.warnings) / max(run.firms, 1):.1%} of "
                  "the book); " + ", ".join(f"{code} {n:,}" for code, n in counts.items()), highlight=False)
    if run.warnings:
        table = Table(title=f"Early warnings, most reasons first (top {TOP_WARNINGS})", title_justify="left")
        table.add_column("firm", justify="right")
        table.add_column("reasons")
        table.add_column("what the numbers say")
        for warning in run.warnings[:TOP_WARNINGS]:
            table.add_row(str(warning.firm_id), ", ".join(warning.reasons),
                          "; ".join(_brief(code, warning.details.get(code) or {}) for code in warning.reasons))
        console.print(table)
        for code in sorted({code for w in run.warnings[:TOP_WARNINGS] for code in w.reasons},
                           key=list(WARNING_REASONS).index):
            console.print(f"  {code}: {WARNING_REASONS[code]}", highlight=False)


def _brief(code: str, details: dict) -> str:
    """A warning's numbers in a few words, money in the marketplace currency."""
    from api.kit.money import MARKETPLACE_CURRENCY, from_minor

    try:
        return {
            "grade_drop": lambda d: f"grade {d['grade_before']} to {d['grade_now']}",
            "new_overdue": lambda d: f"{d['invoices']} invoice(s), {MARKETPLACE_CURRENCY} "
                                     f"{from_minor(d['unpaid_minor']):,} unpaid, up to "
                                     f"{d['max_days_past_due']} days past due",
            "dbt_rising": lambda d: f"days beyond terms +{d['dbt_rise_days']:g} (now {d['dbt_mean_90d_days']:g})",
            "partner_default": lambda d: f"partner {d['partner_id']} ({d['share']:.0%} of trade): "
                                         f"{d['event_kind']} on {d['event_at']}",
            "arrears_approaching": lambda d: f"blocked from {d['blocked_from']} unless paid",
            "utilisation_high": lambda d: f"{d['utilisation']:.0%} of the line used",
        }[code](details)
    except (KeyError, TypeError, ValueError):
        return code


def _status(status: str) -> str:
    return {"ok": "ok", "watch": "[yellow]watch[/]", "alarm": "[bold red]alarm[/]"}[status]


SERVICING_STEPS = ("reminder", "late_fee", "freeze", "unfreeze", "default", "charge_off")


def print_servicing_day(report) -> None:  # noqa: ANN001 - a credit.servicing.run.DayReport
    """Steps taken by step, with the amounts booked in major units, and the ageing snapshot."""
    from credit.money import from_minor

    console.print(f"servicing day {report.as_of.isoformat()} (judged at {report.judged_at:%Y-%m-%d %H:%M} UTC): "
                  f"{report.receivables_checked:,} receivables and {report.lines_checked:,} lines checked, "
                  f"{report.decisions:,} decisions recorded", highlight=False)
    table = Table()
    table.add_column("step")
    table.add_column("taken", justify="right")
    table.add_column("amount", justify="right")
    for step in SERVICING_STEPS:
        amount = report.amounts_minor.get(step)
        table.add_row(step, f"{report.steps.get(step, 0):,}", "" if amount is None else f"{from_minor(amount):,}")
    console.print(table)
    console.print(f"ageing: {report.lines_aged:,} lines in the snapshot of {report.as_of.isoformat()}, "
                  f"{report.ageing_written:,} rows written", highlight=False)


def print_financing_day(report) -> None:  # noqa: ANN001 - a credit.financing.run.FinancingDay
    """Each product's counts for the day, one table per product, amounts in major units."""
    from credit.money import from_minor

    console.print(f"financing day {report.as_of.isoformat()}", highlight=False)
    for product, counts in report.counts.items():
        table = Table(title=product, title_justify="left")
        table.add_column("what")
        table.add_column("count or amount", justify="right")
        for key, value in counts.items():
            shown = f"{from_minor(value):,}" if key.endswith("_minor") else f"{value:,}"
            table.add_row(key.removesuffix("_minor"), shown)
        console.print(table)


VINTAGE_MONTHS_SHOWN = 12


def print_book(performance) -> None:  # noqa: ANN001 - a credit.monitoring.book.BookPerformance
    """The book's own figures: collections of the period, roll rates, vintage curves, default by grade."""
    from credit.monitoring.book import PAST_DUE_DAYS, TO_STATES
    from credit.money import MARKETPLACE_CURRENCY, from_minor

    def money(minor: int) -> str:
        return f"{from_minor(minor):,}"

    def share(value: float | None) -> str:
        return "—" if value is None else f"{value:.1%}"

    figures = performance.collections
    table = Table(title=f"Collections {figures.start} to {figures.end} ({MARKETPLACE_CURRENCY})", title_justify="left")
    table.add_column("figure")
    table.add_column("amount", justify="right")
    allocated = figures.allocated_minor
    for label, minor in (
            (f"received ({figures.received_count:,} repayments)", figures.received_minor),
            (f"returned by the bank ({figures.returned_count:,})", figures.returned_minor),
            ("allocated to late fees", allocated["late_fee"]), ("allocated to fees", allocated["fee"]),
            ("allocated to principal", allocated["principal"]), ("credit refunded", allocated["credit_refund"]),
            (f"credit balances at the end of {figures.end}", figures.credit_balance_minor),
            ("late fees assessed", figures.late_fees_assessed_minor), ("late fees paid", figures.late_fees_paid_minor),
            ("charged off", figures.charged_off_minor), ("recovered", figures.recovered_minor),
            ("realised loss, net", figures.realised_loss_minor)):
        table.add_row(label, money(minor))
    console.print(table)

    if not performance.roll_rates:
        console.print("Roll rates: no two consecutive month ends in the ageing snapshots yet.", highlight=False)
    else:
        latest = performance.roll_rates[-1]
        table = Table(title=f"Roll rates {latest.from_day} to {latest.to_day}: lines (share of lines; share of "
                            "the amount owed)", title_justify="left")
        table.add_column("from \\ to")
        table.add_column("lines", justify="right")
        for to in TO_STATES:
            table.add_column(to, justify="right")
        for row in latest.rows:
            table.add_row(row.bucket, f"{row.lines:,}", *(
                f"{cell.lines:,} ({share(cell.line_share)}; {share(cell.amount_share)})" if cell.lines else "·"
                for cell in row.cells))
        console.print(table)
        table = Table(title="Roll rates by month end (share of lines)", title_justify="left")
        table.add_column("month end")
        steps = list(zip(TO_STATES[:4], TO_STATES[1:5]))
        for a, b in steps:
            table.add_column(f"{a} → {b}", justify="right")
        for matrix in performance.roll_rates:
            table.add_row(str(matrix.to_day), *(share(matrix.rate(a, b)) for a, b in steps))
        console.print(table)

    if not performance.vintages:
        console.print("Vintages: no receivable captured yet.", highlight=False)
    else:
        months = min(VINTAGE_MONTHS_SHOWN, max(len(v.points) for v in performance.vintages))
        table = Table(title=f"Vintages: cumulative share of principal charged off / share more than "
                            f"{PAST_DUE_DAYS} days past due, by months on book", title_justify="left")
        for column in ("capture month", "captures", f"principal ({MARKETPLACE_CURRENCY})"):
            table.add_column(column, justify="left" if column == "capture month" else "right")
        for month in range(months):
            table.add_column(str(month), justify="right")
        for vintage in performance.vintages:
            points = {p.months_on_book: p for p in vintage.points}
            table.add_row(vintage.vintage.strftime("%Y-%m"), f"{vintage.captures:,}", money(vintage.principal_minor),
                          *(f"{share(points[m].charged_off_share)} / {share(points[m].past_due_share)}"
                            if m in points else "" for m in range(months)))
        console.print(table)

    if not performance.grades:
        console.print("Realised against predicted default: no line has a receivable yet.", highlight=False)
    else:
        table = Table(title=f"Realised against predicted default by grade at line opening, the book's lines "
                            f"({performance.interval} interval)", title_justify="left")
        for column in ("grade", "lines", "defaults", "predicted", "realised", "interval", "status"):
            table.add_column(column, justify="left" if column in ("grade", "status") else "right")
        for grade in performance.grades:
            table.add_row(grade.grade, f"{grade.lines:,}", f"{grade.defaults:,}",
                          "—" if grade.predicted_pd is None else f"{grade.predicted_pd:.2%}",
                          f"{grade.realised_rate:.2%}", f"[{grade.ci_low:.2%}, {grade.ci_high:.2%}]",
                          "—" if grade.status is None else _status(grade.status))
        console.print(table)


def print_financing_book(book, max_warnings: int | None = None) -> None:  # noqa: ANN001 - a FinancingBook
    """The financing book by product (one column per product) and the day's early warnings (the first
    ``max_warnings`` of them, with a count by rule of all, when given)."""
    from credit.money import MARKETPLACE_CURRENCY, from_minor

    def money(minor: int) -> str:
        return f"{from_minor(minor):,}"

    table = Table(title=f"Financing book at the end of {book.as_of} ({MARKETPLACE_CURRENCY})", title_justify="left")
    table.add_column("figure")
    for row in book.products:
        table.add_column(row.kind, justify="right")
    rows = book.products
    for label, value in (
            ("outstanding (count)", lambda r: f"{r.outstanding_count:,}"),
            ("outstanding", lambda r: money(r.outstanding_minor)),
            ("paid out (count)", lambda r: f"{r.paid_out_count:,}"),
            ("paid out", lambda r: money(r.paid_out_minor)),
            ("collected", lambda r: money(r.collected_minor)),
            ("recovered", lambda r: money(r.recovered_minor)),
            ("written off", lambda r: money(r.written_off_minor)),
            ("written back", lambda r: money(r.written_back_minor)),
            ("realised loss", lambda r: money(r.realised_loss_minor)),
            ("diluted", lambda r: money(r.diluted_minor)),
            ("dilution share of face", lambda r: "—" if r.dilution_share is None else f"{r.dilution_share:.2%}"),
            ("fees earned", lambda r: money(r.fees_earned_minor)),
            ("fees received", lambda r: money(r.fees_received_minor)),
            ("released to suppliers", lambda r: money(r.released_minor)),
            ("overdue", lambda r: f"{r.overdue_count:,} / {money(r.overdue_minor)}"),
            ("recourse (status now)", lambda r: f"{r.recourse_count:,} / {money(r.recourse_minor)}"),
            ("defaulted (status now)", lambda r: f"{r.defaulted_count:,} / {money(r.defaulted_minor)}")):
        table.add_row(label, *(value(r) for r in rows))
    console.print(table)
    if not book.warnings:
        console.print(f"Early warnings: none at the end of {book.as_of}.", highlight=False)
        return
    if max_warnings == 0:
        by_rule = Counter(w.rule for w in book.warnings)
        console.print(f"Early warnings at the end of {book.as_of}: "
                      + ", ".join(f"{count:,} {rule}" for rule, count in sorted(by_rule.items()))
                      + " (`credit monitor financing` lists them).", highlight=False)
        return
    table = Table(title=f"Early warnings at the end of {book.as_of}", title_justify="left")
    for column in ("rule", "financing", "product", "firm", "buyer", f"at risk ({MARKETPLACE_CURRENCY})", "detail"):
        table.add_column(column, justify="right" if column.startswith("at risk") else "left")
    for w in book.warnings[:max_warnings]:
        detail = ", ".join(f"{key.removesuffix('_minor')} {money(value)}" if key.endswith("_minor") else f"{key} {value}"
                           for key, value in w.details.items())
        table.add_row(w.rule, str(w.financing_id), w.kind, str(w.firm_id), "—" if w.buyer_id is None else str(w.buyer_id),
                      money(w.at_risk_minor), detail)
    console.print(table)
    if max_warnings is not None and len(book.warnings) > max_warnings:
        by_rule = Counter(w.rule for w in book.warnings)
        console.print(f"... {len(book.warnings) - max_warnings:,} more; by rule: "
                      + ", ".join(f"{count:,} {rule}" for rule, count in sorted(by_rule.items())), highlight=False)
