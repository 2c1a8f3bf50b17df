"""Built-in aggregate reports (``policies/reports/``), run inside the hub for a recipient.

A report's specification was approved once, as a reviewed policy file (its ``sanction``), so a
run needs no new four-eyes approval. Everything else is as for any aggregate: the legal-basis
decision is taken for the caller at run time (restricted data, purposes, grants, populations),
the tables are computed from linked data inside the hub, and only what the disclosure checker
passes leaves; ``review`` goes to the approvers' queue and ``fail`` is refused.
"""

from __future__ import annotations

from gateway.audit.events import EventType
from gateway.dataplane import ressourceforloeb
from gateway.domain import identifiers, quality
from gateway.domain.catalogue import OutputForm, ReportDefinition
from gateway.domain.disclosure import Scope
from gateway.domain.permissions import authorize
from gateway.domain.policy import Decision, evaluate
from gateway.domain.principals import Principal
from gateway.domain.records import ReleaseKind, ReleaseRecord
from gateway.errors import Conflict, Forbidden, NotFound, PolicyDenied
from gateway.reports import ressourceforloeb as page
from gateway.services.context import Context
from gateway.services.platform.sealed import stored_reader
from gateway.services.releases.aggregates import CheckedRelease, new_release_id, record_checked
from gateway.services.releases.ledger import basis_of, checked_against_ledger

# The reports the hub knows how to compute; each needs a definition in policies/reports/.
BUILT_IN = {"ressourceforloeb": ressourceforloeb}
REQUIRED = {"ressourceforloeb": "dfdg-indsats"}


def definition(ctx: Context, report_id: str) -> ReportDefinition:
    found = ctx.catalogue.reports.get(report_id)
    if found is None or report_id not in BUILT_IN:
        raise NotFound(f"no report '{report_id}'")
    return found


def decide(ctx: Context, recipient: str, report: ReportDefinition) -> Decision:
    return evaluate(
        ctx.catalogue,
        recipient=recipient,
        purpose=report.purpose,
        datasets=[(d.dataset, d.columns) for d in report.datasets],
        on=ctx.today(),
        output=OutputForm.AGGREGATE,
        population=report.population,
    )


def run_report(ctx: Context, *, by: Principal, report_id: str, period: str) -> ReleaseRecord:
    """Compute, check and release (or hold, or refuse) ``report_id`` for ``period``."""
    authorize(by, "report.run")
    report_id = identifiers.identifier("report_id", report_id)
    period = identifiers.period("period", period)
    report = definition(ctx, report_id)
    recipient = identifiers.identifier("recipient", by.subject)
    refs = {
        "recipient": recipient,
        "report": report_id,
        "datasets": ",".join(d.dataset for d in report.datasets),
        "extract": f"report/{report_id}/{period}",
    }
    if recipient not in report.recipients:
        ctx.refuse(
            Forbidden(f"report '{report_id}' is not sanctioned for '{recipient}'"),
            event=EventType.RELEASE_REFUSED,
            by=by,
            refs=refs,
        )
    decision = decide(ctx, recipient, report)
    if not decision.allowed:
        ctx.refuse(
            PolicyDenied(decision.summary(), decision=decision.as_dict()),
            event=EventType.RELEASE_REFUSED,
            by=by,
            refs=refs,
            details={"decision": decision.as_dict()},
        )
    sources = []
    for item in report.datasets:
        with ctx.store.unit_of_work() as uow:
            found = uow.latest_deliveries(item.dataset, [period])
        ds = ctx.catalogue.datasets[item.dataset]
        report_of = found[0].quality_report() if found else None
        sources.append(
            page.Source(
                ds.id,
                ds.title,
                found[0].id if found else None,
                found[0].rows if found else 0,
                quality.note(ds.id, period, quality.for_release(report_of)) if report_of else "",
            )
        )
    required = REQUIRED[report_id]
    if not any(s.dataset == required and s.delivery for s in sources):
        raise Conflict(f"no delivery of '{required}' for {period}: the report has no base")
    reader = stored_reader(ctx, [period])
    data = BUILT_IN[report_id].compute(ctx.catalogue, reader, period)
    rules = ctx.catalogue.disclosure_rules([d.dataset for d in report.datasets])
    if report.disclosure is not None:
        rules = rules.strictest(report.disclosure)
    results = []
    for table in data.tables:
        source = f"report:{report_id}:{table.name}"
        results.append(
            checked_against_ledger(
                ctx,
                table,
                rules,
                source=source,
                basis=basis_of(source, report.population, (period, period), None, reader.inputs),
                months=(period, period),
                scope=Scope.PUBLISHED.value,
            )
        )
    checked = [r.checked for r in results]
    context = page.ReportContext(
        release_id=new_release_id(),
        title=report.title,
        period=period,
        generated_at=ctx.clock().isoformat(timespec="seconds"),
        recipient=recipient,
        sanction=f"{report.sanction.reference}, approved by {report.sanction.approved_by} "
        f"on {report.sanction.approved_on.isoformat()}",
        policy_hash=ctx.catalogue.policy_hash,
        sources=tuple(sources),
        municipality_names=ctx.catalogue.municipalities,
    )
    files = page.render(context, data, checked)
    return record_checked(
        ctx,
        by,
        CheckedRelease(
            context.release_id,
            ReleaseKind.REPORT,
            refs["extract"],
            recipient,
            results,
            files,
            refs,
            decision,
            f"gateway report {report_id} --period {period}",
            reader.inputs,
        ),
    )
