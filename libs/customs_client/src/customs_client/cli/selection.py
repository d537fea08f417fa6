"""`customs rates` and `customs capacity`: random examination rates and capacity policies."""

from __future__ import annotations

from pathlib import Path

import grpc
import typer
from customs.scoring.v1 import capacity_policy_pb2, random_examination_rate_pb2
from customs.scoring.v1 import scoring_service_pb2 as api
from google.protobuf import field_mask_pb2

from customs_client.cli.common import (
    OUTPUT_OPTION,
    Output,
    client,
    done,
    field,
    load_message,
    print_listing,
    print_message,
    resource,
)
from customs_client.errors import CustomsError
from customs_client.pagination import paginate

rates = typer.Typer(help="Random compliance examination rates per office and procedure.")
capacity = typer.Typer(help="Capacity policies: what is downgraded when an office is full.")


@rates.command("list")
def list_rates(
    ctx: typer.Context,
    office: str = typer.Option("", "--office"),
    output: Output = OUTPUT_OPTION,
) -> None:
    """List random examination rates."""
    request = api.ListRandomExaminationRatesRequest(office_code=office)
    columns = [
        field("name"),
        field("office_code", "office"),
        field("procedure_code", "procedure"),
        field("document_review_percent", "document %"),
        field("physical_examination_percent", "physical %"),
        field("physical_examination_level", "level"),
        field("revision"),
    ]
    print_listing(
        paginate(client(ctx).scoring.ListRandomExaminationRates, request), columns, output
    )


@rates.command("set")
def set_rate(
    ctx: typer.Context,
    file: Path = typer.Argument(..., help="The RandomExaminationRate as YAML/JSON."),
    reason: str = typer.Option(..., "--reason", help="Why the rate is set; kept with it."),
) -> None:
    """Set the rate of the file's office_code and procedure_code (empty: every one)."""
    rate = load_message(file, random_examination_rate_pb2.RandomExaminationRate)
    stored = (
        client(ctx)
        .scoring.SetRandomExaminationRate(
            api.SetRandomExaminationRateRequest(random_examination_rate=rate, reason=reason)
        )
        .random_examination_rate
    )
    done(f"{stored.name} set (revision {stored.revision})")


@capacity.command("list")
def list_policies(ctx: typer.Context, output: Output = OUTPUT_OPTION) -> None:
    """List capacity policies."""
    columns = [
        field("name"),
        field("rules"),
        field("downgrade_random_examinations", "downgrade random"),
        field("revision"),
    ]
    items = paginate(client(ctx).scoring.ListCapacityPolicies, api.ListCapacityPoliciesRequest())
    print_listing(items, columns, output)


@capacity.command("show")
def show_policy(ctx: typer.Context, name: str) -> None:
    """Show one capacity policy."""
    request = api.GetCapacityPolicyRequest(name=resource("capacityPolicies", name))
    print_message(client(ctx).scoring.GetCapacityPolicy(request).capacity_policy)


@capacity.command("set")
def set_policy(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="capacityPolicies/OFFICE (or OFFICE)."),
    file: Path = typer.Argument(..., help="The policy's rules as a CapacityPolicy YAML/JSON."),
) -> None:
    """Create the policy, or replace its rules and random-downgrade switch with the file's."""
    policy = load_message(file, capacity_policy_pb2.CapacityPolicy)
    policy.name = resource("capacityPolicies", name)
    scoring = client(ctx).scoring
    try:
        policy.etag = scoring.GetCapacityPolicy(
            api.GetCapacityPolicyRequest(name=policy.name)
        ).capacity_policy.etag
    except CustomsError as error:
        if error.code() != grpc.StatusCode.NOT_FOUND:
            raise
    stored = scoring.UpdateCapacityPolicy(
        api.UpdateCapacityPolicyRequest(
            capacity_policy=policy,
            update_mask=field_mask_pb2.FieldMask(paths=["rules", "downgrade_random_examinations"]),
            allow_missing=True,
        )
    ).capacity_policy
    done(f"{stored.name} set (revision {stored.revision})")
