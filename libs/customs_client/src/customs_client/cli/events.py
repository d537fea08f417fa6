"""`customs events`: the events between services, for operators (reconciling after a restore)."""

from __future__ import annotations

import datetime as dt

import typer
from customs.events.v1 import event_delivery_service_pb2 as api
from google.protobuf import timestamp_pb2

from customs_client.cli.common import (
    OUTPUT_OPTION,
    InputError,
    Output,
    client,
    field,
    print_listing,
)

events = typer.Typer(help="Events between services: reconcile a receiver restored from a backup.")

_SERVICES = ("scoring", "criteria", "exam_reports", "compliance", "audit_referral")


def _package(service: str) -> str:
    package = service.replace("-", "_")
    if package not in _SERVICES:
        raise InputError(f"unknown service {service!r}: one of {', '.join(_SERVICES)}")
    return package


def _since(value: str) -> timestamp_pb2.Timestamp:
    try:
        moment = dt.datetime.fromisoformat(value)
    except ValueError:
        raise InputError(f"--since {value!r} is not an ISO 8601 time") from None
    if moment.tzinfo is None:
        raise InputError(f"--since {value!r} needs a time zone (e.g. Z or +09:00)")
    stamp = timestamp_pb2.Timestamp()
    stamp.FromDatetime(moment)
    return stamp


@events.command("reconcile")
def reconcile(
    ctx: typer.Context,
    sender: str = typer.Argument(..., help="The service whose outbox is compared, e.g. scoring."),
    destination: str = typer.Argument(..., help="The restored receiver, e.g. exam-reports."),
    since: str = typer.Option(
        ..., "--since", help="When the receiver's backup was taken (ISO 8601 with zone)."
    ),
    output: Output = OUTPUT_OPTION,
) -> None:
    """Re-deliver what a restored receiver lost of the events SENDER delivered since --since."""
    request = api.ReconcileDestinationRequest(
        destination=_package(destination).replace("_", "-"), since=_since(since)
    )
    response = client(ctx).event_delivery(_package(sender)).ReconcileDestination(request)
    columns = [
        field("checked"),
        field("redelivered"),
        field("retention_start"),
        field("beyond_retention_window"),
    ]
    print_listing([response], columns, output)
