"""Scoring's wire forms: data-set declarations, published criteria, stored decisions, events."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import protovalidate
import pytest
from customs.audit_referral.v1 import audit_referral_service_pb2
from customs.common.v1 import selection_rule_pb2
from customs.compliance.v1 import compliance_service_pb2
from customs.criteria.v1 import criterion_pb2
from customs.exam_reports.v1 import exam_reports_service_pb2
from customs.scoring.v1 import assessment_pb2, declaration_pb2
from scoring_builders import (
    SEED,
    criterion,
    dataset_messages,
    declaration,
    item,
    rules,
)

from scoring.adapters.codec import (
    UnusableRule,
    assessment_from_record,
    criterion_from_proto,
    decision_record,
    declaration_content,
    declaration_from_proto,
)
from scoring.adapters.events import assessment_events
from scoring.adapters.repositories import JournalState, snapshot_records
from scoring.domain.assessment import Assessment, ChannelFloor, ReplayRecord
from scoring.domain.declaration import Declaration, Party
from scoring.domain.evaluator import assess
from scoring.domain.rules import (
    AllOf,
    Channel,
    CodeElement,
    CodeIn,
    ExaminationLevel,
    HsCodePrefix,
    NumericElement,
    NumericRange,
    RulesSnapshot,
)

_NOW = datetime(2020, 1, 1, 12, 0, 1, tzinfo=UTC)


def test_the_data_set_maps_onto_valid_declarations_without_loss() -> None:
    messages = dataset_messages(300)

    for message in messages:
        protovalidate.validate(message)
    first = declaration_from_proto(messages[0])
    assert (first.declaration_number, first.office_code, first.importer.id) == (
        "97061800",
        "30",
        "QLRUBN9",
    )
    assert first.items[0].hs_code == "440890"
    assert str(first.items[0].customs_value.amount.normalize()) == "372254.4"
    assert first.lodgement_time == datetime(2020, 1, 1, 12, tzinfo=UTC)


def test_realistic_criteria_route_data_set_declarations_reproducibly() -> None:
    snapshot = rules(
        criterion(
            "timber-from-belgium",
            AllOf(
                (
                    HsCodePrefix(("4408",)),
                    CodeIn(CodeElement.ITEM_ORIGIN_COUNTRY, frozenset({"BE"})),
                )
            ),
        ),
        criterion(
            "high-duty",
            NumericRange(NumericElement.ITEM_TAX_RATE_PERCENT, minimum=8.0),
            channel=Channel.YELLOW,
            percent=30,
        ),
    )
    declarations = [declaration_from_proto(m) for m in dataset_messages(500)]

    first = [assess(snapshot, d, SEED) for d in declarations]
    again = [assess(snapshot, d, SEED) for d in declarations]

    assert first == again
    timber = first[0]
    assert (timber.channel, timber.criterion_hits[0].criterion) == (
        Channel.RED,
        "criteria/timber-from-belgium",
    )
    channels = Counter(decision.channel for decision in first)
    assert channels[Channel.GREEN] > channels[Channel.YELLOW] > 0


def _published() -> criterion_pb2.ActiveCriterion:
    message = criterion_pb2.ActiveCriterion(
        name="criteria/cigarettes",
        revision=3,
        title="Cigarettes",
        rule=selection_rule_pb2.SelectionRule(
            condition=selection_rule_pb2.Condition(
                predicate=selection_rule_pb2.Predicate(
                    hs_code_prefix=selection_rule_pb2.HsCodePrefixPredicate(prefixes=["2402"])
                )
            ),
            treatment=selection_rule_pb2.Treatment(
                channel="CHANNEL_RED", examination_level="EXAMINATION_LEVEL_ENFORCEMENT"
            ),
            selection_percent=100,
            mandatory=True,
            approved_traders="APPROVED_TRADER_SCOPE_INCLUDED",
            priority=1,
            examiner_instructions="Unload the container and count the cartons.",
        ),
    )
    message.validity_end_time.FromDatetime(datetime(2030, 1, 1, tzinfo=UTC))
    return message


def test_a_published_criterion_becomes_a_domain_criterion() -> None:
    published = _published()
    protovalidate.validate(published.rule)

    parsed = criterion_from_proto(published)

    assert parsed.rule.condition == HsCodePrefix(("2402",))
    assert parsed.rule.treatment.examination_level is ExaminationLevel.ENFORCEMENT
    assert (parsed.rule.mandatory, parsed.rule.priority, parsed.rule.item_level) == (True, 1, True)
    assert parsed.validity_end == datetime(2030, 1, 1, tzinfo=UTC)
    assert parsed.validity_start is None


def test_a_criterion_this_engine_cannot_apply_is_refused() -> None:
    published = _published()
    published.rule.condition.Clear()

    with pytest.raises(UnusableRule):
        criterion_from_proto(published)


def _assessment(snapshot: RulesSnapshot, decl: Declaration) -> Assessment:
    """An assessment of ``decl`` as it would be stored (content in its wire form)."""
    message = declaration_pb2.Declaration(
        declaration_number=decl.declaration_number,
        version=decl.version,
        office_code=decl.office_code,
        procedure_code=decl.procedure_code,
        transport_mode_code=decl.transport_mode_code,
        dispatch_country_code=decl.dispatch_country_code,
        importer=declaration_pb2.Party(id=decl.importer.id, name=decl.importer.name),
    )
    message.lodgement_time.FromDatetime(decl.lodgement_time)
    for entry in decl.items:
        added = message.items.add(
            item_number=entry.item_number,
            hs_code=entry.hs_code,
            origin_country_code=entry.origin_country_code,
            net_mass_kg=entry.net_mass_kg,
        )
        added.customs_value.currency_code = entry.customs_value.currency_code
        added.customs_value.units = int(entry.customs_value.amount)
    parsed = declaration_from_proto(message)
    return Assessment(
        assessment_id="4b1c0c43-7f38-4d67-9a5e-0f1d3e1c2a10",
        declaration=parsed,
        declaration_content=declaration_content(message),
        decision=assess(snapshot, parsed, SEED),
        replay=ReplayRecord(snapshot.revision, snapshot.revision, SEED.seed_id),
        create_time=_NOW,
    )


def test_a_stored_decision_reads_back_equal() -> None:
    stored = _assessment(
        rules(
            criterion("sample", HsCodePrefix(("44",)), level=ExaminationLevel.COMMERCIAL_SAMPLE),
            criterion("audit", HsCodePrefix(("44",)), channel=Channel.BLUE, percent=40),
        ),
        declaration(item(1), item(2, hs_code="610910")),
    )

    read = assessment_from_record(
        stored.assessment_id, stored.declaration_content, decision_record(stored)
    )

    assert read == stored


def _events(channel: Channel, **options: Any) -> dict[str, Any]:
    snapshot = rules(criterion("any", HsCodePrefix(("44",)), channel=channel, **options))
    decl = declaration(importer=Party("QLRUBN9", "Hanbit Trading"))
    found = {}
    for event in assessment_events(_assessment(snapshot, decl)):
        request_type = {
            "exam-reports": exam_reports_service_pb2.IngestDecisionEventRequest,
            "compliance": compliance_service_pb2.IngestAssessmentEventRequest,
            "audit-referral": audit_referral_service_pb2.IngestBlueDecisionEventRequest,
        }[event.destination]
        request = request_type.FromString(event.payload)
        protovalidate.validate(request)
        assert request.event_id == event.event_id
        assert event.method.endswith(request_type.__name__.removesuffix("Request"))
        found[event.destination] = request
    return found


def test_a_red_decision_opens_an_examination_and_feeds_trade_statistics() -> None:
    events = _events(Channel.RED)

    assert set(events) == {"exam-reports", "compliance"}
    decision = events["exam-reports"].decision
    assert decision.matched_criteria == ["criteria/any"]
    assert decision.office == "offices/30"
    assert list(decision.examiner_instructions) == ["Item 1: Examine the goods (any)."]


def test_the_decision_to_exam_reports_names_each_hit_with_its_revision_and_item() -> None:
    snapshot = rules(criterion("timber", HsCodePrefix(("44",)), revision=3))
    decl = declaration(item(1), item(2, hs_code="610910"), item(3))

    (decision,) = [
        exam_reports_service_pb2.IngestDecisionEventRequest.FromString(event.payload).decision
        for event in assessment_events(_assessment(snapshot, decl))
        if event.destination == "exam-reports"
    ]

    protovalidate.validate(decision)
    assert [
        (hit.criterion, hit.criterion_revision, hit.item_number)
        for hit in decision.selected_criteria
    ] == [("criteria/timber", 3, 1), ("criteria/timber", 3, 3)]
    assert decision.matched_criteria == ["criteria/timber"]


def test_a_blue_decision_is_referred_to_audit() -> None:
    events = _events(Channel.BLUE)

    assert set(events) == {"audit-referral", "compliance"}
    blue = events["audit-referral"].blue_decision
    assert blue.importer.display_name == "Hanbit Trading"
    assert blue.total_customs_value.units == 372254


def test_a_yellow_decision_that_refers_to_audit_causes_three_events() -> None:
    assert set(_events(Channel.YELLOW, also_refer_to_audit=True)) == {
        "exam-reports",
        "audit-referral",
        "compliance",
    }


def test_a_green_decision_only_feeds_trade_statistics() -> None:
    events = _events(Channel.RED, percent=0)

    assert set(events) == {"compliance"}
    assert events["compliance"].assessed_declaration.channel == 1


def test_a_snapshot_journals_only_what_changed_and_what_disappeared() -> None:
    before = JournalState(4, criteria={"criteria/a": b"a1", "criteria/b": b"b1"})

    records = snapshot_records(
        JournalState(9, before.criteria), {"criteria/a": b"a1", "criteria/c": b"c1"}, {}
    )

    assert sorted((r.kind, r.key, r.revision, r.payload) for r in records) == [
        ("criterion", "criteria/b", 9, None),
        ("criterion", "criteria/c", 9, b"c1"),
        ("snapshot", "", 9, b""),
    ]


def test_a_kept_channel_and_the_draw_scheme_read_back_and_older_records_are_scheme_1() -> None:
    stored = _assessment(rules(), declaration(item(1)))
    floor = ChannelFloor("assessments/first", "97061800", 1, Channel.RED, ExaminationLevel.FULL)
    kept = replace(
        stored,
        decision=replace(stored.decision, channel_floor=floor),
        replay=replace(stored.replay, random_draw_scheme=2),
    )
    # A record written before the scheme was recorded carries none.
    older = assessment_pb2.Assessment.FromString(decision_record(stored))
    older.replay.ClearField("random_draw_scheme")

    read = assessment_from_record(
        kept.assessment_id, kept.declaration_content, decision_record(kept)
    )
    read_older = assessment_from_record(
        stored.assessment_id, stored.declaration_content, older.SerializeToString()
    )

    assert read == kept
    assert read_older.replay.random_draw_scheme == 1
    assert read_older.decision.channel_floor is None
