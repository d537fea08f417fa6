"""Every decision scoring can emit is one its receivers accept and act on.

The decisions are taken by scoring's own domain (criteria, random draws, the
capacity step) and encoded by its real outbox encoder; each request is then
checked against the receiver's contract (the protovalidate rules of its
proto, which its server enforces before any code runs) and turned into the
receiver's domain decision, as its ingest does. A RED or YELLOW decision
opens a task whose reason and criteria say why; BLUE goes to audit only.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal

import protovalidate
import pytest
from customs.audit_referral.v1 import audit_referral_service_pb2
from customs.common.v1 import selectivity_pb2
from customs.exam_reports.v1 import exam_reports_service_pb2
from customs.scoring.v1 import capacity_policy_pb2

from exam_reports.domain.examinations import ExaminationReason, open_examination
from exam_reports.entrypoints.mappers import decision_from_proto
from scoring.adapters.events import OutboundEvent, assessment_events
from scoring.domain.assessment import Assessment, Decision, ReplayRecord
from scoring.domain.capacity import (
    CapacityPolicy,
    CapacitySnapshot,
    CapacityUse,
    DowngradeRule,
    apply_capacity,
)
from scoring.domain.declaration import Declaration, DeclarationItem, Money, Party
from scoring.domain.draws import SelectionSeed
from scoring.domain.evaluator import assess
from scoring.domain.random_examinations import (
    RandomExaminationRate,
    RandomExaminationRates,
    draw_random_examinations,
    random_selections,
)
from scoring.domain.rules import (
    ApprovedTraderScope,
    Channel,
    CodeElement,
    CodeIn,
    Criterion,
    DocumentRequirement,
    ExaminationLevel,
    RulesSnapshot,
    SelectionRule,
    Treatment,
)

SEED = SelectionSeed(b"contract-test-selection-seed-0001")
RED, YELLOW, BLUE, GREEN = Channel.RED, Channel.YELLOW, Channel.BLUE, Channel.GREEN
SAMPLE = ExaminationLevel.COMMERCIAL_SAMPLE
INVOICE = DocumentRequirement("N380", "Commercial invoice")
PACKING_LIST = DocumentRequirement("N271", "Packing list")
AT_OFFICE_30 = CodeIn(CodeElement.OFFICE, frozenset({"30"}))
EXAM_REPORTS = "exam-reports"
AUDIT = "audit-referral"

#: Full capacity turns every physical examination, random ones included, into a
#: review of the packing list.
FULL_MEANS_PACKING_LIST = CapacityPolicy(
    name="capacityPolicies/default",
    rules=(DowngradeRule(RED, 100, 1, YELLOW, documents=(PACKING_LIST,)),),
    downgrade_random_examinations=True,
)
FULL_MEANS_AUDIT = CapacityPolicy(
    name="capacityPolicies/30", rules=(DowngradeRule(RED, 100, 1, BLUE),)
)


def declaration() -> Declaration:
    return Declaration(
        declaration_number="97061800",
        version=1,
        office_code="30",
        procedure_code="B",
        import_type_code="11",
        import_use_code="21",
        payment_type_code="11",
        lodgement_time=datetime(2026, 3, 2, 12, tzinfo=UTC),
        declarant=Party("ZZR1LT6"),
        importer=Party("QLRUBN9"),
        seller=Party("0VKY2BR"),
        transport_mode_code="10",
        dispatch_country_code="BE",
        items=(
            DeclarationItem(
                item_number=1,
                hs_code="440890",
                origin_country_code="BE",
                origin_indicator_code="G",
                net_mass_kg=108.0,
                customs_value=Money("KRW", Decimal("372254.4")),
                tax_type_code="FEU1",
                tax_rate_percent=0.0,
            ),
        ),
    )


def criterion(name: str, channel: Channel, *, priority: int = 50) -> Criterion:
    return Criterion(
        name=f"criteria/{name}",
        revision=3,
        title=f"Criterion {name}",
        rule=SelectionRule(
            condition=AT_OFFICE_30,
            treatment=Treatment(
                channel,
                SAMPLE if channel is RED else ExaminationLevel.NONE,
                (INVOICE,) if channel is YELLOW else (),
            ),
            selection_percent=100.0,
            approved_traders=ApprovedTraderScope.INCLUDED,
            priority=priority,
            examiner_instructions=f"Examine the goods ({name}).",
        ),
    )


def decided(*criteria: Criterion, random_percent: float = 0.0) -> Decision:
    """The decision of the criteria, then of a physical random draw at ``random_percent``."""
    lodged = declaration()
    decision = assess(RulesSnapshot.of(7, list(criteria), []), lodged, SEED)
    rates = RandomExaminationRates.of(
        1,
        [
            RandomExaminationRate(
                "30",
                "",
                physical_examination_percent=random_percent,
                physical_examination_level=SAMPLE,
            )
        ],
    )
    return draw_random_examinations(decision, lodged, rates, SEED).decision


def at_full_capacity(decision: Decision, policy: CapacityPolicy) -> Decision:
    full = CapacitySnapshot("30", "2026-03-02", True, (CapacityUse(RED, SAMPLE, 3, 3),))
    return apply_capacity(decision, policy, full, randoms=random_selections(decision))


def events(decision: Decision) -> dict[str, OutboundEvent]:
    assessment = Assessment(
        assessment_id=str(uuid.uuid4()),
        declaration=declaration(),
        declaration_content=b"",
        decision=decision,
        replay=ReplayRecord(criteria_revision=7, named_lists_revision=7, seed_id=SEED.seed_id),
        create_time=datetime(2026, 3, 2, 12, 0, 1, tzinfo=UTC),
    )
    return {event.destination: event for event in assessment_events(assessment)}


def accepted_task(event: OutboundEvent) -> exam_reports_service_pb2.IngestDecisionEventRequest:
    """The request exam_reports receives, after checking its contract accepts it."""
    request = exam_reports_service_pb2.IngestDecisionEventRequest.FromString(event.payload)
    assert protovalidate.collect_violations(request) == []
    return request


RED_CRITERION = criterion("wood", RED, priority=60)

CASES = {
    "criteria-red": decided(RED_CRITERION),
    "criteria-yellow": decided(criterion("invoices", YELLOW)),
    "random-red": decided(random_percent=100.0),
    "downgraded-criterion": at_full_capacity(decided(RED_CRITERION), FULL_MEANS_PACKING_LIST),
    "downgraded-random": at_full_capacity(decided(random_percent=100.0), FULL_MEANS_PACKING_LIST),
    "downgraded-beside-a-yellow-criterion": at_full_capacity(
        decided(RED_CRITERION, criterion("invoices", YELLOW)), FULL_MEANS_PACKING_LIST
    ),
}


@pytest.mark.parametrize("case", CASES, ids=list(CASES))
def test_every_examination_decision_opens_a_task_that_says_why(case: str) -> None:
    decision = CASES[case]
    assert decision.channel in (RED, YELLOW)

    request = accepted_task(events(decision)[EXAM_REPORTS])
    received = decision_from_proto(request.decision)
    task = open_examination("task-1", request.event_id, received, datetime.now(UTC))

    assert task.channel.value == decision.channel.value
    if received.matched_criteria:
        assert task.reason is ExaminationReason.CRITERIA
    else:
        assert task.reason is ExaminationReason.RANDOM
        assert task.random_selection
    if decision.channel is YELLOW:
        assert task.documents_to_check, "a document review must name what to check"


def test_a_criterion_downgraded_to_document_review_is_the_reason_of_its_task() -> None:
    request = accepted_task(events(CASES["downgraded-criterion"])[EXAM_REPORTS])
    received = decision_from_proto(request.decision)

    assert received.matched_criteria == ("criteria/wood",)
    assert [hit.criterion for hit in received.selected_criteria] == ["criteria/wood"]
    [downgrade] = received.capacity_downgrades
    assert (downgrade.criterion, downgrade.from_channel.value, downgrade.to_channel.value) == (
        "criteria/wood",
        "RED",
        "YELLOW",
    )
    assert downgrade.from_examination_level.value == "COMMERCIAL_SAMPLE"
    assert downgrade.capacity_policy == "capacityPolicies/default"
    assert [document.code for document in received.documents_to_check] == ["N271"]
    assert any("capacityPolicies/default" in text for text in received.examiner_instructions)


def test_the_receiver_refuses_a_downgraded_decision_that_hides_its_criterion() -> None:
    request = accepted_task(events(CASES["downgraded-criterion"])[EXAM_REPORTS])
    del request.decision.matched_criteria[:]

    violations = protovalidate.collect_violations(request)

    assert {violation.proto.rule_id for violation in violations} >= {
        "selectivity_decision.selected",
        "selectivity_decision.downgraded_criteria_named",
    }


@pytest.mark.parametrize(
    "decision",
    [
        decided(criterion("audit-importers", BLUE)),
        at_full_capacity(decided(RED_CRITERION), FULL_MEANS_AUDIT),
    ],
    ids=["criteria-blue", "downgraded-to-blue"],
)
def test_a_blue_decision_opens_no_task_and_reaches_audit_in_its_contract(
    decision: Decision,
) -> None:
    assert decision.channel is BLUE
    sent = events(decision)

    assert EXAM_REPORTS not in sent
    audit = audit_referral_service_pb2.IngestBlueDecisionEventRequest.FromString(
        sent[AUDIT].payload
    )
    assert protovalidate.collect_violations(audit) == []


def test_a_capacity_policy_must_name_the_documents_of_a_review_it_downgrades_to() -> None:
    rule = capacity_policy_pb2.DowngradeRule(
        selected_channel=selectivity_pb2.CHANNEL_RED,
        utilisation_percent=100,
        min_priority=2,
        downgrade_to=selectivity_pb2.CHANNEL_YELLOW,
    )

    violations = protovalidate.collect_violations(rule)
    assert [violation.proto.rule_id for violation in violations] == [
        "downgrade_rule.yellow_needs_documents"
    ]

    rule.documents_to_check.add(document_type_code="N271", description="Packing list")
    assert protovalidate.collect_violations(rule) == []


def test_every_case_is_what_its_name_says() -> None:
    downgraded = CASES["downgraded-beside-a-yellow-criterion"]
    assert [d.criterion for d in downgraded.capacity_downgrades] == ["criteria/wood"]
    assert CASES["downgraded-random"].capacity_downgrades[0].random_kind is not None
    assert CASES["random-red"].randomly_selected
    assert not CASES["criteria-red"].capacity_downgrades
