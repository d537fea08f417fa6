"""`customs examinations`: an officer's tasks and the cargo examination report.

An officer lists their tasks, starts one, and submits the report written in a
YAML/JSON file; a supervisor (not the report's author) approves it or returns
it for correction. Both need an officer record whose subject is their token's.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import typer
from customs.exam_reports.v1 import exam_report_pb2, examination_pb2, override_pb2
from customs.exam_reports.v1 import exam_reports_service_pb2 as api
from google.protobuf.timestamp_pb2 import Timestamp

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
    print_listing,
    print_message,
    request_id_for,
    resource,
    show,
)
from customs_client.pagination import paginate

examinations = typer.Typer(help="Examination tasks and their reports.")

_COLUMNS = [
    field("name"),
    field("declaration_number", "declaration"),
    field("office"),
    field("channel"),
    field("examination_level", "level"),
    field("reason"),
    field("state"),
    field("assigned_officer", "officer"),
    field("exam_report", "report"),
]
_EXAMINATION_STATE = enum_of(examination_pb2.Examination, "state")


def _states(values: list[str]) -> list[Any]:
    return [enum_number(_EXAMINATION_STATE, value, "--state") for value in values]


_STATE_OPTION = typer.Option([], "--state", help="e.g. ASSIGNED, IN_PROGRESS; repeatable.")


@examinations.command("my-tasks")
def my_tasks(
    ctx: typer.Context, state: list[str] = _STATE_OPTION, output: Output = OUTPUT_OPTION
) -> None:
    """The calling officer's tasks, oldest first (by default those needing work)."""
    request = api.ListMyExaminationsRequest(states=_states(state))
    print_listing(paginate(client(ctx).exam_reports.ListMyExaminations, request), _COLUMNS, output)


@examinations.command("list")
def list_examinations(
    ctx: typer.Context,
    office: str = typer.Option("", "--office", help="Only this office's tasks."),
    declaration: str = typer.Option("", "--declaration", help="Only this declaration's tasks."),
    state: list[str] = _STATE_OPTION,
    output: Output = OUTPUT_OPTION,
) -> None:
    """Every task (supervisors and analysts), newest first."""
    request = api.ListExaminationsRequest(
        office=resource("offices", office) if office else "",
        declaration_number=declaration,
        states=_states(state),
    )
    print_listing(paginate(client(ctx).exam_reports.ListExaminations, request), _COLUMNS, output)


@examinations.command("show")
def show_examination(ctx: typer.Context, name: str) -> None:
    """Show one task in full."""
    print_message(_get(ctx, name))


def _get(ctx: typer.Context, name: str) -> examination_pb2.Examination:
    request = api.GetExaminationRequest(name=resource("examinations", name))
    return client(ctx).exam_reports.GetExamination(request).examination  # type: ignore[no-any-return]


@examinations.command("start")
def start(ctx: typer.Context, name: str) -> None:
    """Start examining an assigned task."""
    started = (
        client(ctx)
        .exam_reports.StartExamination(
            api.StartExaminationRequest(name=resource("examinations", name))
        )
        .examination
    )
    done(f"{started.name} started")


@examinations.command("submit")
def submit(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="The examination the report answers."),
    file: Path = typer.Argument(..., help="The ExamReport as YAML or JSON."),
) -> None:
    """Sign and submit the report of an examination.

    The report's ID is fixed by its content, so running the command twice
    never files two reports: the second run is refused as already submitted.

    Boxes the file leaves empty are filled from the task, as the tablet does:
    declaration, office, importer, broker, reason, inspecting officer and the
    examination time (when the task was started).
    """
    report = load_message(file, exam_report_pb2.ExamReport)
    prefill(report, _get(ctx, name))
    signed = Timestamp()
    signed.FromDatetime(datetime.now(UTC))
    submitted = (
        client(ctx)
        .exam_reports.SubmitExamReport(
            api.SubmitExamReportRequest(
                exam_report_id=request_id_for("SubmitExamReport", report),
                exam_report=report,
                sign_time=signed,
            )
        )
        .exam_report
    )
    done(f"{submitted.name} submitted for {submitted.examination}")


def prefill(report: exam_report_pb2.ExamReport, task: examination_pb2.Examination) -> None:
    """Fills the report's empty boxes that the task already answers."""
    report.examination = task.name
    importer_name = report.importer_name or task.importer.display_name or task.importer.number
    defaults = {
        "declaration_number": task.declaration_number,
        "customs_office": task.office,
        "importer_number": task.importer.number,
        "importer_name": importer_name,
        "broker_number": task.broker.number,
        # The form's rule: without a broker, the importer's name goes in the box.
        "broker_name": task.broker.display_name or task.broker.number or importer_name,
        "inspecting_officer": task.assigned_officer,
    }
    for box, value in defaults.items():
        if not getattr(report, box) and value:
            setattr(report, box, value)
    if not report.reason:
        report.reason = task.reason
    if not report.HasField("examination_time") and task.HasField("start_time"):
        report.examination_time.CopyFrom(task.start_time)


def _report_name(ctx: typer.Context, name: str) -> str:
    """The report named, or the report of the examination named."""
    if name.startswith("examinations/"):
        report = _get(ctx, name).exam_report
        if not report:
            raise InputError(f"{name} has no report yet")
        return str(report)
    return resource("examReports", name)


def _current_report(ctx: typer.Context, name: str) -> exam_report_pb2.ExamReport:
    request = api.GetExamReportRequest(name=_report_name(ctx, name))
    return client(ctx).exam_reports.GetExamReport(request).exam_report  # type: ignore[no-any-return]


@examinations.command("approve")
def approve(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="examReports/ID, or examinations/ID for its report."),
) -> None:
    """Approve a submitted report (supervisor, not its author); its outcome goes out."""
    report = _current_report(ctx, name)
    approved = (
        client(ctx)
        .exam_reports.ApproveExamReport(
            api.ApproveExamReportRequest(
                name=report.name, etag=report.etag, request_id=new_request_id()
            )
        )
        .exam_report
    )
    done(f"{approved.name} approved")


@examinations.command("return")
def return_report(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="examReports/ID, or examinations/ID for its report."),
    reason: str = typer.Option(..., "--reason", help="What the officer must correct."),
    fields: list[str] = typer.Option([], "--field", help="A report field to correct; repeatable."),
) -> None:
    """Return a submitted report to its officer for correction."""
    report = _current_report(ctx, name)
    returned = (
        client(ctx)
        .exam_reports.ReturnExamReport(
            api.ReturnExamReportRequest(
                name=report.name,
                etag=report.etag,
                reason=reason,
                fields=fields,
                request_id=new_request_id(),
            )
        )
        .exam_report
    )
    done(f"{returned.name} returned")


@examinations.command("reports")
def list_reports(
    ctx: typer.Context,
    office: str = typer.Option("", "--office"),
    output: Output = OUTPUT_OPTION,
) -> None:
    """List examination reports."""
    request = api.ListExamReportsRequest(office=resource("offices", office) if office else "")
    columns = [
        field("name"),
        field("examination"),
        field("declaration_number", "declaration"),
        field("state"),
        field("inspecting_officer", "officer"),
    ]
    print_listing(paginate(client(ctx).exam_reports.ListExamReports, request), columns, output)


overrides = typer.Typer(help="Overrides of the selectivity instructions, approved by a supervisor.")
examinations.add_typer(overrides, name="overrides")
_OVERRIDE_STATE = enum_of(override_pb2.Override, "state")


@overrides.command("list")
def list_overrides(
    ctx: typer.Context,
    office: str = typer.Option("", "--office", help="Only this office's."),
    state: list[str] = typer.Option([], "--state", help="PENDING, APPROVED...; repeatable."),
    output: Output = OUTPUT_OPTION,
) -> None:
    """List override requests, newest first."""
    request = api.ListOverridesRequest(
        office=resource("offices", office) if office else "",
        states=[enum_number(_OVERRIDE_STATE, s, "--state") for s in state],  # type: ignore[misc]
    )
    columns = [
        field("name"),
        field("declaration_number", "declaration"),
        field("office"),
        field("kind"),
        field("requested_channel", "requested"),
        field("state"),
        field("requester"),
        field("decided_by", "decided by"),
        field("resulting_examination", "examination"),
    ]
    listing(ctx, "exam_reports.ListOverrides", request, columns, output)


def _override(ctx: typer.Context, name: str) -> override_pb2.Override:
    request = api.GetOverrideRequest(name=resource("overrides", name))
    return call(ctx, "exam_reports.GetOverride", request)  # type: ignore[no-any-return]


@overrides.command("show")
def show_override(ctx: typer.Context, name: str) -> None:
    """Show one override."""
    show(ctx, "exam_reports.GetOverride", api.GetOverrideRequest(name=resource("overrides", name)))


@overrides.command("request")
def request_override(
    ctx: typer.Context, file: Path = typer.Argument(..., help="The Override as YAML/JSON.")
) -> None:
    """Ask a supervisor to approve examining what selectivity did not designate."""
    override = load_message(file, override_pb2.Override)
    request = api.RequestOverrideRequest(
        request_id=request_id_for("RequestOverride", override), override=override
    )
    act(ctx, "exam_reports.RequestOverride", request, "requested")


@overrides.command("approve")
def approve_override(
    ctx: typer.Context, name: str, comment: str = typer.Option("", "--comment")
) -> None:
    """Approve an override (a supervisor other than its requester); opens its examination."""
    current = _override(ctx, name)
    request = api.ApproveOverrideRequest(
        name=current.name, etag=current.etag, request_id=new_request_id(), comment=comment
    )
    act(ctx, "exam_reports.ApproveOverride", request, "approved")


@overrides.command("reject")
def reject_override(
    ctx: typer.Context, name: str, comment: str = typer.Option(..., "--comment", help="Why.")
) -> None:
    """Reject an override, saying why."""
    current = _override(ctx, name)
    request = api.RejectOverrideRequest(
        name=current.name, etag=current.etag, request_id=new_request_id(), comment=comment
    )
    act(ctx, "exam_reports.RejectOverride", request, "rejected")
