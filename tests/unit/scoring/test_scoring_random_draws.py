"""Random compliance examinations: which rate applies, the draws, and what they do to a decision."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from scoring_builders import SEED, criterion, declaration, item, rules

from scoring.domain.assessment import HitOutcome
from scoring.domain.capacity import RandomKind, RandomSelection
from scoring.domain.declaration import TransportDocument
from scoring.domain.evaluator import assess
from scoring.domain.random_examinations import (
    VERSION_DRAW_SCHEME,
    RandomExaminationRate,
    RandomExaminationRates,
    draw_random_examinations,
    random_selections,
    rate_name,
)
from scoring.domain.rules import (
    ApprovedTraderScope,
    Channel,
    ExaminationLevel,
    HsCodePrefix,
)

FULL = ExaminationLevel.FULL


def rate(office: str = "", procedure: str = "", **rates: Any) -> RandomExaminationRate:
    """A configuration of ``office`` and ``procedure`` ("" = any) with ``rates``."""
    return RandomExaminationRate(office, procedure, **rates)


def test_the_most_specific_configuration_applies() -> None:
    configured = RandomExaminationRates.of(
        4,
        [
            rate(document_review_percent=1),
            rate("", "B", document_review_percent=2),
            rate("30", document_review_percent=3),
            rate("30", "B", document_review_percent=4),
        ],
    )

    def applied(office: str, procedure: str) -> float | None:
        found = configured.applicable(office, procedure)
        return None if found is None else found.document_review_percent

    assert applied("30", "B") == 4
    assert applied("30", "C") == 3
    assert applied("31", "B") == 2
    assert applied("31", "C") == 1
    assert RandomExaminationRates.of(1, [rate("30", "B")]).applicable("31", "B") is None


def test_rate_names_are_readable_and_never_shared_by_two_configurations() -> None:
    assert rate_name("30", "B") == "randomExaminationRates/30-B"
    assert rate_name("", "B") == "randomExaminationRates/any-B"
    assert rate_name("30", "") == "randomExaminationRates/30-any"
    assert rate_name("", "") == "randomExaminationRates/any-any"
    codes = [
        ("", ""),
        ("any", ""),
        ("", "any"),
        ("BE.ANR", "B"),
        ("BE-ANR", "B"),
        ("BE_ANR", "B"),
        ("BEANR", "B"),
        ("B" * 63, "4000"),
    ]
    names = [rate_name(office, procedure) for office, procedure in codes]
    assert len(set(names)) == len(codes)
    assert all(len(name.removeprefix("randomExaminationRates/")) <= 63 for name in names)


def test_a_selected_physical_draw_makes_the_declaration_red_at_the_rate_level() -> None:
    rates = RandomExaminationRates.of(
        3, [rate(physical_examination_percent=100, physical_examination_level=FULL)]
    )
    green = assess(rules(), declaration(), SEED)

    step = draw_random_examinations(green, declaration(), rates, SEED)

    decision = step.decision
    assert (decision.channel, decision.examination_level) == (Channel.RED, FULL)
    assert decision.randomly_selected
    review, physical = decision.random_draws
    assert (review.kind, review.selected, review.rate_percent) == (
        RandomKind.DOCUMENT_REVIEW,
        False,
        0,
    )
    assert (physical.kind, physical.selected, physical.examination_level) == (
        RandomKind.PHYSICAL,
        True,
        FULL,
    )
    assert physical.random_examination_rate == "randomExaminationRates/any-any"
    [instruction] = decision.examiner_instructions
    assert instruction.text.startswith("Random compliance examination")
    assert random_selections(decision) == (RandomSelection(RandomKind.PHYSICAL, FULL, instruction),)


def test_a_random_draw_never_lowers_what_the_criteria_decided() -> None:
    enforcement = criterion(
        "wood", HsCodePrefix(("44",)), level=ExaminationLevel.ENFORCEMENT, instructions="Count."
    )
    sample = ExaminationLevel.COMMERCIAL_SAMPLE
    rates = RandomExaminationRates.of(
        1,
        [
            rate(
                document_review_percent=100,
                physical_examination_percent=100,
                physical_examination_level=sample,
            )
        ],
    )
    red = assess(rules(enforcement), declaration(), SEED)

    decision = draw_random_examinations(red, declaration(), rates, SEED).decision

    assert (decision.channel, decision.examination_level) == (
        Channel.RED,
        ExaminationLevel.ENFORCEMENT,
    )
    criteria_instruction, *random = (i.text for i in decision.examiner_instructions)
    assert criteria_instruction == "Count."
    assert [text.split(":")[0] for text in random] == [
        "Random compliance document review",
        "Random compliance examination (commercial compliance examination of representative "
        "packages)",
    ]


def test_a_random_document_review_outranks_a_post_clearance_audit() -> None:
    audit = criterion("audit", HsCodePrefix(("44",)), channel=Channel.BLUE)
    rates = RandomExaminationRates.of(1, [rate(document_review_percent=100)])
    blue = assess(rules(audit), declaration(), SEED)

    decision = draw_random_examinations(blue, declaration(), rates, SEED).decision

    assert decision.channel is Channel.YELLOW
    assert decision.refer_to_audit


def test_without_a_configuration_no_draw_is_made() -> None:
    green = assess(rules(), declaration(), SEED)
    rates = RandomExaminationRates.of(1, [rate("31", document_review_percent=100)])

    step = draw_random_examinations(green, declaration(), rates, SEED)

    assert step.decision == green
    assert step.evaluations == ()


def test_approved_traders_are_drawn_at_their_own_rate_even_when_criteria_exclude_them() -> None:
    excluded = criterion(
        "wood", HsCodePrefix(("44",)), approved_traders=ApprovedTraderScope.EXCLUDED
    )
    rates = RandomExaminationRates.of(
        2,
        [
            rate(
                physical_examination_percent=0,
                approved_trader_physical_examination_percent=100,
                physical_examination_level=FULL,
            )
        ],
    )
    lodged = declaration()
    approved = assess(rules(excluded), lodged, SEED, importer_approved=True)
    assert approved.criterion_hits[0].outcome is HitOutcome.APPROVED_TRADER_EXCLUDED

    decision = draw_random_examinations(approved, lodged, rates, SEED).decision

    assert decision.channel is Channel.RED
    physical = decision.random_draws[1]
    assert (physical.approved_trader_rate, physical.rate_percent, physical.selected) == (
        True,
        100,
        True,
    )
    not_approved = assess(rules(excluded), lodged, SEED)
    other = draw_random_examinations(not_approved, lodged, rates, SEED).decision
    assert (other.random_draws[1].approved_trader_rate, other.random_draws[1].selected) == (
        False,
        False,
    )


def test_the_draws_are_reproducible_and_independent_of_each_other_and_of_the_rates() -> None:
    lodged = declaration(item(1))
    low = RandomExaminationRates.of(1, [rate(document_review_percent=1)])
    high = RandomExaminationRates.of(9, [rate(document_review_percent=99)])
    green = assess(rules(), lodged, SEED)

    first = draw_random_examinations(green, lodged, low, SEED).evaluations
    again = draw_random_examinations(green, lodged, high, SEED).evaluations

    assert [e.value for e in first] == [e.value for e in again]
    assert first[0].value != first[1].value
    other = replace(lodged, declaration_number="97061801")
    assert draw_random_examinations(green, other, low, SEED).evaluations[0].value != (
        first[0].value
    )


def _values(decision: Any, lodged: Any, rates: Any, **scheme: int) -> list[float]:
    return [
        e.value
        for e in draw_random_examinations(decision, lodged, rates, SEED, **scheme).evaluations
    ]


def test_re_lodging_the_same_consignment_cannot_re_roll_the_random_draw() -> None:
    rates = RandomExaminationRates.of(1, [rate(document_review_percent=10)])
    lodged = declaration(item(1), transport_document=TransportDocument("705", "MSCU1234567"))
    green = assess(rules(), lodged, SEED)
    first = _values(green, lodged, rates)

    amended = replace(lodged, version=2, items=(item(1, hs_code="440799"),))
    relodged = replace(lodged, declaration_number="97061899")
    elsewhere = replace(lodged, transport_document=TransportDocument("705", "MSCU7654321"))

    assert _values(green, amended, rates) == first
    assert _values(green, relodged, rates) == first
    assert _values(green, elsewhere, rates) != first


def test_decisions_of_the_version_keyed_scheme_replay_with_their_own_draws() -> None:
    rates = RandomExaminationRates.of(1, [rate(document_review_percent=10)])
    lodged = declaration(item(1))
    green = assess(rules(), lodged, SEED)
    amended = replace(lodged, version=2)

    old = _values(green, lodged, rates, scheme=VERSION_DRAW_SCHEME)

    assert old[0] == SEED.random_draw("DOCUMENT_REVIEW", lodged.declaration_number, 1)
    assert _values(green, amended, rates, scheme=VERSION_DRAW_SCHEME) != old
    assert _values(green, lodged, rates) != old
