"""The capacity step: which selections a policy downgrades as an office's capacity runs out."""

from __future__ import annotations

from datetime import UTC, date, datetime

from scoring_builders import SEED, criterion, declaration, rules

from scoring.domain.assessment import Decision, ExaminerInstruction, HitOutcome
from scoring.domain.capacity import (
    CapacityPolicies,
    CapacityPolicy,
    CapacitySnapshot,
    CapacityUse,
    DowngradeRule,
    RandomKind,
    RandomSelection,
    apply_capacity,
    office_day,
)
from scoring.domain.evaluator import assess
from scoring.domain.rules import (
    Channel,
    CodeElement,
    CodeIn,
    DocumentRequirement,
    ExaminationLevel,
)

RED, YELLOW, BLUE, GREEN = Channel.RED, Channel.YELLOW, Channel.BLUE, Channel.GREEN
SAMPLE = ExaminationLevel.COMMERCIAL_SAMPLE
AT_OFFICE_30 = CodeIn(CodeElement.OFFICE, frozenset({"30"}))

#: Lowest priority first: from 80 % the least important RED selections become
#: document reviews, from 100 % all but the top priority do.
LOWEST_PRIORITY_FIRST = CapacityPolicy(
    name="capacityPolicies/default",
    rules=(
        DowngradeRule(RED, utilisation_percent=80, min_priority=50, downgrade_to=YELLOW),
        DowngradeRule(RED, utilisation_percent=100, min_priority=2, downgrade_to=YELLOW),
        DowngradeRule(YELLOW, utilisation_percent=100, min_priority=2, downgrade_to=GREEN),
    ),
)


def red_decision(*priorities: int, mandatory: bool = False) -> Decision:
    """The decision on a declaration hit by a RED commercial-sample criterion per priority."""
    criteria = [
        criterion(f"red-{priority}", AT_OFFICE_30, priority=priority, mandatory=mandatory)
        for priority in priorities
    ]
    return assess(rules(*criteria), declaration(), SEED)


def office(red_used: int, red_capacity: int = 10, yellow_used: int = 0) -> CapacitySnapshot:
    """Office 30 with ``red_capacity`` commercial samples a day and 10 document reviews."""
    return CapacitySnapshot(
        "30",
        "2020-01-01",
        known=True,
        uses=(
            CapacityUse(RED, SAMPLE, red_capacity, red_used),
            CapacityUse(YELLOW, ExaminationLevel.NONE, 10, yellow_used),
        ),
    )


def test_a_selection_keeps_its_channel_while_utilisation_is_below_every_threshold() -> None:
    decision = red_decision(90)

    kept = apply_capacity(decision, LOWEST_PRIORITY_FIRST, office(red_used=7))

    assert kept == decision
    assert kept.channel is RED


def test_the_lowest_priority_selections_are_downgraded_first() -> None:
    at_85_percent = office(red_used=17, red_capacity=20)

    low = apply_capacity(red_decision(60), LOWEST_PRIORITY_FIRST, at_85_percent)
    high = apply_capacity(red_decision(10), LOWEST_PRIORITY_FIRST, at_85_percent)

    assert (low.channel, low.examination_level) == (YELLOW, ExaminationLevel.NONE)
    [downgrade] = low.capacity_downgrades
    assert (downgrade.criterion, downgrade.from_channel, downgrade.to_channel) == (
        "criteria/red-60",
        RED,
        YELLOW,
    )
    assert downgrade.from_examination_level is SAMPLE
    assert downgrade.utilisation_percent == 85.0
    assert downgrade.capacity_policy == "capacityPolicies/default"
    assert [hit.outcome for hit in low.criterion_hits] == [HitOutcome.DOWNGRADED]
    assert high.channel is RED
    assert not high.capacity_downgrades


def test_at_full_capacity_only_the_top_priority_is_still_examined() -> None:
    full = office(red_used=10)

    top = apply_capacity(red_decision(1), LOWEST_PRIORITY_FIRST, full)
    second = apply_capacity(red_decision(2), LOWEST_PRIORITY_FIRST, full)

    assert top.channel is RED
    assert second.channel is YELLOW


def test_a_selection_counts_with_the_best_priority_of_its_criteria() -> None:
    decision = red_decision(90, 10)

    result = apply_capacity(decision, LOWEST_PRIORITY_FIRST, office(red_used=17, red_capacity=20))

    assert result.channel is RED
    assert not result.capacity_downgrades


def test_a_mandatory_criterion_is_never_downgraded() -> None:
    decision = red_decision(100, mandatory=True)

    result = apply_capacity(decision, LOWEST_PRIORITY_FIRST, office(red_used=50))

    assert result == decision
    assert result.channel is RED


def test_unknown_capacity_and_types_without_capacity_are_unlimited() -> None:
    decision = red_decision(90)
    unknown = CapacitySnapshot("30", "2020-01-01", known=False)
    no_red_capacity = office(red_used=40, red_capacity=0)

    assert apply_capacity(decision, LOWEST_PRIORITY_FIRST, unknown) == decision
    assert apply_capacity(decision, LOWEST_PRIORITY_FIRST, no_red_capacity) == decision
    assert apply_capacity(decision, None, office(red_used=10)) == decision


def test_a_document_review_that_is_full_too_downgrades_again_to_release() -> None:
    invoice = DocumentRequirement("N935", "Invoice")
    decision = assess(
        rules(
            criterion("red", AT_OFFICE_30, priority=60, documents=(invoice,)),
            criterion("yellow", AT_OFFICE_30, channel=YELLOW, priority=70),
        ),
        declaration(),
        SEED,
    )

    one_review_left = apply_capacity(
        decision, LOWEST_PRIORITY_FIRST, office(red_used=10, yellow_used=9)
    )
    no_review_left = apply_capacity(
        decision, LOWEST_PRIORITY_FIRST, office(red_used=10, yellow_used=10)
    )

    assert one_review_left.channel is YELLOW
    assert {check.document.document_type_code for check in one_review_left.documents_to_check} == {
        "N935",
        "N380",
    }
    # The physical examination's instruction is withdrawn; the review's stays.
    assert [i.text for i in one_review_left.examiner_instructions] == [
        "Examine the goods (yellow)."
    ]
    assert no_review_left.channel is GREEN
    assert not no_review_left.documents_to_check
    assert not no_review_left.examiner_instructions
    assert [
        (d.criterion, d.from_channel, d.to_channel) for d in no_review_left.capacity_downgrades
    ] == [
        ("criteria/red", RED, YELLOW),
        ("criteria/red", YELLOW, GREEN),
        ("criteria/yellow", YELLOW, GREEN),
    ]


def test_random_examinations_are_kept_intact_unless_the_policy_allows_downgrading_them() -> None:
    instruction = ExaminerInstruction(0, "Random compliance examination: commercial sample.")
    random_physical = RandomSelection(RandomKind.PHYSICAL, SAMPLE, instruction)
    decision = Decision(
        channel=RED,
        examination_level=SAMPLE,
        refer_to_audit=False,
        documents_to_check=(),
        examiner_instructions=(instruction,),
        criterion_hits=(),
        risk_score=0.0,
        importer_approved_trader=False,
        randomly_selected=True,
    )
    full = office(red_used=10)
    permissive = CapacityPolicy(
        "capacityPolicies/30",
        (DowngradeRule(RED, 100, 100, BLUE),),
        downgrade_random_examinations=True,
    )
    strict = CapacityPolicy("capacityPolicies/30", permissive.rules)

    kept = apply_capacity(decision, strict, full, randoms=[random_physical])
    downgraded = apply_capacity(decision, permissive, full, randoms=[random_physical])

    assert kept == decision
    assert downgraded.channel is BLUE
    assert downgraded.refer_to_audit
    # No examination takes place: no instruction, and no place in the random sample.
    assert downgraded.examiner_instructions == ()
    assert not downgraded.randomly_selected
    [downgrade] = downgraded.capacity_downgrades
    assert (downgrade.criterion, downgrade.random_kind) == ("", RandomKind.PHYSICAL)


def test_an_office_policy_takes_precedence_over_the_default() -> None:
    own = CapacityPolicy("capacityPolicies/30")
    policies = CapacityPolicies.of(3, [LOWEST_PRIORITY_FIRST, own])

    assert policies.for_office("30") is own
    assert policies.for_office("40") is LOWEST_PRIORITY_FIRST
    assert CapacityPolicies().for_office("30") is None


def test_the_day_is_counted_in_the_office_time_zone() -> None:
    late_evening_utc = datetime(2026, 3, 1, 22, 30, tzinfo=UTC)

    assert office_day(late_evening_utc, "Africa/Nairobi") == date(2026, 3, 2)
    assert office_day(late_evening_utc, "America/Lima") == date(2026, 3, 1)
    assert office_day(late_evening_utc, "") == date(2026, 3, 1)
    assert office_day(late_evening_utc, "Not/AZone") == date(2026, 3, 1)
