"""The approved-trader program through the real server: apply, review, sign, re-evaluate, end."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime
from typing import Any

import grpc
import pytest
from approved_traders import application, approve_trader, satisfactory_review
from compliance_support import Client, assessment_event, errors, examination_event, party
from customs.compliance.v1 import compliance_service_pb2 as service_pb2
from customs.compliance.v1 import measurement_pb2, trader_pb2
from customs.compliance.v1 import trader_application_pb2 as app_pb2

from compliance.adapters.repositories import ApplicationRepository
from compliance.domain.applications import ApplicationRequest, one_year_after, submit_application
from compliance.domain.traders import ApprovedTraderBenefit
from customs_kit.auth import Role
from customs_kit.db import Database
from customs_kit.errors import FailedPrecondition
from customs_kit.settings import ServiceSettings

State = app_pb2.TraderApplicationState
Application = app_pb2.TraderApplication
REDUCED = trader_pb2.APPROVED_TRADER_BENEFIT_REDUCED_EXAMINATION
DIRECT = trader_pb2.APPROVED_TRADER_BENEFIT_DIRECT_DELIVERY
DEFERRED = trader_pb2.APPROVED_TRADER_BENEFIT_DEFERRED_DUTY_PAYMENT
UNSATISFACTORY = app_pb2.CHECK_RESULT_UNSATISFACTORY
NOW = datetime(2025, 3, 10, 12, tzinfo=UTC)
REASON = "The trader's books could not be reconciled with its declarations."


def rid() -> str:
    return str(uuid.uuid4())


class Program:
    """The approved-trader RPCs as a compliance specialist (or another role) calls them."""

    def __init__(self, client: Client) -> None:
        self.client = client
        self.stub = client.stub

    def auth(self, role: Role = Role.COMPLIANCE) -> Any:
        return self.client.auth(role, subject="carla" if role is Role.COMPLIANCE else "rita")

    async def apply(
        self,
        trader_id: str = "T1",
        *,
        benefits: tuple[int, ...] = (REDUCED, DIRECT),
        received: str = "2025-03-01T09:00:00",
        request_id: str | None = None,
    ) -> Application:
        response = await self.stub.CreateTraderApplication(
            service_pb2.CreateTraderApplicationRequest(
                request_id=request_id or rid(),
                trader_application=application(trader_id, benefits, received),
            ),
            metadata=self.auth(),
        )
        return response.trader_application

    async def start_review(self, app: Application, role: Role = Role.COMPLIANCE) -> Application:
        response = await self.stub.StartTraderApplicationReview(
            service_pb2.StartTraderApplicationReviewRequest(
                name=app.name, request_id=rid(), etag=app.etag
            ),
            metadata=self.auth(role),
        )
        return response.trader_application

    async def approve(
        self,
        app: Application,
        review: app_pb2.ApplicationReview | None = None,
        role: Role = Role.COMPLIANCE,
    ) -> Application:
        response = await self.stub.ApproveTraderApplication(
            service_pb2.ApproveTraderApplicationRequest(
                name=app.name,
                request_id=rid(),
                etag=app.etag,
                review=review or satisfactory_review(),
            ),
            metadata=self.auth(role),
        )
        return response.trader_application

    async def sign(
        self,
        app: Application,
        benefits: tuple[int, ...] = (REDUCED, DIRECT),
        effective_date: str = "2025-04-01",
        role: Role = Role.COMPLIANCE,
    ) -> Application:
        response = await self.stub.SignTraderApplicationAgreement(
            service_pb2.SignTraderApplicationAgreementRequest(
                name=app.name,
                request_id=rid(),
                etag=app.etag,
                agreement=app_pb2.Agreement(
                    reference="ATA-2025-0001",
                    benefits=list(benefits),
                    effective_date=effective_date,
                ),
            ),
            metadata=self.auth(role),
        )
        return response.trader_application

    async def reject(
        self, app: Application, review: app_pb2.ApplicationReview | None = None
    ) -> Application:
        response = await self.stub.RejectTraderApplication(
            service_pb2.RejectTraderApplicationRequest(
                name=app.name, request_id=rid(), etag=app.etag, review=review, reason=REASON
            ),
            metadata=self.auth(),
        )
        return response.trader_application

    async def withdraw(self, app: Application, role: Role = Role.COMPLIANCE) -> Application:
        response = await self.stub.WithdrawTraderApplication(
            service_pb2.WithdrawTraderApplicationRequest(
                name=app.name, request_id=rid(), etag=app.etag, reason="We are moving abroad."
            ),
            metadata=self.auth(role),
        )
        return response.trader_application

    async def revoke(self, app: Application, role: Role = Role.COMPLIANCE) -> Application:
        response = await self.stub.RevokeTraderApplication(
            service_pb2.RevokeTraderApplicationRequest(
                name=app.name, request_id=rid(), etag=app.etag, reason=REASON
            ),
            metadata=self.auth(role),
        )
        return response.trader_application

    async def reevaluate(
        self,
        app: Application,
        outcome: int,
        review: app_pb2.ApplicationReview | None = None,
        reason: str = "",
    ) -> Application:
        response = await self.stub.ReevaluateTraderApplication(
            service_pb2.ReevaluateTraderApplicationRequest(
                name=app.name,
                request_id=rid(),
                etag=app.etag,
                review=review or satisfactory_review(),
                outcome=outcome,
                reason=reason,
            ),
            metadata=self.auth(),
        )
        return response.trader_application

    async def get(self, app: Application, role: Role = Role.COMPLIANCE) -> Application:
        response = await self.stub.GetTraderApplication(
            service_pb2.GetTraderApplicationRequest(name=app.name), metadata=self.auth(role)
        )
        return response.trader_application

    async def active(self, trader_id: str = "T1") -> Application:
        """An application of ``trader_id`` with its agreement in force."""
        app = await self.apply(trader_id)
        return await self.sign(await self.approve(await self.start_review(app)))


@pytest.fixture
async def program(client: Client) -> Program:
    await client.create_trader("T1", "Acme Imports NV")
    return Program(client)


def failed(raised: pytest.ExceptionInfo[grpc.aio.AioRpcError]) -> tuple[grpc.StatusCode, str]:
    return raised.value.code(), errors(raised.value)["ErrorInfo"].reason


def bad_fields(raised: pytest.ExceptionInfo[grpc.aio.AioRpcError]) -> list[str]:
    assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    return [v.field for v in errors(raised.value)["BadRequest"].field_violations]


# --- step 1: to APPROVED, seen by scoring -------------------------------------------------------


async def test_a_signed_agreement_makes_the_trader_approved_with_the_granted_benefits(
    program: Program,
) -> None:
    submitted = await program.apply("T1", benefits=(REDUCED, DIRECT, DEFERRED))
    assert submitted.state == State.TRADER_APPLICATION_STATE_SUBMITTED
    assert submitted.name.startswith("traderApplications/")

    reviewing = await program.start_review(submitted)
    assert reviewing.state == State.TRADER_APPLICATION_STATE_UNDER_REVIEW
    approved = await program.approve(reviewing)
    assert approved.state == State.TRADER_APPLICATION_STATE_AGREEMENT_PENDING
    assert approved.review.reviewer == "carla"
    assert approved.review.compliance_rate.stratum == "traders/T1"
    signed = await program.sign(approved, benefits=(REDUCED, DIRECT), effective_date="2024-02-29")

    assert signed.state == State.TRADER_APPLICATION_STATE_ACTIVE
    assert signed.agreement.signed_by == "carla"
    assert set(signed.agreement.benefits) == {REDUCED, DIRECT}
    assert signed.next_reevaluation_date == "2025-02-28"
    trader = await program.client.get_trader("T1")
    assert trader.approved_trader_status == trader_pb2.APPROVED_TRADER_STATUS_APPROVED
    assert set(trader.approved_benefits) == {REDUCED, DIRECT}
    assert trader.approved_trader_application == signed.name
    assert trader.next_reevaluation_date == "2025-02-28"
    assert await program.get(signed) == signed


async def test_a_watching_scoring_service_receives_the_approved_profile(client: Client) -> None:
    await client.create_trader("IMP9", "Careful Importer BV")
    stream = client.stub.WatchTraderProfiles(
        service_pb2.WatchTraderProfilesRequest(since_revision=0),
        metadata=client.auth(Role.SERVICE, "scoring"),
    )
    try:
        start, profile, end = [await asyncio.wait_for(stream.read(), 10) for _ in range(3)]
        assert start.HasField("snapshot_start")
        assert end.HasField("snapshot_end")
        assert profile.profile.approved_trader_status == (
            trader_pb2.APPROVED_TRADER_STATUS_NOT_APPROVED
        )

        await approve_trader(client.stub, client.keys, "IMP9")
        change = await asyncio.wait_for(stream.read(), 10)
    finally:
        stream.cancel()

    assert change.revision > end.revision
    assert change.profile.trader == "traders/IMP9"
    assert change.profile.approved_trader_status == trader_pb2.APPROVED_TRADER_STATUS_APPROVED
    assert set(change.profile.approved_benefits) == {REDUCED, DIRECT}
    trader = await client.get_trader("IMP9")
    assert trader.profile_revision == change.revision


async def test_approve_trader_registers_a_trader_compliance_has_not_seen(client: Client) -> None:
    await approve_trader(client.stub, client.keys, "NEW1")

    trader = await client.get_trader("NEW1")
    assert trader.approved_trader_status == trader_pb2.APPROVED_TRADER_STATUS_APPROVED


async def test_the_review_records_the_traders_measured_compliance_as_an_importer(
    program: Program,
) -> None:
    client = program.client
    await client.ingest(
        assessment_event("A1", importer=party("T1"), channel="CHANNEL_RED", random_selection=True)
    )
    await client.stub.IngestExaminationOutcomeEvent(
        examination_event("R1", "DEC-A1", importer="T1"),
        metadata=client.auth(Role.SERVICE, "exam-reports"),
    )

    approved = await program.approve(await program.start_review(await program.apply()))

    rate = approved.review.compliance_rate
    assert (rate.sample_size, rate.compliant) == (1, 1)
    assert rate.assessment == measurement_pb2.TOLERANCE_ASSESSMENT_INSUFFICIENT_SAMPLE


# --- step 2: rejection, withdrawal, revocation, re-evaluation -----------------------------------


async def test_an_unsatisfactory_check_blocks_approval_and_changes_nothing(
    program: Program,
) -> None:
    reviewing = await program.start_review(await program.apply())
    review = satisfactory_review()
    review.security = UNSATISFACTORY

    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await program.approve(reviewing, review)

    assert failed(raised) == (grpc.StatusCode.FAILED_PRECONDITION, "REVIEW_NOT_SATISFACTORY")
    assert await program.get(reviewing) == reviewing


async def test_a_rejected_application_keeps_its_review_and_lets_the_trader_apply_again(
    program: Program,
) -> None:
    reviewing = await program.start_review(await program.apply())
    review = satisfactory_review("Books do not match the declarations.")
    review.record_keeping = UNSATISFACTORY

    rejected = await program.reject(reviewing, review)

    assert rejected.state == State.TRADER_APPLICATION_STATE_REJECTED
    assert rejected.decision_reason == REASON
    assert rejected.review.record_keeping == UNSATISFACTORY
    assert rejected.review.reviewer == "carla"
    trader = await program.client.get_trader("T1")
    assert trader.approved_trader_status == trader_pb2.APPROVED_TRADER_STATUS_NOT_APPROVED
    again = await program.apply(received="2025-05-01T09:00:00")
    assert again.state == State.TRADER_APPLICATION_STATE_SUBMITTED


async def test_an_application_can_be_rejected_before_any_review(program: Program) -> None:
    rejected = await program.reject(await program.apply())

    assert rejected.state == State.TRADER_APPLICATION_STATE_REJECTED
    assert not rejected.HasField("review")


async def test_an_application_can_be_withdrawn_until_its_agreement_is_signed(
    program: Program,
) -> None:
    pending = await program.approve(await program.start_review(await program.apply()))

    withdrawn = await program.withdraw(pending)

    assert withdrawn.state == State.TRADER_APPLICATION_STATE_WITHDRAWN
    assert withdrawn.decision_reason == "We are moving abroad."
    active = await program.active()
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await program.withdraw(active)
    assert failed(raised) == (grpc.StatusCode.FAILED_PRECONDITION, "INVALID_APPLICATION_STATE")


async def test_a_revocation_reaches_scoring_and_takes_the_benefits_away(
    program: Program,
) -> None:
    client = program.client
    active = await program.active()
    approved = await client.get_trader("T1")
    stream = client.stub.WatchTraderProfiles(
        service_pb2.WatchTraderProfilesRequest(since_revision=approved.profile_revision),
        metadata=client.auth(Role.SERVICE, "scoring"),
    )
    try:
        revoked = await program.revoke(active, role=Role.RMC)
        change = await asyncio.wait_for(stream.read(), 10)
    finally:
        stream.cancel()

    assert revoked.state == State.TRADER_APPLICATION_STATE_REVOKED
    assert (revoked.decided_by, revoked.decision_reason) == ("rita", REASON)
    assert revoked.next_reevaluation_date == ""
    assert change.profile.approved_trader_status == trader_pb2.APPROVED_TRADER_STATUS_REVOKED
    assert list(change.profile.approved_benefits) == []
    trader = await client.get_trader("T1")
    assert trader.approved_trader_status == trader_pb2.APPROVED_TRADER_STATUS_REVOKED
    assert trader.approved_trader_application == revoked.name
    assert trader.next_reevaluation_date == ""


async def test_a_revoked_trader_can_be_approved_again_under_a_new_agreement(
    program: Program,
) -> None:
    await program.revoke(await program.active())

    renewed = await program.active()

    trader = await program.client.get_trader("T1")
    assert trader.approved_trader_status == trader_pb2.APPROVED_TRADER_STATUS_APPROVED
    assert trader.approved_trader_application == renewed.name


async def test_a_continued_reevaluation_moves_the_due_date_a_year_after_it(
    program: Program,
) -> None:
    active = await program.active()

    continued = await program.reevaluate(active, app_pb2.REEVALUATION_OUTCOME_CONTINUED)

    assert continued.state == State.TRADER_APPLICATION_STATE_ACTIVE
    assert continued.next_reevaluation_date == one_year_after(datetime.now(UTC).date()).isoformat()
    assert continued.next_reevaluation_date != active.next_reevaluation_date
    assert [r.next_reevaluation_date for r in continued.reevaluations] == [
        continued.next_reevaluation_date
    ]
    assert continued.reevaluations[0].review.reviewer == "carla"
    trader = await program.client.get_trader("T1")
    assert trader.next_reevaluation_date == continued.next_reevaluation_date
    assert trader.approved_trader_status == trader_pb2.APPROVED_TRADER_STATUS_APPROVED


async def test_a_reevaluation_cannot_continue_on_an_unsatisfactory_review(
    program: Program,
) -> None:
    active = await program.active()
    review = satisfactory_review()
    review.employee_background_checks = UNSATISFACTORY

    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await program.reevaluate(active, app_pb2.REEVALUATION_OUTCOME_CONTINUED, review)

    assert failed(raised) == (grpc.StatusCode.FAILED_PRECONDITION, "REVIEW_NOT_SATISFACTORY")


async def test_a_revoking_reevaluation_makes_the_trader_revoked(program: Program) -> None:
    active = await program.active()
    review = satisfactory_review()
    review.security = UNSATISFACTORY

    revoked = await program.reevaluate(
        active, app_pb2.REEVALUATION_OUTCOME_REVOKED, review, reason=REASON
    )

    assert revoked.state == State.TRADER_APPLICATION_STATE_REVOKED
    assert revoked.reevaluations[0].outcome == app_pb2.REEVALUATION_OUTCOME_REVOKED
    assert revoked.reevaluations[0].next_reevaluation_date == ""
    trader = await program.client.get_trader("T1")
    assert trader.approved_trader_status == trader_pb2.APPROVED_TRADER_STATUS_REVOKED


async def test_a_revoking_reevaluation_needs_a_reason(program: Program) -> None:
    active = await program.active()

    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await program.reevaluate(active, app_pb2.REEVALUATION_OUTCOME_REVOKED)

    assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "reason is required" in (raised.value.details() or "")


async def test_a_trader_has_only_one_open_application(program: Program) -> None:
    first = await program.apply()

    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await program.apply(received="2025-03-02T09:00:00")

    assert failed(raised) == (grpc.StatusCode.FAILED_PRECONDITION, "APPLICATION_ALREADY_OPEN")
    assert errors(raised.value)["ErrorInfo"].metadata["trader_application"] == first.name


async def test_an_agreement_cannot_grant_a_benefit_that_was_not_requested(
    program: Program,
) -> None:
    pending = await program.approve(await program.start_review(await program.apply()))

    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await program.sign(pending, benefits=(REDUCED, DEFERRED))

    assert failed(raised) == (grpc.StatusCode.FAILED_PRECONDITION, "BENEFIT_NOT_REQUESTED")
    trader = await program.client.get_trader("T1")
    assert trader.approved_trader_status == trader_pb2.APPROVED_TRADER_STATUS_NOT_APPROVED


@pytest.mark.parametrize(
    "refused",
    [
        "start_review_twice",
        "approve_submitted",
        "sign_under_review",
        "revoke_pending",
        "reevaluate_submitted",
        "reject_active",
        "withdraw_rejected",
    ],
)
async def test_a_transition_from_the_wrong_state_is_a_failed_precondition(
    program: Program, refused: str
) -> None:
    submitted = await program.apply()
    attempts = {
        "start_review_twice": lambda: program.start_review(submitted),
        "approve_submitted": lambda: program.approve(submitted),
        "reevaluate_submitted": lambda: program.reevaluate(
            submitted, app_pb2.REEVALUATION_OUTCOME_CONTINUED
        ),
    }
    if refused == "start_review_twice":
        submitted = await program.start_review(submitted)
    elif refused == "sign_under_review":
        reviewing = await program.start_review(submitted)
        attempts[refused] = lambda: program.sign(reviewing)
    elif refused == "revoke_pending":
        pending = await program.approve(await program.start_review(submitted))
        attempts[refused] = lambda: program.revoke(pending)
    elif refused == "reject_active":
        active = await program.sign(await program.approve(await program.start_review(submitted)))
        attempts[refused] = lambda: program.reject(active)
    elif refused == "withdraw_rejected":
        rejected = await program.reject(submitted)
        attempts[refused] = lambda: program.withdraw(rejected)

    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await attempts[refused]()

    assert failed(raised) == (grpc.StatusCode.FAILED_PRECONDITION, "INVALID_APPLICATION_STATE")


async def test_a_change_with_a_stale_etag_is_aborted(program: Program) -> None:
    submitted = await program.apply()
    await program.start_review(submitted)

    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await program.withdraw(submitted)

    assert failed(raised) == (grpc.StatusCode.ABORTED, "ETAG_MISMATCH")


async def test_a_resent_create_returns_the_first_application(program: Program) -> None:
    request_id = rid()
    first = await program.apply(request_id=request_id)

    again = await program.apply(request_id=request_id)

    assert again == first
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await program.apply(request_id=request_id, received="2025-03-02T09:00:00")
    assert failed(raised) == (grpc.StatusCode.INVALID_ARGUMENT, "REQUEST_ID_REUSED")


async def test_a_resent_signature_returns_the_first_answer_without_signing_twice(
    program: Program,
) -> None:
    pending = await program.approve(await program.start_review(await program.apply()))
    request = service_pb2.SignTraderApplicationAgreementRequest(
        name=pending.name,
        request_id=rid(),
        etag=pending.etag,
        agreement=app_pb2.Agreement(
            reference="ATA-1", benefits=[REDUCED], effective_date="2025-04-01"
        ),
    )

    first = await program.stub.SignTraderApplicationAgreement(request, metadata=program.auth())
    again = await program.stub.SignTraderApplicationAgreement(request, metadata=program.auth())

    assert again == first
    assert (await program.get(pending)).etag == first.trader_application.etag


async def test_an_application_of_an_unknown_trader_is_not_found(program: Program) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await program.apply("NOBODY")

    assert raised.value.code() == grpc.StatusCode.NOT_FOUND
    assert errors(raised.value)["ResourceInfo"].resource_name == "traders/NOBODY"


async def test_bad_input_is_rejected_naming_the_field(program: Program) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as no_benefits:
        await program.apply(benefits=())
    with pytest.raises(grpc.aio.AioRpcError) as in_future:
        await program.apply(received="2999-01-01T00:00:00")
    pending = await program.approve(await program.start_review(await program.apply()))
    with pytest.raises(grpc.aio.AioRpcError) as no_such_day:
        await program.sign(pending, effective_date="2025-02-30")
    with pytest.raises(grpc.aio.AioRpcError) as short_reason:
        await program.stub.RevokeTraderApplication(
            service_pb2.RevokeTraderApplicationRequest(
                name=pending.name, request_id=rid(), etag=pending.etag, reason="bad"
            ),
            metadata=program.auth(),
        )

    assert bad_fields(no_benefits) == ["trader_application.requested_benefits"]
    assert bad_fields(in_future) == ["trader_application.receive_time"]
    assert bad_fields(no_such_day) == ["agreement.effective_date"]
    assert bad_fields(short_reason) == ["reason"]


async def test_only_the_roles_of_the_contract_may_act(program: Program) -> None:
    submitted = await program.apply()

    with pytest.raises(grpc.aio.AioRpcError) as auditor_applies:
        await program.stub.CreateTraderApplication(
            service_pb2.CreateTraderApplicationRequest(
                request_id=rid(), trader_application=application("T1")
            ),
            metadata=program.client.auth(Role.AUDITOR, "audrey"),
        )
    with pytest.raises(grpc.aio.AioRpcError) as rmc_starts_review:
        await program.start_review(submitted, role=Role.RMC)
    with pytest.raises(grpc.aio.AioRpcError) as analyst_reads:
        await program.get(submitted, role=Role.ANALYST)
    with pytest.raises(grpc.aio.AioRpcError) as anonymous:
        await program.stub.GetTraderApplication(
            service_pb2.GetTraderApplicationRequest(name=submitted.name)
        )

    for raised in (auditor_applies, rmc_starts_review, analyst_reads):
        assert raised.value.code() == grpc.StatusCode.PERMISSION_DENIED
    assert anonymous.value.code() == grpc.StatusCode.UNAUTHENTICATED
    reviewing = await program.start_review(submitted)
    approved_by_rmc = await program.approve(reviewing, role=Role.RMC)
    assert approved_by_rmc.review.reviewer == "rita"
    assert await program.get(approved_by_rmc, role=Role.AUDITOR) == approved_by_rmc


# --- step 3: reading --------------------------------------------------------------------------


async def list_page(program: Program, **fields: Any) -> service_pb2.ListTraderApplicationsResponse:
    return await program.stub.ListTraderApplications(  # type: ignore[no-any-return]
        service_pb2.ListTraderApplicationsRequest(**fields), metadata=program.auth(Role.AUDITOR)
    )


async def test_applications_are_listed_newest_received_first_in_pages(program: Program) -> None:
    for trader_id in ("T2", "T3", "T4"):
        await program.client.create_trader(trader_id, f"Trader {trader_id}")
    made = [
        await program.apply(trader_id, received=f"2025-03-0{day}T09:00:00")
        for day, trader_id in ((2, "T1"), (4, "T2"), (1, "T3"), (3, "T4"))
    ]

    first = await list_page(program, page_size=3)
    second = await list_page(program, page_size=3, page_token=first.next_page_token)

    listed = [a.name for a in (*first.trader_applications, *second.trader_applications)]
    assert listed == [made[1].name, made[3].name, made[0].name, made[2].name]
    assert len(first.trader_applications) == 3
    assert second.next_page_token == ""
    assert first.trader_applications[0] == await program.get(made[1])


async def test_applications_can_be_filtered_by_trader_state_and_reevaluation_due(
    program: Program,
) -> None:
    await program.client.create_trader("T2", "Trader Two")
    withdrawn = await program.withdraw(await program.apply("T1", received="2025-01-01T09:00:00"))
    active = await program.active("T1")
    submitted = await program.apply("T2")

    of_t1 = await list_page(program, trader="traders/T1")
    open_ones = await list_page(
        program,
        states=[State.TRADER_APPLICATION_STATE_SUBMITTED, State.TRADER_APPLICATION_STATE_ACTIVE],
    )
    due = await list_page(program, reevaluation_due_before="2026-04-01")
    not_yet_due = await list_page(program, reevaluation_due_before="2026-03-31")
    t2_active = await list_page(
        program, trader="traders/T2", states=[State.TRADER_APPLICATION_STATE_ACTIVE]
    )

    assert {a.name for a in of_t1.trader_applications} == {withdrawn.name, active.name}
    assert {a.name for a in open_ones.trader_applications} == {active.name, submitted.name}
    assert [a.name for a in due.trader_applications] == [active.name]
    assert list(not_yet_due.trader_applications) == []
    assert list(t2_active.trader_applications) == []


async def test_a_page_token_works_only_with_the_filters_it_was_made_for(program: Program) -> None:
    await program.client.create_trader("T2", "Trader Two")
    await program.apply("T1")
    await program.apply("T2")
    first = await list_page(program, page_size=1)

    with pytest.raises(grpc.aio.AioRpcError) as other_filters:
        await list_page(program, page_size=1, page_token=first.next_page_token, trader="traders/T1")
    with pytest.raises(grpc.aio.AioRpcError) as unspecified_state:
        await list_page(program, states=[State.TRADER_APPLICATION_STATE_UNSPECIFIED])
    with pytest.raises(grpc.aio.AioRpcError) as no_such_day:
        await list_page(program, reevaluation_due_before="2025-02-30")

    assert bad_fields(other_filters) == ["page_token"]
    assert bad_fields(unspecified_state) == ["states[0]"]
    assert bad_fields(no_such_day) == ["reevaluation_due_before"]


async def test_an_unknown_application_is_not_found(program: Program) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await program.stub.GetTraderApplication(
            service_pb2.GetTraderApplicationRequest(name="traderApplications/nope"),
            metadata=program.auth(),
        )

    assert raised.value.code() == grpc.StatusCode.NOT_FOUND
    assert errors(raised.value)["ResourceInfo"].resource_name == "traderApplications/nope"


async def test_two_applications_recorded_at_once_leave_one_open(program: Program) -> None:
    results = await asyncio.gather(
        *(program.apply(received=f"2025-03-0{day}T09:00:00") for day in range(1, 5)),
        return_exceptions=True,
    )

    created = [r for r in results if isinstance(r, Application)]
    refused = [r for r in results if isinstance(r, grpc.aio.AioRpcError)]
    assert len(created) == 1
    assert [errors(r)["ErrorInfo"].reason for r in refused] == ["APPLICATION_ALREADY_OPEN"] * 3


async def test_the_database_refuses_a_second_open_application_that_slipped_past_the_check(
    program: Program, settings: ServiceSettings
) -> None:
    first = await program.apply()
    # What the loser of a race sees: its own check found nothing, the winner committed since.
    second = submit_application(
        "second",
        ApplicationRequest("T1", frozenset({ApprovedTraderBenefit.DIRECT_DELIVERY}), "", "", NOW),
        NOW,
    )
    database = Database(settings.database_url)
    try:
        async with database.unit_of_work() as uow:
            with pytest.raises(FailedPrecondition) as raised:
                await ApplicationRepository(uow.session).add(second)
    finally:
        await database.dispose()

    assert raised.value.reason == "APPLICATION_ALREADY_OPEN"
    listed = await list_page(program, trader="traders/T1")
    assert [a.name for a in listed.trader_applications] == [first.name]
