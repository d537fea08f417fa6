"""Which earlier decisions a lodgement is a re-lodgement of, and the channel it keeps."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from scoring_builders import LODGED, SEED, declaration, item, rules

from scoring.domain.consignments import (
    PriorDecision,
    channel_floor,
    consignment_key,
    keep_channel,
)
from scoring.domain.declaration import Party, TransportDocument
from scoring.domain.evaluator import assess
from scoring.domain.rules import Channel, ExaminationLevel

BILL = TransportDocument("705", "mscu1234567")
WEEK = timedelta(days=7)


def prior(**fields: object) -> PriorDecision:
    values: dict[str, object] = {
        "assessment": "assessments/first",
        "declaration_number": "97061800",
        "version": 1,
        "consignment": "document:705:MSCU1234567",
        "declarant_id": "ZZR1LT6",
        "importer_id": "QLRUBN9",
        "lodgement_time": LODGED,
        "channel": Channel.RED,
        "examination_level": ExaminationLevel.ENFORCEMENT,
    }
    values.update(fields)
    return PriorDecision(**values)  # type: ignore[arg-type]


def test_the_consignment_is_the_transport_document_else_a_container_else_the_number() -> None:
    assert consignment_key(declaration(transport_document=BILL)) == "document:705:MSCU1234567"
    assert consignment_key(declaration(container_numbers=("TGHU8765432", "MSKU1234565"))) == (
        "container:MSKU1234565"
    )
    assert consignment_key(declaration()) == "declaration:97061800"


def test_a_new_declaration_for_the_same_bill_by_the_same_importer_keeps_the_channel() -> None:
    relodged = declaration(
        declaration_number="97061899",
        transport_document=BILL,
        declarant=Party("OTHER"),
        lodgement_time=LODGED + timedelta(days=1),
    )

    floor = channel_floor(relodged, [prior()], WEEK)

    assert floor is not None
    assert (floor.assessment, floor.channel) == ("assessments/first", Channel.RED)


def test_the_same_bill_by_other_parties_or_after_the_window_is_not_a_re_lodgement() -> None:
    stranger = declaration(
        declaration_number="97061899",
        transport_document=BILL,
        declarant=Party("OTHER"),
        importer=Party("ELSEWHERE"),
    )
    late = declaration(
        declaration_number="97061899", transport_document=BILL, lodgement_time=LODGED + 2 * WEEK
    )
    unrelated_number = declaration(declaration_number="97061899")

    assert channel_floor(stranger, [prior()], WEEK) is None
    assert channel_floor(late, [prior()], WEEK) is None
    # Without a transport document or container only the same number links declarations.
    assert (
        channel_floor(unrelated_number, [prior(consignment="declaration:97061800")], WEEK) is None
    )


def test_a_new_version_keeps_the_highest_channel_and_says_so() -> None:
    amended = declaration(item(1, hs_code="440799"), version=3)
    priors = [
        prior(version=1, channel=Channel.YELLOW, examination_level=ExaminationLevel.NONE),
        prior(version=2, assessment="assessments/second"),
    ]
    green = assess(rules(), amended, SEED)

    kept = keep_channel(green, channel_floor(amended, priors, WEEK))

    assert (kept.channel, kept.examination_level) == (Channel.RED, ExaminationLevel.ENFORCEMENT)
    assert kept.channel_floor is not None
    assert kept.channel_floor.assessment == "assessments/second"
    assert "Re-lodgement" in kept.examiner_instructions[-1].text


def test_a_decision_already_as_high_is_unchanged_but_records_the_link() -> None:
    amended = declaration(version=2)
    red = replace(
        assess(rules(), amended, SEED),
        channel=Channel.RED,
        examination_level=ExaminationLevel.FULL,
    )

    kept = keep_channel(red, channel_floor(amended, [prior()], WEEK))

    assert (kept.channel, kept.examination_level) == (Channel.RED, ExaminationLevel.FULL)
    assert kept.examiner_instructions == red.examiner_instructions
    assert kept.channel_floor is not None


def test_after_a_green_decision_there_is_nothing_to_keep() -> None:
    amended = declaration(version=2)

    assert channel_floor(amended, [prior(channel=Channel.GREEN)], WEEK) is None
