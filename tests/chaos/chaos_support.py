"""What the crash trials share: an office and criteria, a bulk lodger that survives crashes, counts.

The office works as in the end-to-end journeys (tests/e2e): analysts approve
criteria routing HS 0207 RED, HS 6109 YELLOW and HS 8471 BLUE, everything
else goes GREEN; officers examine, supervisors approve reports. The lodger
plays a declaration system on ``AssessDeclarations``: when the stream breaks
(scoring killed) or a declaration is answered with an error it can retry, it
sends what was not answered again, as gRPC's retry guidance has a client do.
The effects are then counted in each service's own database: a test that
must prove *no duplicate* looks at the rows, not at a page of a list.
"""

from __future__ import annotations

import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import grpc
from customs.common.v1 import money_pb2, selection_rule_pb2, selectivity_pb2
from customs.criteria.v1 import (
    criteria_service_pb2,
    criteria_service_pb2_grpc,
    criterion_pb2,
    risk_profile_pb2,
)
from customs.exam_reports.v1 import (
    exam_report_pb2,
    exam_reports_service_pb2,
    exam_reports_service_pb2_grpc,
    examination_pb2,
    office_pb2,
    officer_pb2,
)
from customs.scoring.v1 import declaration_pb2, scoring_service_pb2, scoring_service_pb2_grpc
from google.protobuf.timestamp_pb2 import Timestamp
from run_platform import Platform
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from customs_kit.auth import Role
from customs_kit.testing.services import SigningKeys

OFFICE = "30"
#: HS prefix → the channel the criterion for it routes to.
ROUTES = {"0207": "CHANNEL_RED", "6109": "CHANNEL_YELLOW", "8471": "CHANNEL_BLUE"}
#: The HS codes the declarations cycle through: RED, YELLOW, BLUE and GREEN.
HS_CODES = ("020714", "610910", "847130", "440890", "440890")
#: Codes a declaration system retries (gRPC's guidance): a restart in progress.
RETRYABLE = {grpc.StatusCode.UNAVAILABLE.value[0]}

Metadata = tuple[tuple[str, str], ...]


def stamp(moment: datetime) -> Timestamp:
    value = Timestamp()
    value.FromDatetime(moment)
    return value


def eventually(probe: Callable[[], object], *, timeout: float = 60.0, what: str = "") -> object:
    """Polls ``probe`` until it returns something true; RpcErrors count as not yet."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            result = probe()
        except grpc.RpcError:
            result = None
        if result:
            return result
        time.sleep(0.2)
    raise AssertionError(f"{what or 'nothing'} after {timeout} s")


def declaration(number: str, hs_code: str) -> declaration_pb2.Declaration:
    return declaration_pb2.Declaration(
        declaration_number=number,
        version=1,
        office_code=OFFICE,
        procedure_code="B",
        import_type_code="11",
        import_use_code="21",
        payment_type_code="11",
        lodgement_time=stamp(datetime.now(UTC)),
        declarant=declaration_pb2.Party(id="ZZR1LT6", name="Fast Brokers"),
        importer=declaration_pb2.Party(id="QLRUBN9", name="Importer QLRUBN9"),
        seller=declaration_pb2.Party(id="0VKY2BR"),
        transport_mode_code="10",
        dispatch_country_code="BE",
        items=[
            declaration_pb2.DeclarationItem(
                item_number=1,
                hs_code=hs_code,
                description="goods",
                origin_country_code="BE",
                origin_indicator_code="G",
                net_mass_kg=108.0,
                customs_value=money_pb2.Money(currency_code="KRW", units=372254),
                tax_type_code="FEU1",
                tax_rate_percent=0.0,
            )
        ],
    )


def treatment(channel: str) -> selection_rule_pb2.Treatment:
    if channel == "CHANNEL_RED":
        return selection_rule_pb2.Treatment(
            channel=selectivity_pb2.CHANNEL_RED,
            examination_level=selectivity_pb2.EXAMINATION_LEVEL_ENFORCEMENT,
        )
    documents = [
        selection_rule_pb2.DocumentRequirement(
            document_type_code="N380", description="Commercial invoice"
        )
    ]
    if channel == "CHANNEL_YELLOW":
        return selection_rule_pb2.Treatment(
            channel=selectivity_pb2.CHANNEL_YELLOW, documents_to_check=documents
        )
    return selection_rule_pb2.Treatment(channel=selectivity_pb2.CHANNEL_BLUE)


@dataclass
class Office:
    """Stubs on the platform and tokens of the people who work there."""

    platform: Platform
    keys: SigningKeys
    channels: list[grpc.Channel] = field(default_factory=list)

    def channel(self, package: str) -> grpc.Channel:
        opened = grpc.insecure_channel(self.platform.address(package))
        self.channels.append(opened)
        return opened

    def close(self) -> None:
        for opened in self.channels:
            opened.close()

    def as_(self, role: Role, subject: str) -> Metadata:
        return self.keys.metadata(role, subject=subject)

    @property
    def exam_reports(self) -> exam_reports_service_pb2_grpc.ExamReportsServiceStub:
        return exam_reports_service_pb2_grpc.ExamReportsServiceStub(self.channel("exam_reports"))

    @property
    def criteria(self) -> criteria_service_pb2_grpc.CriteriaServiceStub:
        return criteria_service_pb2_grpc.CriteriaServiceStub(self.channel("criteria"))

    @property
    def scoring(self) -> scoring_service_pb2_grpc.ScoringServiceStub:
        return scoring_service_pb2_grpc.ScoringServiceStub(self.channel("scoring"))


def open_office(office: Office) -> None:
    """Office 30 with a shed, inspector olga on shift and supervisor sofia."""
    operator = office.as_(Role.OPERATOR, "ops")
    exam_reports = office.exam_reports
    exam_reports.CreateOffice(
        exam_reports_service_pb2.CreateOfficeRequest(
            request_id=str(uuid.uuid4()),
            office_id=OFFICE,
            office=office_pb2.Office(
                display_name="Incheon port", time_zone="Asia/Seoul", active=True
            ),
        ),
        metadata=operator,
    )
    for officer_id, role in (
        ("olga", officer_pb2.OFFICER_ROLE_INSPECTOR),
        ("sofia", officer_pb2.OFFICER_ROLE_SUPERVISOR),
    ):
        exam_reports.CreateOfficer(
            exam_reports_service_pb2.CreateOfficerRequest(
                request_id=str(uuid.uuid4()),
                officer_id=officer_id,
                officer=officer_pb2.Officer(
                    display_name=officer_id.title(),
                    badge_number=f"B-{officer_id}",
                    office=f"offices/{OFFICE}",
                    role=role,
                    subject=officer_id,
                    active=True,
                ),
            ),
            metadata=operator,
        )
    now = datetime.now(UTC)
    exam_reports.CreateShift(
        exam_reports_service_pb2.CreateShiftRequest(
            parent="officers/olga",
            request_id=str(uuid.uuid4()),
            shift=officer_pb2.Shift(
                start_time=stamp(now - timedelta(hours=1)), end_time=stamp(now + timedelta(hours=7))
            ),
        ),
        metadata=operator,
    )


def activate_criteria(office: Office) -> None:
    """Analyst ana writes one criterion per route, supervisor sam approves each."""
    analyst = office.as_(Role.ANALYST, "ana")
    criteria = office.criteria
    for prefix, channel in ROUTES.items():
        profile = criteria.CreateRiskProfile(
            criteria_service_pb2.CreateRiskProfileRequest(
                risk_profile=risk_profile_pb2.RiskProfile(
                    title=f"Goods of HS {prefix}",
                    risk_area=risk_profile_pb2.RISK_AREA_REVENUE,
                    rationale="Seizures rose last year.",
                    sources=[
                        risk_profile_pb2.ProfileSource(
                            kind=risk_profile_pb2.SOURCE_KIND_EXAMINATION_RESULTS,
                            description="Seizures in 2025",
                        )
                    ],
                    indicators=[f"HS {prefix}"],
                    intended_treatment=treatment(channel),
                    owner="ana",
                    next_review_date="2027-06-30",
                ),
                request_id=str(uuid.uuid4()),
            ),
            metadata=analyst,
        ).risk_profile
        draft = criteria.CreateCriterion(
            criteria_service_pb2.CreateCriterionRequest(
                criterion=criterion_pb2.Criterion(
                    risk_profile=profile.name,
                    title=f"HS {prefix} to {channel}",
                    description="Crash trial criterion.",
                    rule=selection_rule_pb2.SelectionRule(
                        condition=selection_rule_pb2.Condition(
                            predicate=selection_rule_pb2.Predicate(
                                hs_code_prefix=selection_rule_pb2.HsCodePrefixPredicate(
                                    prefixes=[prefix]
                                )
                            )
                        ),
                        treatment=treatment(channel),
                        selection_percent=100,
                        approved_traders=selection_rule_pb2.APPROVED_TRADER_SCOPE_INCLUDED,
                        priority=10,
                        examiner_instructions="Check the goods.",
                    ),
                ),
                request_id=str(uuid.uuid4()),
            ),
            metadata=analyst,
        ).criterion
        submitted = criteria.SubmitCriterion(
            criteria_service_pb2.SubmitCriterionRequest(
                name=draft.name, etag=draft.etag, request_id=str(uuid.uuid4())
            ),
            metadata=analyst,
        ).criterion
        analysis = eventually(
            lambda submitted=submitted: criteria.AnalyzeImpact(
                criteria_service_pb2.AnalyzeImpactRequest(
                    criterion=submitted.name,
                    revision=submitted.revision,
                    lookback_days=30,
                    request_id=str(uuid.uuid4()),
                ),
                metadata=analyst,
            ),
            what="no impact analysis",
        ).impact_analysis  # type: ignore[attr-defined]
        criteria.ApproveCriterion(
            criteria_service_pb2.ApproveCriterionRequest(
                name=submitted.name,
                revision=submitted.revision,
                etag=submitted.etag,
                impact_analysis=analysis.name,
                request_id=str(uuid.uuid4()),
            ),
            metadata=office.as_(Role.SUPERVISOR, "sam"),
        )
    # Scoring learns criteria over its watch: wait until every route applies.
    for prefix, channel in ROUTES.items():
        hs_code = next(code for code in HS_CODES if code.startswith(prefix))

        def routed(hs_code: str = hs_code, channel: str = channel) -> bool:
            answer = office.scoring.AssessDeclaration(
                scoring_service_pb2.AssessDeclarationRequest(
                    declaration=declaration(f"PROBE-{uuid.uuid4().hex[:12]}", hs_code)
                ),
                metadata=office.as_(Role.DECLARATION_SYSTEM, "asycuda"),
            )
            return bool(selectivity_pb2.Channel.Name(answer.assessment.channel) == channel)

        eventually(routed, what=f"scoring does not route HS {prefix} {channel}")


@dataclass
class Lodgement:
    """How a bulk lodgement went: answers per declaration, resends, stream breaks."""

    channels: dict[str, str] = field(default_factory=dict)
    #: Declarations answered ``already_assessed``: resent after their decision was made.
    resent: int = 0
    breaks: int = 0
    answered_with_error: Counter[str] = field(default_factory=Counter)
    #: Seconds from SIGKILL until SERVING again, per service killed during it.
    recovery: dict[str, float] = field(default_factory=dict)


def lodge_in_bulk(
    office: Office,
    numbers: Sequence[str],
    *,
    on_answer: Callable[[int], None] = lambda _count: None,
    failed: Callable[[], BaseException | None] = lambda: None,
    timeout: float = 600,
) -> Lodgement:
    """Lodges every declaration on ``AssessDeclarations`` until each has a decision.

    A broken stream is reopened (once scoring is back) with what it had not
    answered; an answer with a retryable error is sent again too. ``failed``
    returns the error of whatever works beside the lodger (the killer), which
    ends the lodgement at once instead of at its timeout.
    """
    result = Lodgement()
    # Built once: a resent declaration must be the same, lodgement time included,
    # or scoring rightly refuses it as a conflicting version.
    lodged = {
        number: declaration(number, HS_CODES[int(number[-6:]) % len(HS_CODES)])
        for number in numbers
    }
    pending = list(numbers)
    deadline = time.monotonic() + timeout
    metadata = office.as_(Role.DECLARATION_SYSTEM, "asycuda")
    while pending:
        assert time.monotonic() < deadline, f"{len(pending)} declarations never answered"
        if (error := failed()) is not None:
            raise error
        attempt = list(pending)

        def requests(
            batch: list[str] = attempt,
        ) -> Iterator[scoring_service_pb2.AssessDeclarationsRequest]:
            for number in batch:
                yield scoring_service_pb2.AssessDeclarationsRequest(declaration=lodged[number])

        retry: list[str] = []
        answered: set[str] = set()
        channel = grpc.insecure_channel(office.platform.address("scoring"))
        try:
            stub = scoring_service_pb2_grpc.ScoringServiceStub(channel)
            for answer in stub.AssessDeclarations(requests(), metadata=metadata):
                answered.add(answer.declaration_number)
                if answer.already_assessed:
                    result.resent += 1
                if answer.WhichOneof("result") == "assessment":
                    result.channels[answer.declaration_number] = selectivity_pb2.Channel.Name(
                        answer.assessment.channel
                    )
                    on_answer(len(result.channels))
                else:
                    result.answered_with_error[answer.error.reason] += 1
                    assert answer.error.code in RETRYABLE, answer.error
                    retry.append(answer.declaration_number)
        except grpc.RpcError as error:
            result.breaks += 1
            code = error.code()  # type: ignore[attr-defined]
            if code is not grpc.StatusCode.UNAVAILABLE:
                raise AssertionError(f"the stream ended {code.name}: not retryable") from error
            time.sleep(0.2)
        finally:
            channel.close()
        pending = retry + [number for number in attempt if number not in answered]
    return result


def examine_and_approve(office: Office, task: examination_pb2.Examination) -> None:
    """Olga examines ``task`` and reports a discrepancy; sofia approves the report."""
    olga = office.as_(Role.OFFICER, "olga")
    exam_reports = office.exam_reports
    started = exam_reports.StartExamination(
        exam_reports_service_pb2.StartExaminationRequest(name=task.name, etag=task.etag),
        metadata=olga,
    ).examination
    form = exam_report_pb2.ExamReport(
        examination=started.name,
        declaration_number=started.declaration_number,
        customs_office=started.office,
        importer_name=started.importer.display_name,
        importer_number=started.importer.number,
        broker_name="Fast Brokers",
        inspecting_officer="officers/olga",
        reason=examination_pb2.EXAMINATION_REASON_CRITERIA,
        examination_time=started.start_time,
        discrepancy_found=False,
        intelligence_information="none found",
    )
    submitted = exam_reports.SubmitExamReport(
        exam_reports_service_pb2.SubmitExamReportRequest(
            exam_report_id=str(uuid.uuid4()),
            exam_report=form,
            sign_time=stamp(datetime.now(UTC)),
        ),
        metadata=olga,
    ).exam_report
    exam_reports.ApproveExamReport(
        exam_reports_service_pb2.ApproveExamReportRequest(
            name=submitted.name, request_id=str(uuid.uuid4()), etag=submitted.etag
        ),
        metadata=office.as_(Role.SUPERVISOR, "sofia"),
    )


def task_of(office: Office, number: str) -> examination_pb2.Examination:
    """The examination task of declaration ``number``, once delivered."""

    def found() -> examination_pb2.Examination | None:
        tasks = office.exam_reports.ListExaminations(
            exam_reports_service_pb2.ListExaminationsRequest(declaration_number=number),
            metadata=office.as_(Role.SUPERVISOR, "sofia"),
        ).examinations
        return tasks[0] if tasks else None

    return eventually(found, what=f"no task for {number}")  # type: ignore[return-value]


class Databases:
    """Counts in each service's own database (the platform's PostgreSQL databases)."""

    def __init__(self, platform: Platform) -> None:
        self._engines = {
            service.package: create_engine(
                environment["DATABASE_URL"].replace("+aiosqlite", ""), poolclass=NullPool
            )
            for service, environment in zip(platform.services, platform.environments, strict=True)
        }

    def rows(self, package: str, query: str, **parameters: object) -> list[tuple[object, ...]]:
        with self._engines[package].connect() as connection:
            return [tuple(row) for row in connection.execute(text(query), parameters)]

    def undelivered(self) -> int:
        """Outbox events of every service not yet delivered nor dead-lettered."""
        return sum(
            int(
                self.rows(
                    package,
                    "SELECT count(*) FROM outbox_events"
                    " WHERE delivered_at IS NULL AND dead_lettered_at IS NULL",
                )[0][0]
            )
            for package in self._engines
        )

    def dead_letters(self) -> int:
        return sum(
            int(
                self.rows(
                    package, "SELECT count(*) FROM outbox_events WHERE dead_lettered_at IS NOT NULL"
                )[0][0]
            )
            for package in self._engines
        )

    def dispose(self) -> None:
        for engine in self._engines.values():
            engine.dispose()


@dataclass(frozen=True)
class Effects:
    """Lost and duplicated effects of the lodged declarations, per kind of effect."""

    lost: dict[str, int]
    duplicated: dict[str, int]


def _per_number(rows: list[tuple[object, ...]]) -> Counter[str]:
    return Counter({str(number): int(str(count)) for number, count in rows})


def effects_of(
    databases: Databases,
    channels: dict[str, str],
    reported: Sequence[str],
    *,
    settle_timeout: float = 900,
) -> Effects:
    """Compares what each decision should have caused with the rows, once outboxes drained."""
    deadline = time.monotonic() + settle_timeout
    while (backlog := databases.undelivered()) and time.monotonic() < deadline:
        time.sleep(0.5)
    # Still on its way is late, not lost: say which it is.
    assert backlog == 0, f"{backlog} events still undelivered after {settle_timeout:.0f} s"
    numbers = set(channels)
    examined = {n for n, c in channels.items() if c in ("CHANNEL_RED", "CHANNEL_YELLOW")}
    blue = {n for n, c in channels.items() if c == "CHANNEL_BLUE"}
    expected: dict[str, tuple[set[str], Counter[str]]] = {
        "assessment": (
            numbers,
            _per_number(
                databases.rows(
                    "scoring",
                    "SELECT declaration_number, count(*) FROM assessments"
                    " WHERE declaration_number LIKE 'CHAOS-%' GROUP BY declaration_number",
                )
            ),
        ),
        "examination task": (
            examined,
            _per_number(
                databases.rows(
                    "exam_reports",
                    "SELECT declaration_number, count(*) FROM examinations"
                    " WHERE declaration_number LIKE 'CHAOS-%' GROUP BY declaration_number",
                )
            ),
        ),
        "compliance record": (
            numbers,
            _per_number(
                databases.rows(
                    "compliance",
                    "SELECT declaration_number, count(*) FROM declaration_records"
                    " WHERE declaration_number LIKE 'CHAOS-%' GROUP BY declaration_number",
                )
            ),
        ),
        "audit referral": (
            blue,
            _per_number(
                databases.rows(
                    "audit_referral",
                    "SELECT CAST(declarations AS TEXT), count(*) FROM referrals"
                    " WHERE source = 'BLUE_DECISION' GROUP BY CAST(declarations AS TEXT)",
                )
            ),
        ),
        "outcome in criteria": (
            set(reported),
            _per_number(
                databases.rows(
                    "criteria",
                    "SELECT declaration_number, count(*) FROM examination_outcomes"
                    " WHERE declaration_number LIKE 'CHAOS-%' GROUP BY declaration_number",
                )
            ),
        ),
        "outcome in compliance": (
            set(reported),
            _per_number(
                databases.rows(
                    "compliance",
                    "SELECT declaration_number, count(*) FROM examination_outcomes"
                    " WHERE declaration_number LIKE 'CHAOS-%' GROUP BY declaration_number",
                )
            ),
        ),
    }
    lost: dict[str, int] = {}
    duplicated: dict[str, int] = {}
    for kind, (wanted, found) in expected.items():
        if kind == "audit referral":
            # A referral names its declarations in a JSON list.
            found = Counter(
                {n: sum(c for key, c in found.items() if f'"{n}"' in key) for n in wanted}
            )
        lost[kind] = sum(1 for number in wanted if found[number] == 0)
        duplicated[kind] = sum(found[number] - 1 for number in wanted if found[number] > 1)
    return Effects(lost=lost, duplicated=duplicated)
