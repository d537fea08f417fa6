"""The reference selectivity evaluator: what hits, which item, which channel, how often."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from scoring_builders import (
    LODGED,
    SEED,
    criterion,
    declaration,
    item,
    krw,
    numbered,
    rules,
)

from customs_kit.errors import InvalidArgument
from scoring.domain.assessment import HitOutcome
from scoring.domain.declaration import (
    Declaration,
    Duty,
    ItemDocument,
    Money,
    Party,
    check_currencies,
)
from scoring.domain.draws import SelectionSeed
from scoring.domain.evaluator import assess, evaluate
from scoring.domain.rules import (
    AllOf,
    AnyOf,
    ApprovedTraderScope,
    Channel,
    CodeElement,
    CodeIn,
    CodesEqual,
    Criterion,
    DescriptionKeywords,
    DocumentRequirement,
    ExaminationLevel,
    HsCodePrefix,
    InNamedList,
    NamedList,
    NamedListKind,
    NoneOf,
    NumericElement,
    NumericRange,
    UnitValue,
    UnitValueBand,
    UnitValueBasis,
    UnitValueComparison,
)


def hits_of(
    *criteria: Criterion,
    decl: Declaration | None = None,
    named_lists: tuple[NamedList, ...] = (),
    approved: bool = False,
) -> list[tuple[str, int]]:
    """The (criterion, item) of every hit, in decision order."""
    decision = assess(
        rules(*criteria, named_lists=named_lists),
        decl or declaration(),
        SEED,
        importer_approved=approved,
    )
    return [(hit.criterion, hit.item_number) for hit in decision.criterion_hits]


TWO_ITEMS = declaration(
    item(1, hs_code="610910", origin_country_code="VN", net_mass_kg=100.0),
    item(2, hs_code="851713", origin_country_code="CN", net_mass_kg=2.0),
)


# --- predicates --------------------------------------------------------------------


def test_a_header_code_hits_the_whole_declaration_as_item_zero() -> None:
    office = CodeIn(CodeElement.OFFICE, frozenset({"30", "40"}))

    assert hits_of(criterion("office", office)) == [("criteria/office", 0)]
    assert hits_of(criterion("office", office), decl=declaration(office_code="20")) == []


def test_an_item_code_hits_only_the_items_that_carry_it() -> None:
    chinese = CodeIn(CodeElement.ITEM_ORIGIN_COUNTRY, frozenset({"CN"}))

    assert hits_of(criterion("cn", chinese), decl=TWO_ITEMS) == [("criteria/cn", 2)]


def test_an_absent_party_never_matches() -> None:
    courier = CodeIn(CodeElement.COURIER, frozenset({"DHL01"}))

    assert hits_of(criterion("courier", courier)) == []
    assert hits_of(criterion("courier", courier), decl=declaration(courier=Party("DHL01"))) == [
        ("criteria/courier", 0)
    ]


@pytest.mark.parametrize(
    ("prefix", "hits"),
    [("61", [2]), ("6109", [2]), ("610910", [2]), ("85", [3]), ("8517130000", []), ("62", [])],
)
def test_an_hs_prefix_of_any_length_matches_the_item(prefix: str, hits: list[int]) -> None:
    decl = declaration(
        item(1, hs_code="440890"), item(2, hs_code="6109100010"), item(3, hs_code="851713")
    )

    found = hits_of(criterion("hs", HsCodePrefix((prefix,))), decl=decl)

    assert [number for _, number in found] == hits


def test_a_numeric_range_includes_its_bounds() -> None:
    def rate(value: float) -> list[tuple[str, int]]:
        decl = declaration(item(tax_rate_percent=value))
        return hits_of(
            criterion("rate", NumericRange(NumericElement.ITEM_TAX_RATE_PERCENT, 8.0, 13.0)),
            decl=decl,
        )

    assert rate(8.0)
    assert rate(13.0)
    assert rate(10.5)
    assert not rate(7.99)
    assert not rate(13.01)


def test_a_monetary_range_never_matches_a_value_in_another_currency() -> None:
    rule = NumericRange(NumericElement.ITEM_CUSTOMS_VALUE, minimum=300_000, currency_code="KRW")
    in_dollars = declaration(item(customs_value=Money("USD", Decimal("372254.40"))))

    assert hits_of(criterion("value", rule)) == [("criteria/value", 1)]
    assert hits_of(criterion("value", rule), decl=in_dollars) == []


def test_value_per_kg_is_computed_and_a_zero_net_mass_is_not_declared() -> None:
    # 372,254.4 KRW for 108 kg is 3,446.8 KRW per kg.
    cheap = NumericRange(NumericElement.ITEM_VALUE_PER_KG, maximum=3_500, currency_code="KRW")

    assert hits_of(criterion("per-kg", cheap)) == [("criteria/per-kg", 1)]
    assert hits_of(criterion("per-kg", cheap), decl=declaration(item(net_mass_kg=0.0))) == []
    assert (
        hits_of(
            criterion("mass", NumericRange(NumericElement.ITEM_NET_MASS_KG, maximum=1.0)),
            decl=declaration(item(net_mass_kg=0.0)),
        )
        == []
    )


def test_value_per_unit_needs_a_quantity() -> None:
    phones = item(
        hs_code="851713",
        customs_value=krw(500_000),
        quantity=10.0,
        supplementary_unit_code="NAR",
    )
    per_unit = NumericRange(NumericElement.ITEM_VALUE_PER_UNIT, maximum=60_000, currency_code="KRW")

    assert hits_of(criterion("per-unit", per_unit), decl=declaration(phones)) == [
        ("criteria/per-unit", 1)
    ]
    assert hits_of(criterion("per-unit", per_unit)) == []


def test_duties_are_summed_in_the_predicates_currency() -> None:
    taxed = item(
        duties=(
            Duty("A", 8.0, krw(29_780)),
            Duty("VAT", 10.0, krw(40_203)),
        )
    )
    high_duty = NumericRange(NumericElement.ITEM_DUTY_AMOUNT, minimum=60_000, currency_code="KRW")

    assert hits_of(criterion("duty", high_duty), decl=declaration(taxed)) == [("criteria/duty", 1)]
    assert hits_of(criterion("duty", high_duty)) == []


def test_declaration_totals_count_items_and_add_up_values() -> None:
    many = NumericRange(NumericElement.DECLARATION_ITEM_COUNT, minimum=2)
    large = NumericRange(
        NumericElement.DECLARATION_CUSTOMS_VALUE, minimum=700_000, currency_code="KRW"
    )
    two = declaration(item(1), item(2))

    assert hits_of(criterion("many", many), criterion("large", large), decl=two) == [
        ("criteria/large", 0),
        ("criteria/many", 0),
    ]
    assert hits_of(criterion("many", many), criterion("large", large)) == []


_BANDS = NamedList(
    "namedLists/tshirt-prices",
    NamedListKind.UNIT_VALUE_BANDS,
    unit_value_bands=(
        UnitValueBand("61", UnitValueBasis.PER_KG, "KRW", lower=5_000, upper=50_000),
        UnitValueBand("6109", UnitValueBasis.PER_KG, "KRW", lower=20_000, upper=60_000),
        UnitValueBand(
            "6109",
            UnitValueBasis.PER_KG,
            "KRW",
            lower=8_000,
            upper=30_000,
            origin_country_code="CN",
        ),
        UnitValueBand(
            "6109",
            UnitValueBasis.PER_UNIT,
            "KRW",
            lower=3_000,
            upper=9_000,
            supplementary_unit_code="NAR",
        ),
    ),
)


def _tshirts(per_kg: int, origin: str = "VN", **overrides: Any) -> Declaration:
    """100 kg of T-shirts (HS 610910) at ``per_kg`` won a kilogram."""
    values: dict[str, Any] = {"customs_value": krw(per_kg * 100), **overrides}
    return declaration(
        item(hs_code="610910", origin_country_code=origin, net_mass_kg=100.0, **values)
    )


def test_unit_value_uses_the_longest_prefix_and_prefers_the_items_origin() -> None:
    below = criterion(
        "under-valued",
        UnitValue(UnitValueBasis.PER_KG, UnitValueComparison.BELOW_BAND, _BANDS.name),
    )

    def hit(per_kg: int, origin: str) -> bool:
        return bool(hits_of(below, decl=_tshirts(per_kg, origin), named_lists=(_BANDS,)))

    # 6109 any origin: 20,000-60,000 (not the chapter's 5,000-50,000).
    assert hit(15_000, "VN")
    assert not hit(25_000, "VN")
    # 6109 from CN: 8,000-30,000.
    assert not hit(15_000, "CN")
    assert hit(7_000, "CN")


def test_unit_value_tolerance_widens_the_band() -> None:
    def outside(per_kg: int, tolerance: float) -> bool:
        rule = UnitValue(
            UnitValueBasis.PER_KG, UnitValueComparison.OUTSIDE_BAND, _BANDS.name, tolerance
        )
        return bool(hits_of(criterion("band", rule), decl=_tshirts(per_kg), named_lists=(_BANDS,)))

    # The band 20,000-60,000 widened by 10 % is 18,000-66,000.
    assert outside(18_500, 0)
    assert not outside(18_500, 10)
    assert outside(65_000, 0)
    assert not outside(65_000, 10)


def test_unit_value_per_unit_needs_the_bands_unit_and_falls_back_to_the_statistical_value() -> None:
    rule = UnitValue(UnitValueBasis.PER_UNIT, UnitValueComparison.ABOVE_BAND, _BANDS.name)
    in_dollars = Money("USD", Decimal("900"))

    def hit(unit: str, **values: Any) -> bool:
        decl = _tshirts(100, quantity=100.0, supplementary_unit_code=unit, **values)
        return bool(hits_of(criterion("per-unit", rule), decl=decl, named_lists=(_BANDS,)))

    # 1,000,000 KRW for 100 pieces is 10,000 KRW a piece, above 9,000.
    assert hit("NAR", customs_value=krw(1_000_000))
    assert not hit("KGM", customs_value=krw(1_000_000))
    assert hit("NAR", customs_value=in_dollars, statistical_value=krw(1_000_000))
    assert not hit("NAR", customs_value=in_dollars)


def test_unit_value_without_its_list_never_matches() -> None:
    rule = UnitValue(UnitValueBasis.PER_KG, UnitValueComparison.BELOW_BAND, "namedLists/missing")

    assert hits_of(criterion("band", rule), decl=_tshirts(1)) == []


@pytest.mark.parametrize(
    ("description", "keywords", "match_all", "expected"),
    [
        ("MOBILE PHONES, used", ("phones",), False, True),
        ("\uff2d\uff4f\uff42\uff49\uff4c\uff45 phones", ("mobile",), False, True),  # NFKC
        ("microphones", ("phones",), False, False),  # whole words only
        ("smart phone cases", ("phone cases",), False, True),  # a phrase
        ("phone and cases", ("phone cases",), False, False),
        ("cotton t-shirts", ("cotton", "silk"), False, True),
        ("cotton t-shirts", ("cotton", "silk"), True, False),
        ("", ("cotton",), False, False),
    ],
)
def test_description_keywords_match_whole_words_in_any_case(
    description: str, keywords: tuple[str, ...], match_all: bool, expected: bool
) -> None:
    decl = declaration(item(description=description))
    rule = criterion("words", DescriptionKeywords(keywords, match_all))

    assert bool(hits_of(rule, decl=decl)) is expected


def test_named_lists_match_entries_and_commodity_prefixes() -> None:
    infringers = NamedList(
        "namedLists/infringers", NamedListKind.COMPANIES, entries=frozenset({"0VKY2BR"})
    )
    phones = NamedList("namedLists/phones", NamedListKind.COMMODITIES, entries=frozenset({"8517"}))
    lists = (infringers, phones)

    assert hits_of(
        criterion("seller", InNamedList(CodeElement.SELLER, infringers.name)),
        criterion("hs", InNamedList(CodeElement.ITEM_HS_CODE, phones.name)),
        criterion("absent", InNamedList(CodeElement.IMPORTER, "namedLists/unknown")),
        decl=TWO_ITEMS,
        named_lists=lists,
    ) == [("criteria/hs", 2), ("criteria/seller", 0)]


def test_codes_equal_compares_two_elements_and_none_of_makes_it_differ() -> None:
    same = CodesEqual(CodeElement.ITEM_ORIGIN_COUNTRY, CodeElement.DISPATCH_COUNTRY)
    decl = replace(TWO_ITEMS, dispatch_country_code="VN")

    assert hits_of(criterion("same", same), decl=decl) == [("criteria/same", 1)]
    assert hits_of(criterion("differs", NoneOf((same,))), decl=decl) == [("criteria/differs", 2)]


def test_any_attached_document_type_satisfies_the_document_element() -> None:
    certificate = CodeIn(CodeElement.ITEM_DOCUMENT_TYPE, frozenset({"N954"}))
    documents = (ItemDocument("N380", "INV-1"), ItemDocument("N954", "CO-77", "VN"))
    decl = declaration(item(1, documents=documents), item(2))

    assert hits_of(criterion("with", certificate), decl=decl) == [("criteria/with", 1)]
    assert hits_of(criterion("without", NoneOf((certificate,))), decl=decl) == [
        ("criteria/without", 2)
    ]


# --- combinations ------------------------------------------------------------------


def test_item_conditions_of_an_all_of_must_hold_on_the_same_item() -> None:
    tshirts = HsCodePrefix(("6109",))
    chinese = CodeIn(CodeElement.ITEM_ORIGIN_COUNTRY, frozenset({"CN"}))

    # Item 1 is a Vietnamese T-shirt, item 2 a Chinese phone: no Chinese T-shirt.
    assert hits_of(criterion("and", AllOf((tshirts, chinese))), decl=TWO_ITEMS) == []
    assert hits_of(criterion("or", AnyOf((tshirts, chinese))), decl=TWO_ITEMS) == [
        ("criteria/or", 1),
        ("criteria/or", 2),
    ]
    assert hits_of(criterion("not", NoneOf((tshirts,))), decl=TWO_ITEMS) == [("criteria/not", 2)]


def test_header_conditions_combine_with_item_conditions_per_item() -> None:
    rule = AllOf(
        (
            CodeIn(CodeElement.OFFICE, frozenset({"30"})),
            CodeIn(CodeElement.TRANSPORT_MODE, frozenset({"10"})),
            HsCodePrefix(("8517",)),
        )
    )

    assert hits_of(criterion("mixed", rule), decl=TWO_ITEMS) == [("criteria/mixed", 2)]
    assert hits_of(criterion("mixed", rule), decl=replace(TWO_ITEMS, office_code="40")) == []


def test_a_header_only_none_of_is_evaluated_once() -> None:
    not_air = NoneOf((CodeIn(CodeElement.TRANSPORT_MODE, frozenset({"40"})),))

    assert hits_of(criterion("sea", not_air), decl=TWO_ITEMS) == [("criteria/sea", 0)]


# --- validity ----------------------------------------------------------------------


def test_expired_and_not_yet_valid_criteria_never_match() -> None:
    everything = HsCodePrefix(("44",))
    hour = timedelta(hours=1)

    assert hits_of(criterion("expired", everything, valid_until=LODGED - hour)) == []
    assert hits_of(criterion("ends-at-lodgement", everything, valid_until=LODGED)) == []
    assert hits_of(criterion("future", everything, valid_from=LODGED + hour)) == []
    assert hits_of(
        criterion("current", everything, valid_from=LODGED, valid_until=LODGED + hour)
    ) == [("criteria/current", 1)]


# --- the decision ------------------------------------------------------------------

_EVERYTHING = HsCodePrefix(("44",))


def test_nothing_selected_is_green_with_no_risk() -> None:
    decision = assess(rules(), declaration(), SEED)

    assert decision.channel is Channel.GREEN
    assert decision.examination_level is ExaminationLevel.NONE
    assert (decision.criterion_hits, decision.risk_score, decision.refer_to_audit) == (
        (),
        0.0,
        False,
    )


@pytest.mark.parametrize(
    ("channels", "expected"),
    [
        ((Channel.BLUE,), Channel.BLUE),
        ((Channel.BLUE, Channel.YELLOW), Channel.YELLOW),
        ((Channel.YELLOW, Channel.RED, Channel.BLUE), Channel.RED),
        ((Channel.BLUE, Channel.RED), Channel.RED),
    ],
)
def test_the_channel_follows_precedence_red_yellow_blue_green(
    channels: tuple[Channel, ...], expected: Channel
) -> None:
    criteria = [criterion(f"c{i}", _EVERYTHING, channel=c) for i, c in enumerate(channels)]

    assert assess(rules(*criteria), declaration(), SEED).channel is expected


def test_the_highest_examination_level_wins_and_blue_still_refers_to_audit() -> None:
    decision = assess(
        rules(
            criterion("sample", _EVERYTHING, level=ExaminationLevel.COMMERCIAL_SAMPLE),
            criterion("narcotics", _EVERYTHING, level=ExaminationLevel.ENFORCEMENT),
            criterion("audit", _EVERYTHING, channel=Channel.BLUE),
        ),
        declaration(),
        SEED,
    )

    assert (decision.channel, decision.examination_level) == (
        Channel.RED,
        ExaminationLevel.ENFORCEMENT,
    )
    assert decision.refer_to_audit


def test_a_yellow_treatment_can_also_refer_to_audit() -> None:
    decision = assess(
        rules(criterion("invoice", _EVERYTHING, channel=Channel.YELLOW, also_refer_to_audit=True)),
        declaration(),
        SEED,
    )

    assert (decision.channel, decision.refer_to_audit) == (Channel.YELLOW, True)


def test_documents_are_merged_per_type_over_the_items_that_need_them() -> None:
    invoice = DocumentRequirement("N380", "Commercial invoice")
    origin = DocumentRequirement("N954", "Certificate of origin")
    decision = assess(
        rules(
            criterion(
                "per-item",
                HsCodePrefix(("61", "85")),
                channel=Channel.YELLOW,
                documents=(origin,),
            ),
            criterion(
                "whole",
                CodeIn(CodeElement.OFFICE, frozenset({"30"})),
                channel=Channel.YELLOW,
                documents=(invoice, origin),
            ),
        ),
        TWO_ITEMS,
        SEED,
    )

    checks = {c.document.document_type_code: c.item_numbers for c in decision.documents_to_check}
    assert checks == {"N954": (), "N380": ()}
    per_item_only = assess(
        rules(
            criterion(
                "per-item", HsCodePrefix(("61", "85")), channel=Channel.YELLOW, documents=(origin,)
            )
        ),
        TWO_ITEMS,
        SEED,
    )
    assert [(c.document, c.item_numbers) for c in per_item_only.documents_to_check] == [
        (origin, (1, 2))
    ]


def test_instructions_name_the_item_and_never_the_logic() -> None:
    decision = assess(
        rules(
            criterion(
                "phones",
                HsCodePrefix(("8517",)),
                instructions="Count the handsets and compare with the invoice.",
            )
        ),
        TWO_ITEMS,
        SEED,
    )

    assert [(i.item_number, i.text) for i in decision.examiner_instructions] == [
        (2, "Count the handsets and compare with the invoice.")
    ]


def test_the_risk_score_is_101_minus_the_best_priority_among_all_hits() -> None:
    decision = assess(
        rules(
            criterion("urgent", _EVERYTHING, priority=5, percent=0),
            criterion("routine", _EVERYTHING, priority=60),
        ),
        declaration(),
        SEED,
    )

    assert decision.risk_score == 96.0
    assert [hit.outcome for hit in decision.criterion_hits] == [
        HitOutcome.NOT_DRAWN,
        HitOutcome.SELECTED,
    ]


def test_mandatory_and_approved_trader_scope_are_recorded_with_the_hit() -> None:
    excluded = criterion(
        "excluded", _EVERYTHING, mandatory=True, approved_traders=ApprovedTraderScope.EXCLUDED
    )

    not_approved = assess(rules(excluded), declaration(), SEED)
    approved = assess(rules(excluded), declaration(), SEED, importer_approved=True)

    assert not_approved.criterion_hits[0].mandatory
    assert not_approved.channel is Channel.RED
    assert approved.criterion_hits[0].outcome is HitOutcome.APPROVED_TRADER_EXCLUDED
    assert approved.channel is Channel.GREEN


# --- selection draws ---------------------------------------------------------------


def test_the_draw_is_reproducible_and_depends_on_the_secret_seed() -> None:
    rule = rules(criterion("half", _EVERYTHING, percent=50))
    declarations = list(numbered(200))

    def outcomes(seed: SelectionSeed) -> list[HitOutcome]:
        return [assess(rule, d, seed).criterion_hits[0].outcome for d in declarations]

    assert outcomes(SEED) == outcomes(SelectionSeed(b"unit-test-selection-seed-0123456789"))
    assert outcomes(SEED) != outcomes(SelectionSeed(b"another-secret-selection-seed-42"))


def test_a_30_percent_criterion_selects_30_percent_of_10000_declarations() -> None:
    rule = rules(criterion("thirty", CodeIn(CodeElement.OFFICE, frozenset({"30"})), percent=30))

    selected = sum(assess(rule, d, SEED).channel is Channel.RED for d in numbered(10_000))

    assert 2_800 <= selected <= 3_200


def test_each_item_hit_gets_its_own_draw_recorded_in_the_explanation() -> None:
    rule = rules(criterion("hs", HsCodePrefix(("44",)), percent=50))
    decl = declaration(*(item(n) for n in range(1, 41)))

    evaluation = evaluate(rule, decl, SEED, explain=True)

    draws = [e.draw for e in evaluation.criterion_evaluations]
    assert len(set(draws)) == 40
    assert all(0.0 <= draw < 1.0 for draw in draws)
    assert {e.hit.outcome for e in evaluation.criterion_evaluations} == {
        HitOutcome.SELECTED,
        HitOutcome.NOT_DRAWN,
    }
    for e in evaluation.criterion_evaluations:
        assert (e.hit.outcome is HitOutcome.SELECTED) == (e.draw < e.threshold)


def test_zero_percent_only_monitors_and_a_hundred_percent_always_selects() -> None:
    decisions = [
        assess(
            rules(
                criterion("monitor", _EVERYTHING, percent=0),
                criterion("always", _EVERYTHING, percent=100, channel=Channel.YELLOW),
            ),
            d,
            SEED,
        )
        for d in numbered(300)
    ]

    assert all(d.channel is Channel.YELLOW for d in decisions)
    assert all(
        {h.criterion: h.outcome for h in d.criterion_hits}["criteria/monitor"]
        is HitOutcome.NOT_DRAWN
        for d in decisions
    )


def test_the_seed_is_never_shown() -> None:
    seed = SelectionSeed(b"a-secret-that-must-not-leak")

    assert "a-secret" not in repr(seed)
    assert "a-secret" not in seed.seed_id


# --- explanations ------------------------------------------------------------------


def test_an_explanation_lists_every_leaf_with_its_path_and_observed_value() -> None:
    rule = AllOf(
        (
            CodeIn(CodeElement.OFFICE, frozenset({"30"})),
            AnyOf(
                (
                    HsCodePrefix(("8517",)),
                    CodeIn(CodeElement.ITEM_ORIGIN_COUNTRY, frozenset({"KP"})),
                )
            ),
        )
    )

    evaluation = evaluate(rules(criterion("phones", rule)), TWO_ITEMS, SEED, explain=True)

    [explained] = evaluation.criterion_evaluations
    assert explained.hit.item_number == 2
    assert [(r.path, r.observed_value, r.result) for r in explained.predicate_results] == [
        ("all_of[0]", "30", True),
        ("all_of[1].any_of[0]", "851713", True),
        ("all_of[1].any_of[1]", "CN", False),
    ]
    assert explained.predicate_results[1].test == "HS code starts with 8517"
    assert any("RED" in step for step in evaluation.steps)


# --- validation --------------------------------------------------------------------


def test_an_unknown_currency_is_refused_naming_the_field() -> None:
    decl = declaration(item(1), item(2, customs_value=Money("XYZ", Decimal(10))))

    with pytest.raises(InvalidArgument) as raised:
        check_currencies(decl)

    assert raised.value.reason == "UNKNOWN_CURRENCY"
    assert [v.field for v in raised.value.field_violations] == [
        "declaration.items[1].customs_value.currency_code"
    ]


def test_known_currencies_pass() -> None:
    check_currencies(declaration(item(customs_value=Money("EUR", Decimal(1)))))
