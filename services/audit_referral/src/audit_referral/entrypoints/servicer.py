"""The AuditReferralService servicer: decode, call a handler, encode.

Requests arrive authenticated, authorised (the roles below, as the contract
lists them) and validated by the chassis. Methods that carry a request_id run
under ``run_idempotent``, so a retry returns the first response.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any, TypeVar

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from customs.audit_referral.v1 import (
    audit_referral_service_pb2 as pb,
)
from customs.audit_referral.v1 import (
    audit_referral_service_pb2_grpc as pb_grpc,
)
from google.protobuf.message import Message

from audit_referral.adapters.repositories import AuditCaseFilter, FindingFilter, ReferralFilter
from audit_referral.domain.audit_cases import AuditCasePlan
from audit_referral.entrypoints import mappers
from audit_referral.entrypoints.paging import QueryTokens
from audit_referral.service_layer import handlers
from customs_kit.auth import Role, allow, current_principal
from customs_kit.db import Database
from customs_kit.idempotency import run_idempotent
from customs_kit.pagination import PageTokens, clamp_page_size
from customs_kit.uow import UnitOfWork

_SERVICE = "/customs.audit_referral.v1.AuditReferralService"
_READ_REFERRALS = (Role.AUDITOR, Role.ANALYST, Role.COMPLIANCE, Role.SUPERVISOR, Role.RMC)
_READ_CASES = (Role.AUDITOR, Role.COMPLIANCE, Role.RMC)

ResponseT = TypeVar("ResponseT", bound=Message)
Context = Any


class AuditReferralServicer(pb_grpc.AuditReferralServiceServicer):
    """Referrals, audit cases and findings over gRPC."""

    def __init__(
        self,
        database: Database,
        page_tokens: PageTokens,
        checkpoint_keys: Mapping[str, Ed25519PublicKey] | None = None,
    ) -> None:
        self._database = database
        self._page_tokens = page_tokens
        # The public key of each service whose history checkpoints are kept here.
        self._checkpoint_keys = dict(checkpoint_keys or {})

    async def _idempotent(
        self,
        method: str,
        request: Message,
        work: Callable[[UnitOfWork], Awaitable[ResponseT]],
        response_type: type[ResponseT],
    ) -> ResponseT:
        return await run_idempotent(
            self._database, f"{_SERVICE}/{method}", request, work, response_type
        )

    # --- Referrals ------------------------------------------------------------------

    @allow(*_READ_REFERRALS)
    async def GetReferral(self, request: pb.GetReferralRequest, context: Context) -> Any:
        referral = await handlers.get_referral(self._database, mappers.resource_id(request.name))
        return pb.GetReferralResponse(referral=mappers.referral_message(referral))

    @allow(*_READ_REFERRALS)
    async def ListReferrals(self, request: pb.ListReferralsRequest, context: Context) -> Any:
        filters = ReferralFilter(
            states=mappers.referral_states(request.states),
            source=mappers.referral_source(request.source),
            trader=mappers.resource_id(request.trader) if request.trader else None,
        )
        tokens = QueryTokens(
            self._page_tokens,
            "ListReferrals",
            {
                "states": sorted(state.value for state in filters.states),
                "source": filters.source.value if filters.source else None,
                "trader": filters.trader,
            },
        )
        page = await handlers.list_referrals(
            self._database,
            filters,
            tokens.referral_position(request.page_token),
            clamp_page_size(request.page_size),
        )
        return pb.ListReferralsResponse(
            referrals=[mappers.referral_message(referral) for referral in page.items],
            next_page_token=tokens.encode_referral(page.next_position),
        )

    @allow(Role.AUDITOR, Role.ANALYST, Role.COMPLIANCE, Role.SUPERVISOR, Role.SERVICE)
    async def CreateReferral(self, request: pb.CreateReferralRequest, context: Context) -> Any:
        new = mappers.new_referral(request.referral)
        actor = current_principal().subject

        async def work(uow: UnitOfWork) -> pb.CreateReferralResponse:
            referral = await handlers.create_referral(uow, new, actor=actor)
            return pb.CreateReferralResponse(referral=mappers.referral_message(referral))

        return await self._idempotent("CreateReferral", request, work, pb.CreateReferralResponse)

    @allow(Role.AUDITOR)
    async def AcceptReferral(self, request: pb.AcceptReferralRequest, context: Context) -> Any:
        target: str | AuditCasePlan
        if request.WhichOneof("target") == "audit_case":
            target = mappers.resource_id(request.audit_case)
        else:
            target = mappers.audit_case_plan(request.new_audit_case, "new_audit_case")
        actor = current_principal().subject

        async def work(uow: UnitOfWork) -> pb.AcceptReferralResponse:
            referral, case = await handlers.accept_referral(
                uow,
                mappers.resource_id(request.name),
                etag=request.etag,
                target=target,
                note=request.note,
                actor=actor,
            )
            return pb.AcceptReferralResponse(
                referral=mappers.referral_message(referral),
                audit_case=mappers.audit_case_message(case),
            )

        return await self._idempotent("AcceptReferral", request, work, pb.AcceptReferralResponse)

    @allow(Role.AUDITOR)
    async def DeclineReferral(self, request: pb.DeclineReferralRequest, context: Context) -> Any:
        actor = current_principal().subject

        async def work(uow: UnitOfWork) -> pb.DeclineReferralResponse:
            referral = await handlers.decline_referral(
                uow,
                mappers.resource_id(request.name),
                etag=request.etag,
                reason=request.reason,
                actor=actor,
            )
            return pb.DeclineReferralResponse(referral=mappers.referral_message(referral))

        return await self._idempotent("DeclineReferral", request, work, pb.DeclineReferralResponse)

    # --- Events from other services -------------------------------------------------

    @allow(Role.SERVICE)
    async def IngestBlueDecisionEvent(
        self, request: pb.IngestBlueDecisionEventRequest, context: Context
    ) -> Any:
        outcome = await handlers.ingest_blue_decision(
            self._database,
            event_id=request.event_id,
            source_service=request.source_service,
            decision=mappers.blue_decision(request.blue_decision),
        )
        return pb.IngestBlueDecisionEventResponse(
            duplicate=outcome.duplicate, referral=outcome.referral.resource_name
        )

    @allow(Role.SERVICE)
    async def IngestExaminationFindingEvent(
        self, request: pb.IngestExaminationFindingEventRequest, context: Context
    ) -> Any:
        outcome = await handlers.ingest_examination_finding(
            self._database,
            event_id=request.event_id,
            source_service=request.source_service,
            finding=mappers.examination_finding(request.examination_finding),
        )
        return pb.IngestExaminationFindingEventResponse(
            duplicate=outcome.duplicate, referral=outcome.referral.resource_name
        )

    # --- Audit cases ----------------------------------------------------------------

    @allow(*_READ_CASES)
    async def GetAuditCase(self, request: pb.GetAuditCaseRequest, context: Context) -> Any:
        case = await handlers.get_audit_case(self._database, mappers.resource_id(request.name))
        return pb.GetAuditCaseResponse(audit_case=mappers.audit_case_message(case))

    @allow(*_READ_CASES)
    async def ListAuditCases(self, request: pb.ListAuditCasesRequest, context: Context) -> Any:
        filters = AuditCaseFilter(
            states=mappers.case_states(request.states),
            trader=mappers.resource_id(request.trader) if request.trader else None,
            lead_auditor=request.lead_auditor or None,
            selection_basis=mappers.selection_basis(request.selection_basis),
            campaign=request.campaign or None,
        )
        tokens = QueryTokens(
            self._page_tokens,
            "ListAuditCases",
            {
                "states": sorted(state.value for state in filters.states),
                "trader": filters.trader,
                "lead_auditor": filters.lead_auditor,
                "selection_basis": (
                    filters.selection_basis.value if filters.selection_basis else None
                ),
                "campaign": filters.campaign,
            },
        )
        page = await handlers.list_audit_cases(
            self._database,
            filters,
            tokens.time_position(request.page_token),
            clamp_page_size(request.page_size),
        )
        return pb.ListAuditCasesResponse(
            audit_cases=[mappers.audit_case_message(case) for case in page.items],
            next_page_token=tokens.encode_time(page.next_position),
        )

    @allow(Role.AUDITOR)
    async def CreateAuditCase(self, request: pb.CreateAuditCaseRequest, context: Context) -> Any:
        plan = mappers.audit_case_plan(request.audit_case, "audit_case")
        referral_ids = [mappers.resource_id(name) for name in request.referrals]
        actor = current_principal().subject

        async def work(uow: UnitOfWork) -> pb.CreateAuditCaseResponse:
            case = await handlers.create_audit_case(uow, plan, referral_ids, actor=actor)
            return pb.CreateAuditCaseResponse(audit_case=mappers.audit_case_message(case))

        return await self._idempotent("CreateAuditCase", request, work, pb.CreateAuditCaseResponse)

    @allow(Role.AUDITOR)
    async def UpdateAuditCase(self, request: pb.UpdateAuditCaseRequest, context: Context) -> Any:
        case = await handlers.update_audit_case(
            self._database,
            mappers.audit_case_id(request.audit_case.name, "audit_case.name"),
            etag=request.audit_case.etag,
            changes=mappers.audit_case_plan(request.audit_case, "audit_case"),
            fields=frozenset(request.update_mask.paths),
        )
        return pb.UpdateAuditCaseResponse(audit_case=mappers.audit_case_message(case))

    @allow(Role.AUDITOR)
    async def StartPreAuditSurvey(
        self, request: pb.StartPreAuditSurveyRequest, context: Context
    ) -> Any:
        questions = [mappers.pre_audit_question(q) for q in request.questions]
        due = mappers.calendar_date(request.response_due_date, "response_due_date")
        actor = current_principal().subject

        async def work(uow: UnitOfWork) -> pb.StartPreAuditSurveyResponse:
            case = await handlers.start_pre_audit_survey(
                uow,
                mappers.resource_id(request.name),
                etag=request.etag,
                questions=questions,
                response_due_date=due,
                note=request.note,
                actor=actor,
            )
            return pb.StartPreAuditSurveyResponse(audit_case=mappers.audit_case_message(case))

        return await self._idempotent(
            "StartPreAuditSurvey", request, work, pb.StartPreAuditSurveyResponse
        )

    @allow(Role.AUDITOR)
    async def RecordPreAuditAnswers(
        self, request: pb.RecordPreAuditAnswersRequest, context: Context
    ) -> Any:
        answers = [mappers.pre_audit_answer(a) for a in request.answers]

        async def work(uow: UnitOfWork) -> pb.RecordPreAuditAnswersResponse:
            case = await handlers.record_pre_audit_answers(
                uow, mappers.resource_id(request.name), etag=request.etag, answers=answers
            )
            return pb.RecordPreAuditAnswersResponse(audit_case=mappers.audit_case_message(case))

        return await self._idempotent(
            "RecordPreAuditAnswers", request, work, pb.RecordPreAuditAnswersResponse
        )

    @allow(Role.AUDITOR)
    async def RecordOpeningConference(
        self, request: pb.RecordOpeningConferenceRequest, context: Context
    ) -> Any:
        record = mappers.conference_record(request.opening_conference)
        actor = current_principal().subject

        async def work(uow: UnitOfWork) -> pb.RecordOpeningConferenceResponse:
            case = await handlers.record_opening_conference(
                uow,
                mappers.resource_id(request.name),
                etag=request.etag,
                record=record,
                actor=actor,
            )
            return pb.RecordOpeningConferenceResponse(audit_case=mappers.audit_case_message(case))

        return await self._idempotent(
            "RecordOpeningConference", request, work, pb.RecordOpeningConferenceResponse
        )

    @allow(Role.AUDITOR)
    async def StartAuditFieldwork(
        self, request: pb.StartAuditFieldworkRequest, context: Context
    ) -> Any:
        actor = current_principal().subject

        async def work(uow: UnitOfWork) -> pb.StartAuditFieldworkResponse:
            case = await handlers.start_fieldwork(
                uow,
                mappers.resource_id(request.name),
                etag=request.etag,
                premises_tour_notes=request.premises_tour_notes,
                actor=actor,
            )
            return pb.StartAuditFieldworkResponse(audit_case=mappers.audit_case_message(case))

        return await self._idempotent(
            "StartAuditFieldwork", request, work, pb.StartAuditFieldworkResponse
        )

    @allow(Role.AUDITOR)
    async def RecordExitConference(
        self, request: pb.RecordExitConferenceRequest, context: Context
    ) -> Any:
        record = mappers.conference_record(request.exit_conference)
        actor = current_principal().subject

        async def work(uow: UnitOfWork) -> pb.RecordExitConferenceResponse:
            case = await handlers.record_exit_conference(
                uow,
                mappers.resource_id(request.name),
                etag=request.etag,
                record=record,
                actor=actor,
            )
            return pb.RecordExitConferenceResponse(audit_case=mappers.audit_case_message(case))

        return await self._idempotent(
            "RecordExitConference", request, work, pb.RecordExitConferenceResponse
        )

    @allow(Role.AUDITOR)
    async def IssueAuditReport(self, request: pb.IssueAuditReportRequest, context: Context) -> Any:
        draft = mappers.report_draft(request.report)
        actor = current_principal().subject

        async def work(uow: UnitOfWork) -> pb.IssueAuditReportResponse:
            case = await handlers.issue_audit_report(
                uow, mappers.resource_id(request.name), etag=request.etag, draft=draft, actor=actor
            )
            return pb.IssueAuditReportResponse(audit_case=mappers.audit_case_message(case))

        return await self._idempotent(
            "IssueAuditReport", request, work, pb.IssueAuditReportResponse
        )

    @allow(Role.AUDITOR)
    async def StartCorrectiveAction(
        self, request: pb.StartCorrectiveActionRequest, context: Context
    ) -> Any:
        actor = current_principal().subject

        async def work(uow: UnitOfWork) -> pb.StartCorrectiveActionResponse:
            case = await handlers.start_corrective_action(
                uow,
                mappers.resource_id(request.name),
                etag=request.etag,
                plan=request.corrective_action_plan,
                actor=actor,
            )
            return pb.StartCorrectiveActionResponse(audit_case=mappers.audit_case_message(case))

        return await self._idempotent(
            "StartCorrectiveAction", request, work, pb.StartCorrectiveActionResponse
        )

    @allow(Role.AUDITOR)
    async def CloseAuditCase(self, request: pb.CloseAuditCaseRequest, context: Context) -> Any:
        collected = mappers.money(request.duties_collected)
        actor = current_principal().subject

        async def work(uow: UnitOfWork) -> pb.CloseAuditCaseResponse:
            case = await handlers.close_audit_case(
                uow,
                mappers.resource_id(request.name),
                etag=request.etag,
                duties_collected=collected,
                closing_note=request.closing_note,
                actor=actor,
            )
            return pb.CloseAuditCaseResponse(audit_case=mappers.audit_case_message(case))

        return await self._idempotent("CloseAuditCase", request, work, pb.CloseAuditCaseResponse)

    @allow(Role.AUDITOR, Role.SUPERVISOR)
    async def CancelAuditCase(self, request: pb.CancelAuditCaseRequest, context: Context) -> Any:
        actor = current_principal().subject

        async def work(uow: UnitOfWork) -> pb.CancelAuditCaseResponse:
            case = await handlers.cancel_audit_case(
                uow,
                mappers.resource_id(request.name),
                etag=request.etag,
                reason=request.reason,
                actor=actor,
            )
            return pb.CancelAuditCaseResponse(audit_case=mappers.audit_case_message(case))

        return await self._idempotent("CancelAuditCase", request, work, pb.CancelAuditCaseResponse)

    # --- Findings -------------------------------------------------------------------

    @allow(*_READ_CASES)
    async def GetAuditFinding(self, request: pb.GetAuditFindingRequest, context: Context) -> Any:
        case_id, finding_id = mappers.finding_ids(request.name, "name")
        finding = await handlers.get_audit_finding(self._database, case_id, finding_id)
        return pb.GetAuditFindingResponse(audit_finding=mappers.audit_finding_message(finding))

    @allow(*_READ_CASES)
    async def ListAuditFindings(
        self, request: pb.ListAuditFindingsRequest, context: Context
    ) -> Any:
        case_id = mappers.resource_id(request.parent)
        filters = FindingFilter(
            audit_case_id=None if case_id == "-" else case_id,
            action=mappers.finding_action(request.action),
            discrepancy_type=mappers.discrepancy_type(request.discrepancy_type),
        )
        tokens = QueryTokens(
            self._page_tokens,
            "ListAuditFindings",
            {
                "parent": request.parent,
                "action": filters.action.value if filters.action else None,
                "discrepancy_type": (
                    filters.discrepancy_type.value if filters.discrepancy_type else None
                ),
            },
        )
        page = await handlers.list_audit_findings(
            self._database,
            filters,
            tokens.time_position(request.page_token),
            clamp_page_size(request.page_size),
        )
        return pb.ListAuditFindingsResponse(
            audit_findings=[mappers.audit_finding_message(finding) for finding in page.items],
            next_page_token=tokens.encode_time(page.next_position),
        )

    @allow(Role.AUDITOR)
    async def CreateAuditFinding(
        self, request: pb.CreateAuditFindingRequest, context: Context
    ) -> Any:
        content = mappers.finding_content(request.audit_finding)
        actor = current_principal().subject

        async def work(uow: UnitOfWork) -> pb.CreateAuditFindingResponse:
            finding = await handlers.create_audit_finding(
                uow, mappers.resource_id(request.parent), content, actor=actor
            )
            return pb.CreateAuditFindingResponse(
                audit_finding=mappers.audit_finding_message(finding)
            )

        return await self._idempotent(
            "CreateAuditFinding", request, work, pb.CreateAuditFindingResponse
        )

    @allow(Role.AUDITOR)
    async def UpdateAuditFinding(
        self, request: pb.UpdateAuditFindingRequest, context: Context
    ) -> Any:
        case_id, finding_id = mappers.finding_ids(request.audit_finding.name, "audit_finding.name")
        finding = await handlers.update_audit_finding(
            self._database,
            case_id,
            finding_id,
            etag=request.audit_finding.etag,
            changes=mappers.finding_content(request.audit_finding),
            fields=frozenset(request.update_mask.paths),
        )
        return pb.UpdateAuditFindingResponse(audit_finding=mappers.audit_finding_message(finding))

    @allow(Role.AUDITOR)
    async def DeleteAuditFinding(
        self, request: pb.DeleteAuditFindingRequest, context: Context
    ) -> Any:
        case_id, finding_id = mappers.finding_ids(request.name, "name")
        await handlers.delete_audit_finding(self._database, case_id, finding_id, etag=request.etag)
        return pb.DeleteAuditFindingResponse()

    # --- History checkpoints ----------------------------------------------------------

    @allow(Role.SERVICE)
    async def RecordHistoryCheckpoint(
        self, request: pb.RecordHistoryCheckpointRequest, context: Context
    ) -> Any:
        kept = await handlers.record_history_checkpoint(
            self._database, self._checkpoint_keys, mappers.checkpoint(request.history_checkpoint)
        )
        return pb.RecordHistoryCheckpointResponse(
            history_checkpoint=mappers.checkpoint_message(kept.checkpoint, kept.record_time),
            duplicate=kept.duplicate,
        )

    @allow(Role.SERVICE, Role.AUDITOR, Role.RMC, Role.OPERATOR)
    async def GetLatestHistoryCheckpoint(
        self, request: pb.GetLatestHistoryCheckpointRequest, context: Context
    ) -> Any:
        kept = await handlers.latest_history_checkpoint(self._database, request.source)
        return pb.GetLatestHistoryCheckpointResponse(
            history_checkpoint=mappers.checkpoint_message(kept.checkpoint, kept.record_time)
        )
