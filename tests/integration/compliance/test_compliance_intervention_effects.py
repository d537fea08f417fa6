"""Whether an intervention worked, measured through the real server from examination outcomes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import grpc
import pytest
from compliance_support import Client, errors, examination_event
from customs.compliance.v1 import compliance_service_pb2 as service_pb2
from customs.compliance.v1 import events_pb2, intervention_effect_pb2
from google.protobuf.timestamp_pb2 import Timestamp
from test_compliance_interventions import Interventions, intervention, meeting
from test_compliance_measurement import deliver_examination

from customs_kit.auth import Role

VALUE_ERROR = events_pb2.ExaminationDiscrepancy(
    type=events_pb2.DISCREPANCY_TYPE_VALUE, item_number=1
)
MEETING = datetime.now(UTC).replace(microsecond=0) - timedelta(days=100)
EFFECTIVE = intervention_effect_pb2.EFFECT_VERDICT_EFFECTIVE
ESCALATE = intervention_effect_pb2.EFFECT_VERDICT_ESCALATE_TO_AUDIT
RANDOM_ARM = intervention_effect_pb2.EFFECT_BASIS_RANDOM_EXAMINATIONS


def at(moment: datetime) -> Timestamp:
    stamp = Timestamp()
    stamp.FromDatetime(moment)
    return stamp


async def examine(
    client: Client, trader: str, *, wrong: int, right: int, after: bool, synced_late: bool = False
) -> None:
    """Random examinations of ``trader``'s declarations, ``wrong`` of them with a value error;
    ``synced_late``: examined before the meeting, their reports approved only after it."""
    for n in range(wrong + right):
        report = f"{trader}-{'after' if after else 'before'}-{n}"
        event = examination_event(
            report,
            f"D-{report}",
            importer=trader,
            discrepancies=[VALUE_ERROR] if n < wrong else None,
        )
        offset = timedelta(days=2 + n)
        examined = MEETING + offset if after else MEETING - offset
        event.examination_outcome.examine_time.CopyFrom(at(examined))
        approved = MEETING + timedelta(days=40) if synced_late else examined
        event.examination_outcome.approve_time.CopyFrom(at(approved))
        await deliver_examination(client, event)


async def closed_intervention(program: Interventions, trader: str) -> str:
    opened = await program.open(intervention(trader=f"traders/{trader}"))
    met = await program.meet(opened, meeting(MEETING))
    await program.close(met)
    return str(opened.name)


async def effect_of(
    client: Client, name: str
) -> intervention_effect_pb2.ComplianceInterventionEffect:
    response = await client.stub.GetComplianceInterventionEffect(
        service_pb2.GetComplianceInterventionEffectRequest(name=name),
        metadata=client.auth(Role.RMC, "rita"),
    )
    return response.effect


@pytest.fixture
async def program(client: Client) -> Interventions:
    for trader in ("T1", "T2"):
        await client.create_trader(trader)
    return Interventions(client)


async def test_a_trader_whose_discrepancy_rate_falls_after_the_meeting_shows_a_significant_effect(
    client: Client, program: Interventions
) -> None:
    await examine(client, "T1", wrong=12, right=8, after=False)
    await examine(client, "T1", wrong=1, right=19, after=True)
    name = await closed_intervention(program, "T1")

    effect = await effect_of(client, name)

    assert effect.basis == RANDOM_ARM
    assert (effect.random_arm.before.examinations, effect.random_arm.before.discrepancies) == (
        20,
        12,
    )
    assert (effect.random_arm.after.examinations, effect.random_arm.after.discrepancies) == (20, 1)
    assert effect.random_arm.upper < 0
    assert effect.verdict == EFFECTIVE
    assert effect.pivot_time == at(MEETING)


async def test_examinations_count_when_the_goods_were_examined_not_when_approved(
    client: Client, program: Interventions
) -> None:
    # The tablets synced late: examined before the meeting, approved after it.
    await examine(client, "T1", wrong=12, right=8, after=False, synced_late=True)
    await examine(client, "T1", wrong=1, right=19, after=True)
    name = await closed_intervention(program, "T1")

    effect = await effect_of(client, name)

    assert (effect.random_arm.before.examinations, effect.random_arm.before.discrepancies) == (
        20,
        12,
    )
    assert (effect.random_arm.after.examinations, effect.random_arm.after.discrepancies) == (20, 1)


async def test_a_trader_whose_rate_does_not_fall_shows_no_effect_and_is_named_for_audit(
    client: Client, program: Interventions
) -> None:
    await examine(client, "T1", wrong=12, right=8, after=False)
    await examine(client, "T1", wrong=1, right=19, after=True)
    await examine(client, "T2", wrong=6, right=14, after=False)
    await examine(client, "T2", wrong=5, right=15, after=True)
    await closed_intervention(program, "T1")
    stubborn = await closed_intervention(program, "T2")

    effect = await effect_of(client, stubborn)
    summary = await client.stub.SummarizeComplianceInterventionEffects(
        service_pb2.SummarizeComplianceInterventionEffectsRequest(),
        metadata=client.auth(Role.ANALYST, "ana"),
    )

    assert effect.random_arm.lower < 0 < effect.random_arm.upper
    assert effect.verdict == ESCALATE
    (kind,) = summary.kinds
    assert (kind.interventions, kind.effective, kind.escalate) == (2, 1, 1)
    assert kind.random_arm.before.examinations == 40
    assert [e.compliance_intervention for e in summary.escalations] == [stubborn]


async def test_an_intervention_still_open_has_no_effect_yet(
    client: Client, program: Interventions
) -> None:
    opened = await program.open(intervention(trader="traders/T1"))

    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await effect_of(client, opened.name)

    assert refused.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert errors(refused.value)["ErrorInfo"].reason == "INTERVENTION_NOT_CLOSED"


async def test_a_window_outside_its_bounds_is_refused_naming_the_field(client: Client) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await client.stub.GetComplianceInterventionEffect(
            service_pb2.GetComplianceInterventionEffectRequest(
                name="complianceInterventions/I1", window_days=10
            ),
            metadata=client.auth(Role.RMC, "rita"),
        )

    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    violations = errors(refused.value)["BadRequest"].field_violations
    assert [v.field for v in violations] == ["window_days"]
