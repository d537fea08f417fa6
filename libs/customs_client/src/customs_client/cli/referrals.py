"""`customs referrals`: post-clearance audit referrals from BLUE decisions and findings."""

from __future__ import annotations

from pathlib import Path

import typer
from customs.audit_referral.v1 import audit_case_pb2, referral_pb2
from customs.audit_referral.v1 import audit_referral_service_pb2 as api

from customs_client.cli.common import (
    OUTPUT_OPTION,
    InputError,
    Output,
    client,
    done,
    enum_number,
    enum_of,
    field,
    load_message,
    new_request_id,
    print_listing,
    print_message,
    resource,
)
from customs_client.pagination import paginate

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
    print_listing(paginate(client(ctx).audit_referral.ListReferrals, request), columns, output)


def _get(ctx: typer.Context, name: str) -> referral_pb2.Referral:
    request = api.GetReferralRequest(name=resource("referrals", name))
    return client(ctx).audit_referral.GetReferral(request).referral  # type: ignore[no-any-return]


@referrals.command("show")
def show_referral(ctx: typer.Context, name: str) -> None:
    """Show one referral."""
    print_message(_get(ctx, name))


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
