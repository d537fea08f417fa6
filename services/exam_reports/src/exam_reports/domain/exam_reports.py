"""The cargo examination report of the handbook's appendix 1 and the rules of its form.

The form's instructions are the contract: every field outside the shaded area
is mandatory; when a discrepancy is found, the shaded area (the discrepancy in
detail, penalty, seizure and its case number, carrier and driver data) is
mandatory too; "other" as the reason needs the reason written down and a
supervisor's approval obtained *before* the examination.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import Enum

from customs_kit.errors import (
    FailedPrecondition,
    FieldViolation,
    InvalidArgument,
    PermissionDenied,
    PreconditionViolation,
)
from exam_reports.domain.examinations import Examination, ExaminationReason
from exam_reports.domain.officers import Officer
from exam_reports.domain.overrides import Override, OverrideState

#: How far ahead of the server's clock a tablet's clock may run: tablets sync
#: their clocks rarely and must not have a correct report refused for it.
CLOCK_SKEW = timedelta(minutes=5)
MIN_OTHER_REASON_LENGTH = 10
MIN_DISCREPANCY_DETAIL_LENGTH = 20


class ExamReportState(Enum):
    """Where a report is in its review."""

    DRAFT = "DRAFT"
    SUBMITTED = "SUBMITTED"
    RETURNED = "RETURNED"
    APPROVED = "APPROVED"


class DiscrepancyType(Enum):
    """The kind of a finding, so analysts can compute with findings."""

    QUANTITY = "QUANTITY"
    VALUE = "VALUE"
    CLASSIFICATION = "CLASSIFICATION"
    ORIGIN = "ORIGIN"
    DESCRIPTION = "DESCRIPTION"
    PROHIBITED_OR_RESTRICTED_GOODS = "PROHIBITED_OR_RESTRICTED_GOODS"
    INTELLECTUAL_PROPERTY = "INTELLECTUAL_PROPERTY"
    UNDECLARED_GOODS = "UNDECLARED_GOODS"
    CONCEALMENT = "CONCEALMENT"
    DOCUMENTS = "DOCUMENTS"


@dataclass(frozen=True)
class Quantity:
    """An amount in a UN/ECE Rec. 20 unit."""

    value: float
    unit: str


_NANOS = 1_000_000_000


@dataclass(frozen=True)
class Money:
    """An amount of money: whole units and billionths, in an ISO 4217 currency."""

    currency_code: str
    units: int
    nanos: int

    @property
    def in_nanos(self) -> int:
        """The amount in billionths of a unit, for exact sums."""
        return self.units * _NANOS + self.nanos

    @classmethod
    def of_nanos(cls, currency_code: str, total: int) -> Money:
        """The amount of ``total`` billionths of a unit, with units and nanos of one sign."""
        units, nanos = divmod(abs(total), _NANOS)
        sign = -1 if total < 0 else 1
        return cls(currency_code, sign * units, sign * nanos)


def total_of(amounts: Iterable[Money | None]) -> Money | None:
    """The sum of the amounts given; ``None`` when there are none.

    The report form admits the national currency only (see
    :func:`check_national_currency`), so every amount is in the same one.
    """
    listed = [amount for amount in amounts if amount is not None]
    if not listed:
        return None
    return Money.of_nanos(listed[0].currency_code, sum(amount.in_nanos for amount in listed))


@dataclass(frozen=True)
class Discrepancy:
    """One structured finding: what kind, on which item, declared versus found."""

    type: DiscrepancyType | None
    item_number: int = 0
    description: str = ""
    declared_quantity: Quantity | None = None
    found_quantity: Quantity | None = None
    declared_value: Money | None = None
    found_value: Money | None = None
    declared_hs_code: str = ""
    found_hs_code: str = ""
    declared_origin_country: str = ""
    found_origin_country: str = ""


@dataclass(frozen=True)
class CarrierData:
    """The "Carrier Data" boxes."""

    display_name: str = ""
    address: str = ""
    carrier_number: str = ""
    vehicle_registration: str = ""


class IdentityDocumentType(Enum):
    """The kind of identity document a driver showed."""

    PASSPORT = "PASSPORT"
    NATIONAL_ID = "NATIONAL_ID"
    DRIVING_LICENCE = "DRIVING_LICENCE"
    OTHER = "OTHER"


@dataclass(frozen=True)
class IdentityDocument:
    """The "Driver Passport # (or other ID)" box."""

    type: IdentityDocumentType | None = None
    number: str = ""
    issuing_country: str = ""


@dataclass(frozen=True)
class DriverData:
    """The driver boxes of the "Carrier Data" section."""

    full_name: str = ""
    date_of_birth: str = ""
    nationality: str = ""
    identity_document: IdentityDocument = IdentityDocument()


@dataclass(frozen=True)
class Signature:
    """A sign-off by an authenticated officer (the form's signature, ID # and date)."""

    officer_id: str
    display_name: str
    badge_number: str
    sign_time: datetime


@dataclass(frozen=True)
class CorrectionRequest:
    """One return of the report for correction."""

    returned_by: str
    return_time: datetime
    reason: str
    fields: tuple[str, ...]


@dataclass(frozen=True)
class ExamReportForm:
    """What the officer fills in; ``None`` means a box not answered."""

    examination_id: str
    declaration_number: str = ""
    customs_office_id: str = ""
    importer_name: str = ""
    importer_number: str = ""
    broker_name: str = ""
    broker_number: str = ""
    inspecting_officer_id: str = ""
    reason: ExaminationReason | None = None
    other_reason: str = ""
    override_id: str = ""
    examination_time: datetime | None = None
    discrepancy_found: bool | None = None
    discrepancy_detail: str = ""
    discrepancies: tuple[Discrepancy, ...] = ()
    penalty_recommended: bool | None = None
    merchandise_seized: bool | None = None
    seizure_case_number: str = ""
    carrier: CarrierData = CarrierData()
    driver: DriverData = DriverData()
    intelligence_information: str = ""
    attachments: tuple[str, ...] = ()
    post_clearance_audit_recommended: bool = False
    #: The additional duties and taxes the examination assessed, in national currency.
    revenue_found: Money | None = None


@dataclass(frozen=True)
class ExamReport:
    """A report with its review state and signatures."""

    id: str
    form: ExamReportForm
    state: ExamReportState
    author_officer_id: str
    officer_signature: Signature | None
    supervisor_signature: Signature | None
    corrections: tuple[CorrectionRequest, ...]
    submission_count: int
    submit_time: datetime | None
    #: Identifies the content of the last submission, so a resent one is recognised.
    submission_fingerprint: str
    create_time: datetime
    update_time: datetime
    version: int = 1


def submission_violations(
    form: ExamReportForm, sign_time: datetime, now: datetime
) -> list[FieldViolation]:
    """Every rule of the form that ``form`` breaks, each naming its field.

    Field paths are relative to the request (``exam_report.driver.nationality``)
    so a tablet can put the message next to the box.
    """
    return list(_violations(form, sign_time, now))


def check_submission(form: ExamReportForm, sign_time: datetime, now: datetime) -> None:
    """Raises ``InvalidArgument`` listing every rule of the form that ``form`` breaks."""
    violations = submission_violations(form, sign_time, now)
    if violations:
        raise InvalidArgument(violations)


def check_national_currency(form: ExamReportForm, national_currency: str) -> None:
    """INVALID_ARGUMENT on ``exam_report.revenue_found.currency_code`` in a foreign currency.

    Duties are assessed and reported in the national currency: an amount in
    another one could be neither summed per criterion or officer nor billed.
    Checked on drafts too, so the tablet shows the mistake while it is typed.
    """
    revenue = form.revenue_found
    if revenue is not None and revenue.currency_code != national_currency:
        raise InvalidArgument(
            [
                FieldViolation(
                    "exam_report.revenue_found.currency_code",
                    f"must be the national currency {national_currency}, "
                    f"not {revenue.currency_code}",
                )
            ]
        )


def _missing(field: str, why: str = "is required") -> FieldViolation:
    return FieldViolation(f"exam_report.{field}", why)


def _violations(
    form: ExamReportForm, sign_time: datetime, now: datetime
) -> Iterator[FieldViolation]:
    for field in (
        "declaration_number",
        "importer_name",
        "importer_number",
        "broker_name",
        "intelligence_information",
    ):
        if not getattr(form, field).strip():
            yield _missing(field)
    if not form.customs_office_id:
        yield _missing("customs_office")
    if not form.inspecting_officer_id:
        yield _missing("inspecting_officer")
    if form.reason is None:
        yield _missing("reason")
    elif form.reason is ExaminationReason.OTHER:
        if len(form.other_reason.strip()) < MIN_OTHER_REASON_LENGTH:
            yield _missing(
                "other_reason",
                f"must state the reason (at least {MIN_OTHER_REASON_LENGTH} characters) "
                "when the reason is OTHER",
            )
        if not form.override_id:
            yield _missing(
                "override", "(the supervisor's approval) is required when the reason is OTHER"
            )
    if form.examination_time is None:
        yield _missing("examination_time")
    elif form.examination_time > now + CLOCK_SKEW:
        yield _missing("examination_time", "must not be in the future")
    if sign_time > now + CLOCK_SKEW:
        yield FieldViolation("sign_time", "must not be in the future")
    elif form.examination_time is not None and sign_time < form.examination_time:
        yield FieldViolation("sign_time", "must not be before exam_report.examination_time")
    if form.discrepancy_found is None:
        yield _missing("discrepancy_found")
    elif form.discrepancy_found:
        yield from _shaded_area_violations(form)
    else:
        if form.discrepancies:
            yield _missing("discrepancies", "must be empty when no discrepancy is found")
        if form.merchandise_seized:
            yield _missing("merchandise_seized", "must not be true when no discrepancy is found")
    for index, discrepancy in enumerate(form.discrepancies):
        yield from _discrepancy_violations(f"exam_report.discrepancies[{index}]", discrepancy)


def _shaded_area_violations(form: ExamReportForm) -> Iterator[FieldViolation]:
    when = "is required when a discrepancy is found"
    if len(form.discrepancy_detail.strip()) < MIN_DISCREPANCY_DETAIL_LENGTH:
        yield _missing(
            "discrepancy_detail",
            "must describe the discrepancy in detail (what was declared and what was found, "
            f"at least {MIN_DISCREPANCY_DETAIL_LENGTH} characters) when a discrepancy is found",
        )
    if not form.discrepancies:
        yield _missing("discrepancies", "needs at least one entry when a discrepancy is found")
    if form.penalty_recommended is None:
        yield _missing("penalty_recommended", when)
    if form.merchandise_seized is None:
        yield _missing("merchandise_seized", when)
    elif form.merchandise_seized and not form.seizure_case_number:
        yield _missing("seizure_case_number", "is required when merchandise was seized")
    for field in ("display_name", "address"):
        if not getattr(form.carrier, field).strip():
            yield _missing(f"carrier.{field}", when)
    for field in ("full_name", "date_of_birth", "nationality"):
        if not getattr(form.driver, field).strip():
            yield _missing(f"driver.{field}", when)
    document = form.driver.identity_document
    if document.type is None:
        yield _missing("driver.identity_document.type", when)
    if not document.number.strip():
        yield _missing("driver.identity_document.number", when)


def _discrepancy_violations(path: str, discrepancy: Discrepancy) -> Iterator[FieldViolation]:
    match discrepancy.type:
        case None:
            yield FieldViolation(f"{path}.type", "is required")
        case DiscrepancyType.QUANTITY:
            for field in ("declared_quantity", "found_quantity"):
                if getattr(discrepancy, field) is None:
                    yield FieldViolation(
                        f"{path}.{field}", "is required for a QUANTITY discrepancy"
                    )
        case DiscrepancyType.VALUE:
            for field in ("declared_value", "found_value"):
                if getattr(discrepancy, field) is None:
                    yield FieldViolation(f"{path}.{field}", "is required for a VALUE discrepancy")
        case DiscrepancyType.CLASSIFICATION if not discrepancy.found_hs_code:
            yield FieldViolation(
                f"{path}.found_hs_code", "is required for a CLASSIFICATION discrepancy"
            )
        case DiscrepancyType.ORIGIN if not discrepancy.found_origin_country:
            yield FieldViolation(
                f"{path}.found_origin_country", "is required for an ORIGIN discrepancy"
            )
        case _:
            return


def check_matches_examination(form: ExamReportForm, examination: Examination) -> None:
    """FAILED_PRECONDITION ``REPORT_DOES_NOT_MATCH_EXAMINATION`` if the header disagrees.

    The header is copied from the declaration on the tablet; a report that
    names another declaration, office or importer than its task would attach
    findings to the wrong trader.
    """
    subject = f"examinations/{examination.id}"
    expected = {
        "declaration_number": (form.declaration_number, examination.declaration_number),
        "customs_office": (form.customs_office_id, examination.office_id),
        "importer_number": (form.importer_number, examination.importer.number),
    }
    violations = [
        PreconditionViolation(
            "REPORT_DOES_NOT_MATCH_EXAMINATION",
            subject,
            f"exam_report.{field} is {given!r} but the examination's is {actual!r}",
        )
        for field, (given, actual) in expected.items()
        if given != actual
    ]
    designated = {
        ExaminationReason.CRITERIA: bool(examination.matched_criteria),
        ExaminationReason.RANDOM: examination.random_selection,
    }
    if form.reason in designated and not designated[form.reason]:
        violations.append(
            PreconditionViolation(
                "REPORT_DOES_NOT_MATCH_EXAMINATION",
                subject,
                f"exam_report.reason is {form.reason.name} but the examination was not "
                f"designated that way",
            )
        )
    if violations:
        raise FailedPrecondition(
            "REPORT_DOES_NOT_MATCH_EXAMINATION",
            "the report's header does not match its examination",
            violations,
        )


def check_override_approved_before_examination(
    form: ExamReportForm, override: Override | None
) -> None:
    """FAILED_PRECONDITION ``OVERRIDE_NOT_APPROVED_BEFORE_EXAMINATION`` for reason OTHER.

    The directive wants the supervisor's written approval *before* an
    examination the system did not designate, so the named override must be
    approved, authorise this examination of this declaration, and have been
    decided no later than the examination began. ``override`` is the one the
    form names (None when it does not exist).
    """
    if form.reason is not ExaminationReason.OTHER:
        return
    problem = ""
    if override is None:
        problem = "no such override was requested"
    elif override.state is not OverrideState.APPROVED:
        problem = f"the override is {override.state.name}, not APPROVED"
    elif not override.authorises_examination(form.examination_id, form.declaration_number):
        problem = "the override approved another examination or declaration"
    elif (
        override.decide_time is None
        or form.examination_time is None
        or override.decide_time > form.examination_time
    ):
        problem = "the override was approved after the examination began"
    if problem:
        raise FailedPrecondition(
            "OVERRIDE_NOT_APPROVED_BEFORE_EXAMINATION",
            "an examination for another reason needs a supervisor's approval before it",
            [
                PreconditionViolation(
                    "OVERRIDE_NOT_APPROVED_BEFORE_EXAMINATION",
                    f"overrides/{form.override_id}",
                    problem,
                )
            ],
        )


def check_inspecting_officer(form: ExamReportForm, officer: Officer | None) -> None:
    """FAILED_PRECONDITION ``INSPECTING_OFFICER_INACTIVE`` unless that officer is active."""
    if officer is None or not officer.active:
        raise FailedPrecondition(
            "INSPECTING_OFFICER_INACTIVE",
            "the inspecting officer does not exist or is inactive",
            [
                PreconditionViolation(
                    "INSPECTING_OFFICER_INACTIVE",
                    f"officers/{form.inspecting_officer_id}",
                    "is not an active officer",
                )
            ],
        )


def check_attachments_uploaded(form: ExamReportForm, uploaded: frozenset[str]) -> None:
    """FAILED_PRECONDITION ``ATTACHMENT_NOT_UPLOADED`` for a listed file that was not uploaded."""
    missing = [attachment for attachment in form.attachments if attachment not in uploaded]
    if missing:
        raise FailedPrecondition(
            "ATTACHMENT_NOT_UPLOADED",
            "the report lists attachments that were not uploaded to it",
            [
                PreconditionViolation("ATTACHMENT_NOT_UPLOADED", attachment, "was not uploaded")
                for attachment in missing
            ],
        )


def submitted_report(
    existing: ExamReport | None,
    report_id: str,
    form: ExamReportForm,
    signer: Officer,
    sign_time: datetime,
    fingerprint: str,
    now: datetime,
) -> ExamReport:
    """The report after a (first or corrected) submission signed by ``signer``."""
    signature = Signature(signer.id, signer.display_name, signer.badge_number, sign_time)
    if existing is None:
        return ExamReport(
            id=report_id,
            form=form,
            state=ExamReportState.SUBMITTED,
            author_officer_id=signer.id,
            officer_signature=signature,
            supervisor_signature=None,
            corrections=(),
            submission_count=1,
            submit_time=now,
            submission_fingerprint=fingerprint,
            create_time=now,
            update_time=now,
        )
    return replace(
        existing,
        form=form,
        state=ExamReportState.SUBMITTED,
        officer_signature=signature,
        submission_count=existing.submission_count + 1,
        submit_time=now,
        submission_fingerprint=fingerprint,
        update_time=now,
        version=existing.version + 1,
    )


def resent_submission(existing: ExamReport | None, fingerprint: str) -> ExamReport | None:
    """The stored report if this submission was already accepted, else None.

    A tablet that lost the connection resends the same submission; it gets the
    report as it stands now (possibly already reviewed), never a second one. The
    same report submitted again with other content is refused once submitted:
    only a return for correction reopens it.
    """
    if existing is None or existing.state is ExamReportState.DRAFT:
        return None
    if existing.submission_fingerprint == fingerprint:
        return existing
    if existing.state is ExamReportState.RETURNED:
        return None
    raise FailedPrecondition(
        "REPORT_ALREADY_SUBMITTED",
        "this report was already submitted with other content",
        [
            PreconditionViolation(
                "REPORT_ALREADY_SUBMITTED",
                f"examReports/{existing.id}",
                f"state is {existing.state.name}",
            )
        ],
    )


#: States in which the officer may still change the form.
EDITABLE_STATES = frozenset({ExamReportState.DRAFT, ExamReportState.RETURNED})


def check_editable(report: ExamReport) -> None:
    """FAILED_PRECONDITION ``REPORT_NOT_EDITABLE`` once the report is SUBMITTED or APPROVED."""
    if report.state not in EDITABLE_STATES:
        raise FailedPrecondition(
            "REPORT_NOT_EDITABLE",
            f"examReports/{report.id} is {report.state.name} and can no longer be changed",
            [
                PreconditionViolation(
                    "REPORT_NOT_EDITABLE",
                    f"examReports/{report.id}",
                    f"state is {report.state.name}",
                )
            ],
        )


def require_author(report: ExamReport, officer_id: str) -> None:
    """PERMISSION_DENIED ``NOT_REPORT_AUTHOR`` unless ``officer_id`` wrote the report."""
    if report.author_officer_id != officer_id:
        raise PermissionDenied(
            "NOT_REPORT_AUTHOR",
            f"examReports/{report.id} was written by another officer",
            metadata={"exam_report": f"examReports/{report.id}"},
        )


def draft_report(
    existing: ExamReport | None,
    report_id: str,
    form: ExamReportForm,
    author: Officer,
    now: datetime,
) -> ExamReport:
    """The report after a draft save: the whole form replaced, still unsigned.

    A draft of a RETURNED report stays RETURNED (the correction request still
    stands until the report is submitted again). A report answers one
    examination for good: a save naming another one is refused.
    """
    if existing is None:
        return ExamReport(
            id=report_id,
            form=form,
            state=ExamReportState.DRAFT,
            author_officer_id=author.id,
            officer_signature=None,
            supervisor_signature=None,
            corrections=(),
            submission_count=0,
            submit_time=None,
            submission_fingerprint="",
            create_time=now,
            update_time=now,
        )
    require_author(existing, author.id)
    check_editable(existing)
    check_same_examination(existing, form)
    return replace(existing, form=form, update_time=now, version=existing.version + 1)


def check_same_examination(existing: ExamReport, form: ExamReportForm) -> None:
    """INVALID_ARGUMENT on ``exam_report.examination`` if ``form`` names another examination.

    A report answers one examination for good; findings moved to another task
    would be attributed to the wrong declaration.
    """
    if form.examination_id != existing.form.examination_id:
        raise InvalidArgument(
            [
                FieldViolation(
                    "exam_report.examination",
                    f"cannot change: examReports/{existing.id} answers "
                    f"examinations/{existing.form.examination_id}",
                )
            ]
        )


def check_reviewable(report: ExamReport, supervisor: Officer) -> None:
    """The rules of a review: a SUBMITTED report, by someone who did not examine or sign it.

    PERMISSION_DENIED ``SELF_REVIEW_FORBIDDEN`` when the supervisor signed the
    report as officer or is named as its inspecting officer: the form wants a
    second person to check it before the shipment is released.
    FAILED_PRECONDITION ``REPORT_NOT_SUBMITTED`` in any other state.
    """
    signer = report.officer_signature.officer_id if report.officer_signature else None
    if supervisor.id in (signer, report.form.inspecting_officer_id):
        raise PermissionDenied(
            "SELF_REVIEW_FORBIDDEN",
            f"officers/{supervisor.id} examined or signed examReports/{report.id}; "
            "another supervisor must review it",
            metadata={"exam_report": f"examReports/{report.id}"},
        )
    if report.state is not ExamReportState.SUBMITTED:
        raise FailedPrecondition(
            "REPORT_NOT_SUBMITTED",
            f"examReports/{report.id} is {report.state.name}; only a SUBMITTED report is reviewed",
            [
                PreconditionViolation(
                    "REPORT_NOT_SUBMITTED",
                    f"examReports/{report.id}",
                    f"state is {report.state.name}",
                )
            ],
        )


def approved_report(report: ExamReport, supervisor: Officer, now: datetime) -> ExamReport:
    """The report signed off by ``supervisor``: the shipment may be released unless seized."""
    check_reviewable(report, supervisor)
    return replace(
        report,
        state=ExamReportState.APPROVED,
        supervisor_signature=Signature(
            supervisor.id, supervisor.display_name, supervisor.badge_number, now
        ),
        update_time=now,
        version=report.version + 1,
    )


def returned_report(
    report: ExamReport,
    supervisor: Officer,
    reason: str,
    fields: tuple[str, ...],
    now: datetime,
) -> ExamReport:
    """The report sent back to its officer, with who, when, why and what to fix on record."""
    check_reviewable(report, supervisor)
    return replace(
        report,
        state=ExamReportState.RETURNED,
        corrections=(*report.corrections, CorrectionRequest(supervisor.id, now, reason, fields)),
        update_time=now,
        version=report.version + 1,
    )


def calls_for_audit_referral(form: ExamReportForm) -> bool:
    """Whether an approved report goes to post-clearance audit or a penalty case.

    Only a found discrepancy can be referred: the referral carries the
    discrepancies as its evidence. An audit recommended without a finding
    stays on the report for the analysts.
    """
    return bool(form.discrepancy_found) and bool(
        form.penalty_recommended or form.post_clearance_audit_recommended
    )


def discrepancy_found_on(form: ExamReportForm, item_number: int) -> bool:
    """Whether the report found a discrepancy on ``item_number`` (0: anywhere on the declaration).

    A criterion that hit one item is credited only with a discrepancy on that
    item; one that hit the declaration as a whole, with any discrepancy.
    """
    if not form.discrepancy_found:
        return False
    if item_number == 0:
        return True
    return any(entry.item_number == item_number for entry in form.discrepancies)


@dataclass(frozen=True)
class ExamReportFilter:
    """Which reports a list returns; every unset criterion matches everything."""

    office_id: str | None = None
    states: frozenset[ExamReportState] = frozenset()
    inspecting_officer_id: str | None = None
    examination_id: str | None = None
    discrepancy_found: bool | None = None
    author_officer_id: str | None = None
