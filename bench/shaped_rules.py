"""Criteria of issue 13's shape, generated differently from ``generated_rules``.

Each criterion is an HS prefix of 2 to 6 digits plus one or two equality
conditions on the origin, dispatch country, importer, declarant, office or
tax type, and 30 % of them also bound the item's customs value. Every
criterion is written from one item of a training declaration (the prefix of
its HS code, its own codes, a bound around its value), so criteria fall where
the goods are, and it is then measured on held-out declarations.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence

from customs.common.v1 import selection_rule_pb2 as rule_pb2
from customs.scoring.v1 import declaration_pb2

Condition = rule_pb2.Condition

_Item = declaration_pb2.DeclarationItem
_Declaration = declaration_pb2.Declaration

#: The equality conditions, by element, reading the training declaration's value.
_EQUALITIES: tuple[tuple[str, Callable[[_Declaration, _Item], str]], ...] = (
    ("ITEM_ORIGIN_COUNTRY", lambda _, item: item.origin_country_code),
    ("DISPATCH_COUNTRY", lambda declaration, _: declaration.dispatch_country_code),
    ("IMPORTER", lambda declaration, _: declaration.importer.id),
    ("DECLARANT", lambda declaration, _: declaration.declarant.id),
    ("OFFICE", lambda declaration, _: declaration.office_code),
    ("ITEM_TAX_TYPE", lambda _, item: item.tax_type_code),
)
_VALUE_BOUND_SHARE = 0.3
_TREATMENTS = (
    rule_pb2.Treatment(channel="CHANNEL_RED", examination_level="EXAMINATION_LEVEL_FULL"),
    rule_pb2.Treatment(
        channel="CHANNEL_RED", examination_level="EXAMINATION_LEVEL_COMMERCIAL_SAMPLE"
    ),
    rule_pb2.Treatment(
        channel="CHANNEL_YELLOW",
        documents_to_check=[
            rule_pb2.DocumentRequirement(document_type_code="N380", description="Invoice")
        ],
    ),
    rule_pb2.Treatment(channel="CHANNEL_BLUE"),
)


def _predicate(**test: object) -> Condition:
    return Condition(predicate=rule_pb2.Predicate(**test))  # type: ignore[arg-type]


def _condition(rng: random.Random, declaration: _Declaration, item: _Item) -> Condition:
    length = rng.randint(2, 6)
    conditions = [
        _predicate(hs_code_prefix=rule_pb2.HsCodePrefixPredicate(prefixes=[item.hs_code[:length]]))
    ]
    for element, read in rng.sample(_EQUALITIES, rng.randint(1, 2)):
        value = read(declaration, item)
        if value:
            conditions.append(
                _predicate(
                    code_in=rule_pb2.CodeInPredicate(
                        element=f"CODE_ELEMENT_{element}", values=[value]
                    )
                )
            )
    if rng.random() < _VALUE_BOUND_SHARE:
        value = item.customs_value.units + item.customs_value.nanos / 1e9
        bound = rule_pb2.NumericRangePredicate(
            element="NUMERIC_ELEMENT_ITEM_CUSTOMS_VALUE",
            currency_code=item.customs_value.currency_code,
        )
        if rng.random() < 0.5:
            bound.min = round(value * rng.uniform(0.2, 1.0), 2)
        else:
            bound.max = round(value * rng.uniform(1.0, 5.0), 2)
        conditions.append(_predicate(numeric_range=bound))
    return Condition(all_of=rule_pb2.ConditionList(conditions=conditions))


def shaped_rules(
    count: int, training: Sequence[_Declaration], seed: int = 13
) -> list[rule_pb2.SelectionRule]:
    """``count`` selection rules of the issue's shape, the same for the same data and seed."""
    rng = random.Random(seed)
    with_items = [declaration for declaration in training if declaration.items]
    rules = []
    for _ in range(count):
        declaration = rng.choice(with_items)
        item = rng.choice(declaration.items)
        rules.append(
            rule_pb2.SelectionRule(
                condition=_condition(rng, declaration, item),
                treatment=rng.choice(_TREATMENTS),
                selection_percent=rng.choice((100.0, 50.0, 20.0, 10.0, 5.0, 1.0)),
                mandatory=rng.random() < 0.05,
                approved_traders=rng.choice(
                    ("APPROVED_TRADER_SCOPE_INCLUDED", "APPROVED_TRADER_SCOPE_EXCLUDED")
                ),
                priority=rng.randint(1, 100),
                examiner_instructions="Examine the goods against the documents.",
            )
        )
    return rules
