"""`customs offices`, `customs officers`, `customs shifts`: an administration's reference data.

Each ``import`` reads a CSV (one record a row) or a YAML/JSON list and is
idempotent: a record that exists as written is left alone, one that differs is
updated in the fields the file gives, a new one is created. Records name their
resource ID in ``id``; enum values may be written without their prefix
(``role: SUPERVISOR``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

import grpc
import typer
from customs.exam_reports.v1 import exam_reports_service_pb2 as api
from customs.exam_reports.v1 import office_pb2, officer_pb2
from google.protobuf import field_mask_pb2
from google.protobuf.message import Message

from customs_client.cli.common import (
    OUTPUT_OPTION,
    InputError,
    Output,
    client,
    done,
    field,
    parse_message,
    print_listing,
    read_records,
    request_id_for,
    resource,
)
from customs_client.errors import CustomsError
from customs_client.pagination import paginate

offices = typer.Typer(help="Customs offices, their time zones and examination facilities.")
officers = typer.Typer(help="Officers: inspectors and supervisors, matched to tokens by subject.")
shifts = typer.Typer(help="Officers' shifts: who is on duty to be given tasks.")

_M = TypeVar("_M", bound=Message)
_FILE = typer.Argument(..., help="CSV, or YAML/JSON list of records.")


def _normalised(record: Mapping[str, Any], descriptor: Any) -> dict[str, Any]:
    """``record`` with its office reference as a resource name and ``active`` defaulted."""
    result = dict(record)
    if isinstance(result.get("office"), str) and result["office"]:
        result["office"] = resource("offices", result["office"])
    if "active" in descriptor.fields_by_name:
        # Reference data is imported to be used: a record that says nothing is active.
        result.setdefault("active", True)
    return result


def _given(record: Mapping[str, Any], descriptor: Any) -> list[str]:
    """The fields ``record`` sets (by field or JSON name); ``active`` always, defaulted above."""
    return [
        f.name
        for f in descriptor.fields
        if f.name in record or f.json_name in record or f.name == "active"
    ]


def _record_id(record: dict[str, Any], where: str) -> str:
    value = record.pop("id", "")
    if not isinstance(value, (str, int)) or not str(value):
        raise InputError(f"{where}: every record needs an id")
    return str(value)


def _existing(get: Callable[[], _M]) -> _M | None:
    try:
        return get()
    except CustomsError as error:
        if error.code() == grpc.StatusCode.NOT_FOUND:
            return None
        raise


class _Tally:
    def __init__(self) -> None:
        self.counts = {"created": 0, "updated": 0, "unchanged": 0}

    def add(self, outcome: str) -> None:
        self.counts[outcome] += 1

    def summary(self, noun: str) -> str:
        return f"{noun}: " + ", ".join(f"{count} {what}" for what, count in self.counts.items())


def _changes(
    wanted: Message, current: Message, given: Sequence[str], updatable: Sequence[str]
) -> list[str]:
    """The updatable fields the record gives with a value other than the stored one."""
    return [p for p in updatable if p in given and getattr(wanted, p) != getattr(current, p)]


@offices.command("list")
def list_offices(
    ctx: typer.Context,
    show_inactive: bool = typer.Option(False, "--show-inactive"),
    output: Output = OUTPUT_OPTION,
) -> None:
    """List offices."""
    request = api.ListOfficesRequest(show_inactive=show_inactive)
    columns = [field("name"), field("display_name"), field("time_zone"), field("active")]
    print_listing(paginate(client(ctx).exam_reports.ListOffices, request), columns, output)


_OFFICE_FIELDS = ("display_name", "time_zone", "address", "active")
_FACILITY_FIELDS = ("display_name", "address", "capabilities", "daily_capacities", "active")


@offices.command("import")
def import_offices(ctx: typer.Context, file: Path = _FILE) -> None:
    """Create or update offices (id, display_name, time_zone, address, active) and, in
    YAML/JSON, each office's `facilities` (id, display_name, capabilities, daily_capacities)."""
    stub = client(ctx).exam_reports
    records = read_records(file, "offices")
    parsed = []
    for number, record in enumerate(records, start=1):
        where = f"{file} record {number}"
        office_id = _record_id(record, where)
        facilities = record.pop("facilities", [])
        office = parse_message(
            _normalised(record, office_pb2.Office.DESCRIPTOR), office_pb2.Office, where
        )
        facility_messages = []
        for index, facility in enumerate(facilities, start=1):
            place = f"{where} facility {index}"
            facility = dict(facility)
            facility_id = _record_id(facility, place)
            descriptor = office_pb2.ExaminationFacility.DESCRIPTOR
            message = parse_message(
                _normalised(facility, descriptor), office_pb2.ExaminationFacility, place
            )
            facility_messages.append((facility_id, message, _given(facility, descriptor)))
        parsed.append(
            (office_id, office, _given(record, office_pb2.Office.DESCRIPTOR), facility_messages)
        )
    tally, facility_tally = _Tally(), _Tally()
    for office_id, office, given, facility_messages in parsed:
        tally.add(_upsert_office(stub, office_id, office, given))
        for facility_id, facility, facility_given in facility_messages:
            facility_tally.add(
                _upsert_facility(stub, office_id, facility_id, facility, facility_given)
            )
    done(tally.summary("offices"))
    if any(facility_tally.counts.values()):
        done(facility_tally.summary("facilities"))


def _upsert_office(
    stub: Any, office_id: str, office: office_pb2.Office, given: Sequence[str]
) -> str:
    name = resource("offices", office_id)
    current = _existing(lambda: stub.GetOffice(api.GetOfficeRequest(name=name)).office)
    if current is None:
        stub.CreateOffice(
            api.CreateOfficeRequest(
                office_id=office_id,
                office=office,
                request_id=request_id_for("CreateOffice", office_id, office),
            )
        )
        return "created"
    changed = _changes(office, current, given, _OFFICE_FIELDS)
    if not changed:
        return "unchanged"
    stub.UpdateOffice(
        api.UpdateOfficeRequest(
            office=_with_identity(office, name, current.etag),
            update_mask=field_mask_pb2.FieldMask(paths=changed),
        )
    )
    return "updated"


def _upsert_facility(
    stub: Any,
    office_id: str,
    facility_id: str,
    facility: office_pb2.ExaminationFacility,
    given: Sequence[str],
) -> str:
    parent = resource("offices", office_id)
    name = f"{parent}/examinationFacilities/{facility_id}"
    current = _existing(
        lambda: (
            stub.GetExaminationFacility(
                api.GetExaminationFacilityRequest(name=name)
            ).examination_facility
        )
    )
    if current is None:
        stub.CreateExaminationFacility(
            api.CreateExaminationFacilityRequest(
                parent=parent,
                examination_facility_id=facility_id,
                examination_facility=facility,
                request_id=request_id_for("CreateExaminationFacility", name, facility),
            )
        )
        return "created"
    changed = _changes(facility, current, given, _FACILITY_FIELDS)
    if not changed:
        return "unchanged"
    stub.UpdateExaminationFacility(
        api.UpdateExaminationFacilityRequest(
            examination_facility=_with_identity(facility, name, current.etag),
            update_mask=field_mask_pb2.FieldMask(paths=changed),
        )
    )
    return "updated"


def _with_identity(message: _M, name: str, etag: str) -> _M:
    copy = type(message)()
    copy.CopyFrom(message)
    copy.name = name  # type: ignore[attr-defined]
    copy.etag = etag  # type: ignore[attr-defined]
    return copy


@officers.command("list")
def list_officers(
    ctx: typer.Context,
    office: str = typer.Option("", "--office"),
    output: Output = OUTPUT_OPTION,
) -> None:
    """List officers."""
    request = api.ListOfficersRequest(office=resource("offices", office) if office else "")
    columns = [
        field("name"),
        field("display_name"),
        field("office"),
        field("role"),
        field("subject"),
        field("active"),
    ]
    print_listing(paginate(client(ctx).exam_reports.ListOfficers, request), columns, output)


_OFFICER_FIELDS = ("display_name", "badge_number", "office", "role", "subject", "active")


@officers.command("import")
def import_officers(ctx: typer.Context, file: Path = _FILE) -> None:
    """Create or update officers (id, display_name, badge_number, office, role, subject)."""
    stub = client(ctx).exam_reports
    parsed = []
    for number, record in enumerate(read_records(file, "officers"), start=1):
        where = f"{file} record {number}"
        officer_id = _record_id(record, where)
        officer = parse_message(
            _normalised(record, officer_pb2.Officer.DESCRIPTOR), officer_pb2.Officer, where
        )
        parsed.append((officer_id, officer, _given(record, officer_pb2.Officer.DESCRIPTOR)))
    tally = _Tally()
    for officer_id, officer, given in parsed:
        tally.add(_upsert_officer(stub, officer_id, officer, given))
    done(tally.summary("officers"))


def _upsert_officer(
    stub: Any, officer_id: str, officer: officer_pb2.Officer, given: Sequence[str]
) -> str:
    name = resource("officers", officer_id)
    current = _existing(lambda: stub.GetOfficer(api.GetOfficerRequest(name=name)).officer)
    if current is None:
        stub.CreateOfficer(
            api.CreateOfficerRequest(
                officer_id=officer_id,
                officer=officer,
                request_id=request_id_for("CreateOfficer", officer_id, officer),
            )
        )
        return "created"
    changed = _changes(officer, current, given, _OFFICER_FIELDS)
    if not changed:
        return "unchanged"
    stub.UpdateOfficer(
        api.UpdateOfficerRequest(
            officer=_with_identity(officer, name, current.etag),
            update_mask=field_mask_pb2.FieldMask(paths=changed),
        )
    )
    return "updated"


@shifts.command("list")
def list_shifts(
    ctx: typer.Context,
    officer: str = typer.Option("-", "--officer", help="Default: every officer."),
    output: Output = OUTPUT_OPTION,
) -> None:
    """List shifts."""
    request = api.ListShiftsRequest(parent=resource("officers", officer))
    columns = [field("name"), field("office"), field("start_time"), field("end_time")]
    print_listing(paginate(client(ctx).exam_reports.ListShifts, request), columns, output)


@shifts.command("import")
def import_shifts(ctx: typer.Context, file: Path = _FILE) -> None:
    """Create shifts (officer, office, start_time, end_time, RFC 3339); one that exists
    with the same officer, office and times is left alone."""
    stub = client(ctx).exam_reports
    parsed = []
    for number, record in enumerate(read_records(file, "shifts"), start=1):
        where = f"{file} record {number}"
        officer = record.pop("officer", "")
        if not officer:
            raise InputError(f"{where}: every shift needs an officer")
        shift = parse_message(
            _normalised(record, officer_pb2.Shift.DESCRIPTOR), officer_pb2.Shift, where
        )
        parsed.append((resource("officers", str(officer)), shift))
    tally = _Tally()
    for parent, shift in parsed:
        existing = paginate(stub.ListShifts, api.ListShiftsRequest(parent=parent))
        if any(_same_shift(shift, other) for other in existing):
            tally.add("unchanged")
            continue
        stub.CreateShift(
            api.CreateShiftRequest(
                parent=parent, shift=shift, request_id=request_id_for("CreateShift", parent, shift)
            )
        )
        tally.add("created")
    done(tally.summary("shifts"))


def _same_shift(wanted: officer_pb2.Shift, other: officer_pb2.Shift) -> bool:
    return (
        wanted.start_time == other.start_time
        and wanted.end_time == other.end_time
        and (not wanted.office or wanted.office == other.office)
    )
