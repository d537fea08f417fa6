"""The risk model's encoding never lets a row see its own outcome or the future."""

from __future__ import annotations

from dataclasses import replace

from risk_model_builders import declaration, history, labelled

from scoring.domain.risk_model import LabelledDeclaration
from scoring.domain.risk_model.features import (
    FEATURE_NAMES,
    EncodingTables,
    describe,
    time_ordered_vectors,
)


def _vectors(rows: list[LabelledDeclaration]) -> dict[str, list[float]]:
    ordered = sorted(rows, key=lambda row: row.declaration.lodgement_time)
    described = [describe(row.declaration) for row in ordered]
    tables = EncodingTables.empty(described, smoothing=5.0)
    vectors = time_ordered_vectors(
        [
            (row.declaration, d, row.examined, row.infringement)
            for row, d in zip(ordered, described, strict=True)
        ],
        tables,
    )
    return {
        row.declaration.declaration_number: vector
        for row, vector in zip(ordered, vectors, strict=True)
    }


def _flipped(row: LabelledDeclaration) -> LabelledDeclaration:
    return replace(row, infringement=not row.infringement)


def test_a_rows_own_outcome_does_not_change_its_features() -> None:
    rows = history(count=200, days=30)
    before = _vectors(rows)
    for index in (0, 57, 199):
        changed = list(rows)
        changed[index] = _flipped(rows[index])
        number = rows[index].declaration.declaration_number
        assert _vectors(changed)[number] == before[number]


def test_a_later_or_same_day_row_does_not_change_earlier_features() -> None:
    rows = history(count=200, days=30)
    before = _vectors(rows)
    last_day = max(row.declaration.lodgement_time for row in rows)
    # Flip the outcome of every row of the last day and add rows lodged then and later.
    changed = [_flipped(row) if row.declaration.lodgement_time == last_day else row for row in rows]
    template = rows[0].declaration
    changed += [
        labelled(replace(template, declaration_number=f"LATE{day}", lodgement_time=last_day), True)
        for day in range(3)
    ]
    after = _vectors(changed)
    for row in rows:
        number = row.declaration.declaration_number
        assert after[number] == before[number], number


def test_past_outcomes_of_the_importer_raise_its_rate() -> None:
    past = [labelled(declaration(f"P{day}", day, importer="BAD"), True) for day in range(5)]
    today = labelled(declaration("NOW", 10, importer="BAD"), False)
    other = labelled(declaration("OTHER", 10, importer="NEW"), False)
    vectors = _vectors([*past, today, other])
    rate = FEATURE_NAMES.index("importer_infringement_rate")
    examined = FEATURE_NAMES.index("importer_examined")
    assert vectors["NOW"][examined] == 5
    assert vectors["OTHER"][examined] == 0
    assert vectors["NOW"][rate] > vectors["OTHER"][rate]
    # The very first row has no history: its rate is the neutral prior.
    assert vectors["P0"][examined] == 0


def test_an_unexamined_declaration_counts_as_lodged_but_not_as_an_outcome() -> None:
    rows = [
        labelled(declaration("A", 0, importer="X"), True, examined=False),
        labelled(declaration("B", 1, importer="X"), False),
    ]
    vector = _vectors(rows)["B"]
    assert vector[FEATURE_NAMES.index("importer_declared")] == 1
    assert vector[FEATURE_NAMES.index("importer_examined")] == 0
