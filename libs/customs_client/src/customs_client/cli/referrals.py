"""`customs referrals` and `customs audit-cases`: post-clearance audit referrals (from BLUE
decisions and examination findings) and the audit cases that take them."""

from __future__ import annotations

from pathlib import Path

import typer
from customs.audit_referral.v1 import audit_case_pb2, referral_pb2
from customs.audit_referral.v1 import audit_referral_service_pb2 as api

from customs_client.cli.common import (
    OUTPUT_OPTION,
    InputError,
    Output,
    act,
    call,
    client,
    done,
    enum_number,
    enum_of,
    field,
    listing,
    load_message,
    new_request_id,
    request_id_for,
    resource,
    show,
)

referrals = typer.Typer(help="Audit referrals: accept into an audit case or decline.")
_STATE = enum_of(referral_pb2.Referral, "state")


@referrals.command("list")
def list_referrals(
    ctx: typer.Context,
    state: list[str] = typer.Option([], "--state", help="OPEN, ACCEPTED or DECLINED; repeatable."),
    output: Output = OUTPUT_OPTION,
) -> None:
    """List referrals."""
    states = [enum_number(_STATE, value, "--state") for value in state]
    columns = [
        field("name"),
        field("source"),
        field("trader"),
        field("priority"),
        field("state"),
        field("reason"),
    ]
    request = api.ListReferralsRequest(states=states)  # type: ignore[arg-type]
    listing(ctx, "audit_referral.ListReferrals", request, columns, output)


def _get(ctx: typer.Context, name: str) -> referral_pb2.Referral:
    request = api.GetReferralRequest(name=resource("referrals", name))
    return call(ctx, "audit_referral.GetReferral", request)  # type: ignore[no-any-return]


@referrals.command("show")
def show_referral(ctx: typer.Context, name: str) -> None:
    """Show one referral."""
    show(
        ctx, "audit_referral.GetReferral", api.GetReferralRequest(name=resource("referrals", name))
    )


@referrals.command("accept")
def accept(
    ctx: typer.Context,
    name: str,
    audit_case: str = typer.Option("", "--audit-case", help="Join this existing audit case."),
    new_case: Path | None = typer.Option(
        None, "--new-case", help="Open a new audit case described in this YAML/JSON file."
    ),
    note: str = typer.Option("", "--note"),
) -> None:
    """Accept a referral into an audit case (an existing one, or a new one)."""
    if bool(audit_case) == (new_case is not None):
        raise InputError("give exactly one of --audit-case and --new-case")
    current = _get(ctx, name)
    request = api.AcceptReferralRequest(
        name=current.name, etag=current.etag, note=note, request_id=new_request_id()
    )
    if new_case is not None:
        request.new_audit_case.CopyFrom(load_message(new_case, audit_case_pb2.AuditCase))
    else:
        request.audit_case = resource("auditCases", audit_case)
    accepted = client(ctx).audit_referral.AcceptReferral(request).referral
    done(f"{accepted.name} accepted into {accepted.audit_case}")


@referrals.command("decline")
def decline(
    ctx: typer.Context,
    name: str,
    reason: str = typer.Option(..., "--reason", help="Why (at least 10 characters)."),
) -> None:
    """Decline a referral."""
    current = _get(ctx, name)
    declined = (
        client(ctx)
        .audit_referral.DeclineReferral(
            api.DeclineReferralRequest(
                name=current.name, etag=current.etag, reason=reason, request_id=new_request_id()
            )
        )
        .referral
    )
    done(f"{declined.name} declined")


audit_cases = typer.Typer(help="Post-clearance audit cases opened from referrals or plans.")
_CASE_STATE = enum_of(audit_case_pb2.AuditCase, "state")


@audit_cases.command("list")
def list_audit_cases(
    ctx: typer.Context,
    trader: str = typer.Option("", "--trader", help="Only this trader's cases."),
    state: list[str] = typer.Option(
        [], "--state", help="e.g. NOTIFIED, FIELDWORK, CLOSED; repeatable."
    ),
    output: Output = OUTPUT_OPTION,
) -> None:
    """List audit cases."""
    request = api.ListAuditCasesRequest(
        trader=resource("traders", trader) if trader else "",
        states=[enum_number(_CASE_STATE, s, "--state") for s in state],  # type: ignore[misc]
    )
    columns = [
        field("name"),
        field("trader"),
        field("selection_basis", "basis"),
        field("campaign"),
        field("lead_auditor", "lead auditor"),
        field("state"),
        field("referrals"),
    ]
    listing(ctx, "audit_referral.ListAuditCases", request, columns, output)


@audit_cases.command("show")
def show_audit_case(ctx: typer.Context, name: str) -> None:
    """Show one audit case with its stages."""
    request = api.GetAuditCaseRequest(name=resource("auditCases", name))
    show(ctx, "audit_referral.GetAuditCase", request)


@audit_cases.command("create")
def create_audit_case(
    ctx: typer.Context,
    file: Path = typer.Argument(..., help="The AuditCase as YAML/JSON."),
    referral: list[str] = typer.Option([], "--referral", help="A referral it takes; repeatable."),
) -> None:
    """Open an audit case (a planned or random audit, or one that takes referrals)."""
    case = load_message(file, audit_case_pb2.AuditCase)
    referrals_taken = [resource("referrals", r) for r in referral]
    request = api.CreateAuditCaseRequest(
        request_id=request_id_for("CreateAuditCase", case, referrals_taken),
        audit_case=case,
        referrals=referrals_taken,
    )
    act(ctx, "audit_referral.CreateAuditCase", request, "opened")
