"""Informed-compliance interventions through the real server, opened by a specialist or criteria."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import grpc
import pytest
from compliance_support import Client, errors, stamp
from customs.compliance.v1 import compliance_intervention_pb2 as intervention_pb2
from customs.compliance.v1 import compliance_service_pb2 as service_pb2
from customs.compliance.v1 import measurement_pb2, trader_pb2
from google.protobuf.timestamp_pb2 import Timestamp

from customs_kit.auth import Role

Intervention = intervention_pb2.ComplianceIntervention
State = intervention_pb2.ComplianceInterventionState
PLANNED = intervention_pb2.COMPLIANCE_INTERVENTION_STATE_PLANNED
FOLLOW_UP = intervention_pb2.COMPLIANCE_INTERVENTION_STATE_FOLLOW_UP
CLOSED = intervention_pb2.COMPLIANCE_INTERVENTION_STATE_CLOSED
CANCELLED = intervention_pb2.COMPLIANCE_INTERVENTION_STATE_CANCELLED
RESOLVED = intervention_pb2.INTERVENTION_OUTCOME_RESOLVED
NOTE = "No classification error in the twelve declarations since the meeting."
REASON = "The company ceased importing shirts in April."


def rid() -> str:
    return str(uuid.uuid4())


def intervention(trader: str = "traders/T1", **fields: Any) -> Intervention:
    values: dict[str, Any] = {
        "trader": trader,
        "trader_role": trader_pb2.TRADER_ROLE_IMPORTER,
        "trigger": intervention_pb2.INTERVENTION_TRIGGER_MANUAL,
        "areas": [measurement_pb2.COMPLIANCE_AREA_DOCUMENTARY],
        "error_pattern": "Knitted shirts declared as woven in most March declarations.",
        "evidence": ["examReports/R1", "examReports/R2"],
        **fields,
    }
    return Intervention(**values)


def meeting(held: datetime | None = None) -> intervention_pb2.InterventionMeeting:
    when = Timestamp()
    when.FromDatetime(held or datetime.now(UTC) - timedelta(hours=1))
    return intervention_pb2.InterventionMeeting(
        meeting_time=when,
        attendees=["Carla (customs)", "J. Peeters (Acme, customs manager)"],
        summary="Went through the notes to chapters 61 and 62 with the import desk.",
        corrective_plan="A classification checklist for every shirt shipment.",
        follow_up_date="2099-01-31",
    )


class Interventions:
    """The intervention RPCs as a compliance specialist (or another role) calls them."""

    def __init__(self, client: Client) -> None:
        self.client = client
        self.stub = client.stub

    def auth(self, role: Role = Role.COMPLIANCE) -> Any:
        return self.client.auth(role, subject="carla" if role is Role.COMPLIANCE else "other")

    async def open(
        self, wanted: Intervention | None = None, role: Role = Role.COMPLIANCE
    ) -> Intervention:
        response = await self.stub.CreateComplianceIntervention(
            service_pb2.CreateComplianceInterventionRequest(
                request_id=rid(), compliance_intervention=wanted or intervention()
            ),
            metadata=self.auth(role),
        )
        return response.compliance_intervention

    async def meet(
        self, found: Intervention, record: intervention_pb2.InterventionMeeting | None = None
    ) -> Intervention:
        response = await self.stub.RecordComplianceInterventionMeeting(
            service_pb2.RecordComplianceInterventionMeetingRequest(
                name=found.name, request_id=rid(), etag=found.etag, meeting=record or meeting()
            ),
            metadata=self.auth(),
        )
        return response.compliance_intervention

    async def close(self, found: Intervention, note: str = NOTE) -> Intervention:
        response = await self.stub.CloseComplianceIntervention(
            service_pb2.CloseComplianceInterventionRequest(
                name=found.name,
                request_id=rid(),
                etag=found.etag,
                outcome=RESOLVED,
                closing_note=note,
            ),
            metadata=self.auth(),
        )
        return response.compliance_intervention

    async def cancel(self, found: Intervention, role: Role = Role.COMPLIANCE) -> Intervention:
        response = await self.stub.CancelComplianceIntervention(
            service_pb2.CancelComplianceInterventionRequest(
                name=found.name, request_id=rid(), etag=found.etag, reason=REASON
            ),
            metadata=self.auth(role),
        )
        return response.compliance_intervention

    async def get(self, name: str) -> Intervention:
        response = await self.stub.GetComplianceIntervention(
            service_pb2.GetComplianceInterventionRequest(name=name), metadata=self.auth(Role.RMC)
        )
        return response.compliance_intervention


@pytest.fixture
async def program(client: Client) -> Interventions:
    await client.create_trader("T1")
    return Interventions(client)


async def test_an_intervention_is_planned_met_followed_up_and_closed(
    program: Interventions,
) -> None:
    opened = await program.open(intervention(planned_meeting_time=stamp("2025-05-06T10:00:00")))
    met = await program.meet(opened)
    closed = await program.close(met)

    assert (opened.state, opened.owner) == (PLANNED, "carla")
    assert opened.planned_meeting_time == stamp("2025-05-06T10:00:00")
    assert list(opened.evidence) == ["examReports/R1", "examReports/R2"]
    assert met.state == FOLLOW_UP
    assert met.meeting.corrective_plan == "A classification checklist for every shirt shipment."
    assert list(met.meeting.attendees)[1] == "J. Peeters (Acme, customs manager)"
    assert met.meeting.follow_up_date == "2099-01-31"
    assert (closed.state, closed.outcome, closed.closing_note) == (CLOSED, RESOLVED, NOTE)
    assert len({opened.etag, met.etag, closed.etag}) == 3
    assert await program.get(opened.name) == closed


async def test_a_planned_intervention_can_be_cancelled_with_its_reason(
    program: Interventions,
) -> None:
    cancelled = await program.cancel(await program.open())

    assert (cancelled.state, cancelled.closing_note) == (CANCELLED, REASON)
    assert not cancelled.HasField("meeting")


async def refused(call: Any) -> grpc.aio.AioRpcError:
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await call
    return raised.value


async def test_every_transition_from_the_wrong_state_is_refused(program: Interventions) -> None:
    planned = await program.open()
    followed = await program.meet(await program.open())
    closed = await program.close(await program.meet(await program.open()))
    cancelled = await program.cancel(await program.open())

    attempts = [
        ("close PLANNED", program.close(planned)),
        ("cancel FOLLOW_UP", program.cancel(followed)),
        ("meet FOLLOW_UP", program.meet(followed)),
        ("meet CLOSED", program.meet(closed)),
        ("cancel CLOSED", program.cancel(closed)),
        ("close CANCELLED", program.close(cancelled)),
        ("meet CANCELLED", program.meet(cancelled)),
    ]
    for what, attempt in attempts:
        error = await refused(attempt)
        assert error.code() == grpc.StatusCode.FAILED_PRECONDITION, what
        details = errors(error)
        assert details["ErrorInfo"].reason == "INVALID_INTERVENTION_STATE", what
        assert details["PreconditionFailure"].violations[0].type == "INTERVENTION_STATE", what
    assert (await program.get(planned.name)).state == PLANNED


async def test_a_change_on_a_stale_etag_is_aborted(program: Interventions) -> None:
    opened = await program.open()
    await program.meet(opened)

    error = await refused(program.close(opened))

    assert error.code() == grpc.StatusCode.ABORTED
    assert errors(error)["ErrorInfo"].reason == "ETAG_MISMATCH"


async def test_an_unknown_trader_or_intervention_is_not_found(program: Interventions) -> None:
    no_trader = await refused(program.open(intervention("traders/NOBODY")))
    no_intervention = await refused(
        program.cancel(Intervention(name="complianceInterventions/nope", etag="1"))
    )

    assert no_trader.code() == grpc.StatusCode.NOT_FOUND
    assert no_intervention.code() == grpc.StatusCode.NOT_FOUND


async def test_malformed_requests_are_rejected_naming_the_field(program: Interventions) -> None:
    planned = await program.open()
    followed = await program.meet(await program.open())
    future = datetime.now(UTC) + timedelta(days=2)

    cases = [
        (program.open(intervention(trader_role=0)), "compliance_intervention.trader_role"),
        (program.open(intervention(areas=[])), "compliance_intervention.areas"),
        (
            program.open(intervention(error_pattern="short")),
            "compliance_intervention.error_pattern",
        ),
        (program.meet(planned, meeting(held=future)), "meeting.meeting_time"),
        (program.close(followed, note="too short"), "closing_note"),
    ]
    for call, field in cases:
        error = await refused(call)
        assert error.code() == grpc.StatusCode.INVALID_ARGUMENT, field
        assert [v.field for v in errors(error)["BadRequest"].field_violations] == [field]


async def test_only_specialists_run_interventions_and_others_only_read(
    program: Interventions,
) -> None:
    opened = await program.open()

    for call in (
        program.open(role=Role.ANALYST),
        program.open(role=Role.RMC),
        program.cancel(opened, role=Role.RMC),
        program.cancel(opened, role=Role.SERVICE),
    ):
        assert (await refused(call)).code() == grpc.StatusCode.PERMISSION_DENIED
    officer = await refused(
        program.stub.GetComplianceIntervention(
            service_pb2.GetComplianceInterventionRequest(name=opened.name),
            metadata=program.auth(Role.OFFICER),
        )
    )
    assert officer.code() == grpc.StatusCode.PERMISSION_DENIED
    assert (await program.get(opened.name)).state == PLANNED


async def test_an_accepted_criteria_recommendation_opens_one_intervention_however_often_relayed(
    program: Interventions,
) -> None:
    # As criteria's outbox sends it: the request id is a UUID5 of the recommendation.
    request = service_pb2.CreateComplianceInterventionRequest(
        request_id=str(uuid.uuid5(uuid.NAMESPACE_URL, "//criteria.customs/recommendations/R7")),
        compliance_intervention=intervention(
            trigger=intervention_pb2.INTERVENTION_TRIGGER_EXAMINATION_FINDINGS,
            error_pattern=(
                "Criterion criteria/C3: 4 of 5 examinations found a discrepancy. "
                "Accepted by ana: repeated classification errors, no sign of intent"
            ),
            evidence=["criteria/C3", "recommendations/R7"],
        ),
    )
    relay = program.client.auth(Role.SERVICE, "criteria")

    first = await program.stub.CreateComplianceIntervention(request, metadata=relay)
    again = await program.stub.CreateComplianceIntervention(request, metadata=relay)

    assert again == first
    opened = await program.get(first.compliance_intervention.name)
    assert opened.trigger == intervention_pb2.INTERVENTION_TRIGGER_EXAMINATION_FINDINGS
    assert opened.error_pattern.startswith("Criterion criteria/C3: 4 of 5 examinations")
    assert list(opened.evidence) == ["criteria/C3", "recommendations/R7"]
    assert (opened.trader, opened.owner, opened.state) == ("traders/T1", "criteria", PLANNED)
    listed = await program.stub.ListComplianceInterventions(
        service_pb2.ListComplianceInterventionsRequest(trader="traders/T1"),
        metadata=program.auth(Role.ANALYST),
    )
    assert [i.name for i in listed.compliance_interventions] == [opened.name]


async def test_a_request_id_reused_for_another_intervention_is_refused(
    program: Interventions,
) -> None:
    request_id = rid()
    await program.stub.CreateComplianceIntervention(
        service_pb2.CreateComplianceInterventionRequest(
            request_id=request_id, compliance_intervention=intervention()
        ),
        metadata=program.auth(),
    )

    error = await refused(
        program.stub.CreateComplianceIntervention(
            service_pb2.CreateComplianceInterventionRequest(
                request_id=request_id,
                compliance_intervention=intervention(evidence=["examReports/R9"]),
            ),
            metadata=program.auth(),
        )
    )

    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert errors(error)["ErrorInfo"].reason == "REQUEST_ID_REUSED"


async def test_interventions_are_listed_newest_first_by_state_page_by_page(
    program: Interventions,
) -> None:
    first = await program.open()
    second = await program.cancel(await program.open())
    third = await program.open()
    reader = program.auth(Role.AUDITOR)

    page = await program.stub.ListComplianceInterventions(
        service_pb2.ListComplianceInterventionsRequest(page_size=2), metadata=reader
    )
    rest = await program.stub.ListComplianceInterventions(
        service_pb2.ListComplianceInterventionsRequest(
            page_size=2, page_token=page.next_page_token
        ),
        metadata=reader,
    )
    planned = await program.stub.ListComplianceInterventions(
        service_pb2.ListComplianceInterventionsRequest(states=[PLANNED]), metadata=reader
    )

    assert [i.name for i in page.compliance_interventions] == [third.name, second.name]
    assert [i.name for i in rest.compliance_interventions] == [first.name]
    assert [i.name for i in planned.compliance_interventions] == [third.name, first.name]
