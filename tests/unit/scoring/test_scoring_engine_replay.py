"""Decisions stored by the engine before its rewrite still replay identically.

``fixtures/engine_v1_decisions.json`` holds decision records (the stored
form, ``decision_record``) that the indexed engine of engine version 1 took
before the rewrite into a compiled engine, on synthetic declarations, under
127 criteria of every predicate kind (the bench's generated shapes, plus
codes_equal, document types, header sums, duties and validity windows) and
their named lists, with the unit tests' seed. ``ExplainAssessment`` replays a
decision with the reference evaluator; the service assesses with the engine:
both must give back every stored decision, hit for hit.
"""

from __future__ import annotations

import base64
import json
from dataclasses import replace
from functools import cache
from pathlib import Path

from customs.criteria.v1 import criterion_pb2, named_list_pb2
from google.protobuf import json_format
from scoring_builders import SEED

from scoring.adapters.codec import (
    assessment_from_record,
    criterion_from_proto,
    decision_record,
    named_list_from_proto,
)
from scoring.domain.assessment import ENGINE_VERSION, Assessment, decision_differences
from scoring.domain.engine import SelectivityEngine
from scoring.domain.evaluator import evaluate
from scoring.domain.rules import RulesSnapshot

_FIXTURE = Path(__file__).parent / "fixtures" / "engine_v1_decisions.json"


@cache
def _stored() -> tuple[RulesSnapshot, tuple[Assessment, ...]]:
    fixture = json.loads(_FIXTURE.read_text())
    criteria = [
        criterion_from_proto(json_format.ParseDict(entry, criterion_pb2.ActiveCriterion()))
        for entry in fixture["criteria"]
    ]
    named_lists = [
        named_list_from_proto(json_format.ParseDict(entry, named_list_pb2.NamedList()))
        for entry in fixture["named_lists"]
    ]
    assessments = tuple(
        assessment_from_record(
            f"stored-{number}",
            base64.b64decode(entry["content"]),
            base64.b64decode(entry["record"]),
        )
        for number, entry in enumerate(fixture["assessments"])
    )
    return RulesSnapshot.of(1, criteria, named_lists), assessments


def test_the_stored_decisions_were_taken_by_engine_version_1_with_the_unit_test_seed() -> None:
    _, assessments = _stored()

    assert {assessment.replay.engine_version for assessment in assessments} == {"1"}
    assert {assessment.replay.seed_id for assessment in assessments} == {SEED.seed_id}
    assert ENGINE_VERSION == "1"
    assert sum(len(a.decision.criterion_hits) for a in assessments) > 5_000


def test_the_reference_evaluator_replays_every_stored_decision_identically() -> None:
    snapshot, assessments = _stored()

    for assessment in assessments:
        decision = assessment.decision
        replay = evaluate(
            snapshot,
            assessment.declaration,
            SEED,
            importer_approved=decision.importer_approved_trader,
            explain=True,
        ).decision
        assert decision_differences(decision, replay) == []
        assert replay == decision


def test_the_compiled_engine_takes_every_stored_decision_again() -> None:
    snapshot, assessments = _stored()
    engine = SelectivityEngine.compile(snapshot)

    for assessment in assessments:
        decision = assessment.decision
        assert (
            engine.assess(
                assessment.declaration, SEED, importer_approved=decision.importer_approved_trader
            )
            == decision
        )


def test_a_lazily_built_decision_stores_the_record_and_reasons_of_the_eager_one() -> None:
    snapshot, assessments = _stored()
    engine = SelectivityEngine.compile(snapshot)

    for assessment in assessments:
        approved = assessment.decision.importer_approved_trader
        eager = evaluate(
            snapshot, assessment.declaration, SEED, importer_approved=approved, explain=True
        )
        lazy = engine.assess(assessment.declaration, SEED, importer_approved=approved)
        explained = engine.evaluate(
            assessment.declaration, SEED, importer_approved=approved, explain=True
        )
        assert decision_record(replace(assessment, decision=lazy)) == decision_record(assessment)
        assert decision_record(replace(assessment, decision=eager.decision)) == (
            decision_record(assessment)
        )
        assert explained.criterion_evaluations == eager.criterion_evaluations
        assert explained.steps == eager.steps
