"""The calls the users of the criteria service make, and what the tests build and read."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import grpc
from customs.common.v1 import selection_rule_pb2 as rules
from customs.common.v1 import selectivity_pb2
from customs.criteria.v1 import criteria_service_pb2 as pb
from customs.criteria.v1 import (
    criteria_service_pb2_grpc,
    criterion_pb2,
    named_list_pb2,
    risk_profile_pb2,
)
from google.protobuf import field_mask_pb2, timestamp_pb2
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from customs_kit.auth import Role
from customs_kit.testing.services import RunningService, SigningKeys

#: The people (and the scoring service) who call criteria in these tests.
ANALYST = (Role.ANALYST, "ana")
OTHER_ANALYST = (Role.ANALYST, "omar")
RMC = (Role.RMC, "rita")
SUPERVISOR = (Role.SUPERVISOR, "sam")
AUDITOR = (Role.AUDITOR, "aude")
OPERATOR = (Role.OPERATOR, "oscar")
SCORING = (Role.SERVICE, "scoring")

#: Who calls: one role or several, and the subject.
Caller = tuple[Role | tuple[Role, ...], str]


def timestamp(value: datetime) -> timestamp_pb2.Timestamp:
    stamp = timestamp_pb2.Timestamp()
    stamp.FromDatetime(value)
    return stamp


def hs_rule(*prefixes: str, percent: float = 100.0) -> rules.SelectionRule:
    """RED enforcement of items under the HS prefixes."""
    return rules.SelectionRule(
        condition=rules.Condition(
            predicate=rules.Predicate(
                hs_code_prefix=rules.HsCodePrefixPredicate(prefixes=list(prefixes))
            )
        ),
        treatment=rules.Treatment(
            channel=selectivity_pb2.CHANNEL_RED,
            examination_level=selectivity_pb2.EXAMINATION_LEVEL_ENFORCEMENT,
        ),
        selection_percent=percent,
        approved_traders=rules.APPROVED_TRADER_SCOPE_INCLUDED,
        priority=10,
        examiner_instructions="Unload the container and count the cartons.",
    )


def list_rule(
    named_list: str, element: rules.CodeElement = rules.CODE_ELEMENT_SELLER
) -> rules.SelectionRule:
    """RED enforcement of declarations whose ``element`` is in ``named_list``."""
    rule = hs_rule("42")
    rule.condition.CopyFrom(
        rules.Condition(
            all_of=rules.ConditionList(
                conditions=[
                    rules.Condition(
                        predicate=rules.Predicate(
                            hs_code_prefix=rules.HsCodePrefixPredicate(prefixes=["42"])
                        )
                    ),
                    rules.Condition(
                        predicate=rules.Predicate(
                            in_named_list=rules.NamedListPredicate(
                                element=element, named_list=named_list
                            )
                        )
                    ),
                ]
            )
        )
    )
    return rule


def criterion(
    profile: str,
    *,
    title: str = "Cigarettes under false description",
    rule: rules.SelectionRule | None = None,
    end: datetime | None = None,
) -> criterion_pb2.Criterion:
    message = criterion_pb2.Criterion(
        risk_profile=profile,
        title=title,
        description="Cigarettes declared as paper products.",
        rule=rule or hs_rule("2402"),
        campaign_tag="tobacco-2026-q1",
    )
    if end is not None:
        message.validity_end_time.CopyFrom(timestamp(end))
    return message


def profile_message(priority: int = 0) -> risk_profile_pb2.RiskProfile:
    return risk_profile_pb2.RiskProfile(
        title="Cigarettes smuggled under false description",
        risk_area=risk_profile_pb2.RISK_AREA_REVENUE,
        priority=priority,
        rationale="Seizures at the port show cigarettes declared as paper.",
        sources=[
            risk_profile_pb2.ProfileSource(
                kind=risk_profile_pb2.SOURCE_KIND_EXAMINATION_RESULTS,
                description="Twelve seizures in 2025.",
            )
        ],
        indicators=["declared as paper, weight of tobacco"],
        intended_treatment=rules.Treatment(
            channel=selectivity_pb2.CHANNEL_RED,
            examination_level=selectivity_pb2.EXAMINATION_LEVEL_ENFORCEMENT,
        ),
        owner="ana",
        next_review_date="2026-12-31",
    )


def company_list(*values: str) -> named_list_pb2.NamedList:
    return named_list_pb2.NamedList(
        title="Known IPR infringers",
        kind=named_list_pb2.NAMED_LIST_KIND_COMPANIES,
        entries=[named_list_pb2.NamedListEntry(value=value) for value in values],
    )


def error_details(error: grpc.aio.AioRpcError) -> dict[str, Any]:
    """The standard details of a rich error, by type name."""
    status = rpc_status.from_call(error)
    assert status is not None, "the error carries no google.rpc.Status"
    found: dict[str, Any] = {}
    for packed in status.details:
        for detail_type in (
            error_details_pb2.ErrorInfo,
            error_details_pb2.BadRequest,
            error_details_pb2.PreconditionFailure,
            error_details_pb2.ResourceInfo,
        ):
            if packed.Is(detail_type.DESCRIPTOR):
                detail = detail_type()
                packed.Unpack(detail)
                found[detail_type.DESCRIPTOR.name] = detail
    return found


def reason(error: grpc.aio.AioRpcError) -> str:
    info: error_details_pb2.ErrorInfo = error_details(error)["ErrorInfo"]
    return info.reason


def violated_fields(error: grpc.aio.AioRpcError) -> list[str]:
    bad_request: error_details_pb2.BadRequest = error_details(error)["BadRequest"]
    return [violation.field for violation in bad_request.field_violations]


@dataclass
class Criteria:
    """The criteria service under test, called as its users call it."""

    service: RunningService
    keys: SigningKeys

    @property
    def stub(self) -> criteria_service_pb2_grpc.CriteriaServiceStub:
        return criteria_service_pb2_grpc.CriteriaServiceStub(self.service.channel)

    def auth(self, caller: Caller) -> Sequence[tuple[str, str]]:
        roles, subject = caller
        held = roles if isinstance(roles, tuple) else (roles,)
        return self.keys.metadata(*held, subject=subject)

    async def call(self, method: str, request: Any, caller: Caller) -> Any:
        rpc: Callable[..., Any] = getattr(self.stub, method)
        return await rpc(request, metadata=self.auth(caller))

    async def create_profile(self, caller: Caller = ANALYST, **kwargs: Any) -> str:
        response = await self.call(
            "CreateRiskProfile",
            pb.CreateRiskProfileRequest(
                risk_profile=profile_message(**kwargs), request_id=str(uuid.uuid4())
            ),
            caller,
        )
        name: str = response.risk_profile.name
        return name

    async def create_list(self, list_id: str, *values: str) -> named_list_pb2.NamedList:
        response = await self.call(
            "CreateNamedList",
            pb.CreateNamedListRequest(
                named_list=company_list(*values),
                named_list_id=list_id,
                request_id=str(uuid.uuid4()),
            ),
            ANALYST,
        )
        created: named_list_pb2.NamedList = response.named_list
        return created

    async def create(
        self,
        message: criterion_pb2.Criterion,
        criterion_id: str = "",
        caller: Caller = ANALYST,
        request_id: str | None = None,
    ) -> criterion_pb2.Criterion:
        response = await self.call(
            "CreateCriterion",
            pb.CreateCriterionRequest(
                criterion=message,
                criterion_id=criterion_id,
                request_id=request_id or str(uuid.uuid4()),
            ),
            caller,
        )
        created: criterion_pb2.Criterion = response.criterion
        return created

    async def get(self, name: str) -> criterion_pb2.Criterion:
        response = await self.call("GetCriterion", pb.GetCriterionRequest(name=name), ANALYST)
        found: criterion_pb2.Criterion = response.criterion
        return found

    async def submit(
        self, current: criterion_pb2.Criterion, caller: Caller = ANALYST
    ) -> criterion_pb2.Criterion:
        response = await self.call(
            "SubmitCriterion",
            pb.SubmitCriterionRequest(
                name=current.name,
                etag=current.etag,
                comment="ready for review",
                request_id=str(uuid.uuid4()),
            ),
            caller,
        )
        submitted: criterion_pb2.Criterion = response.criterion
        return submitted

    async def approve(
        self, current: criterion_pb2.Criterion, caller: Caller = RMC
    ) -> criterion_pb2.Criterion:
        response = await self.call(
            "ApproveCriterion",
            pb.ApproveCriterionRequest(
                name=current.name,
                revision=current.revision,
                etag=current.etag,
                impact_analysis=f"{current.name}/impactAnalyses/first",
                comment="reviewed at the committee",
                request_id=str(uuid.uuid4()),
            ),
            caller,
        )
        approved: criterion_pb2.Criterion = response.criterion
        return approved

    async def activate(self, message: criterion_pb2.Criterion) -> criterion_pb2.Criterion:
        """Create, submit (as the analyst) and approve (as rmc) a criterion."""
        return await self.approve(await self.submit(await self.create(message)))

    async def suspend(self, current: criterion_pb2.Criterion) -> criterion_pb2.Criterion:
        response = await self.call(
            "SuspendCriterion",
            pb.SuspendCriterionRequest(
                name=current.name,
                etag=current.etag,
                reason="too many examinations at the port",
                request_id=str(uuid.uuid4()),
            ),
            SUPERVISOR,
        )
        suspended: criterion_pb2.Criterion = response.criterion
        return suspended

    async def update(
        self,
        current: criterion_pb2.Criterion,
        paths: Sequence[str],
        reason: str = "tightened",
        caller: Caller = ANALYST,
    ) -> criterion_pb2.Criterion:
        response = await self.call(
            "UpdateCriterion",
            pb.UpdateCriterionRequest(
                criterion=current,
                update_mask=field_mask_pb2.FieldMask(paths=list(paths)),
                reason=reason,
            ),
            caller,
        )
        updated: criterion_pb2.Criterion = response.criterion
        return updated

    async def list_criteria(self, **filters: Any) -> list[criterion_pb2.Criterion]:
        response = await self.call("ListCriteria", pb.ListCriteriaRequest(**filters), ANALYST)
        return list(response.criteria)

    async def history_size(self) -> int:
        response = await self.call("VerifyHistory", pb.VerifyHistoryRequest(), AUDITOR)
        assert response.verification.intact
        size: int = response.verification.entries_verified
        return size
