"""The compiled engine on the data set, rule files for the bench, and the risk-model score.

The engine must give exactly the reference evaluator's decisions (hits,
draws, reasons) on the data set's declarations for rule sets of every
predicate kind: the bench's generated shapes (codes, HS prefixes, numeric
ranges, unit values, keywords, named lists, none_of, any_of), issue 13's
shape, and criteria on codes_equal, item documents and the risk score.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from pathlib import Path

import pytest
from customs.common.v1 import selection_rule_pb2 as rule_pb2
from customs.criteria.v1 import criterion_pb2
from generated_rules import DataProfile, generate_criteria, generate_named_lists
from rule_files import RuleFileError, read_rules, write_rules
from scoring_builders import SEED, criterion, dataset_messages, declaration, rules
from shaped_rules import shaped_rules

from scoring.adapters.codec import (
    criterion_from_proto,
    declaration_from_proto,
    named_list_from_proto,
    predicate_from_proto,
)
from scoring.domain.draws import SelectionSeed
from scoring.domain.engine import SelectivityEngine
from scoring.domain.evaluator import evaluate
from scoring.domain.rules import (
    AllOf,
    Channel,
    CodeElement,
    CodeIn,
    CodesEqual,
    HsCodePrefix,
    NoneOf,
    RiskModelScore,
    RulesSnapshot,
)

_SCORES = (None, 0.1, 0.85)


def test_the_engine_decides_as_the_evaluator_on_the_data_set_for_every_predicate_kind() -> None:
    messages = dataset_messages(400)
    profile = DataProfile.of(messages)
    generated = [criterion_from_proto(c) for c in generate_criteria(300, profile, seed=5)]
    shaped = [criterion_from_proto(c) for c in _active(shaped_rules(300, messages[:200], seed=3))]
    extra = [
        criterion(
            "origin-is-dispatch",
            CodesEqual(CodeElement.ITEM_ORIGIN_COUNTRY, CodeElement.DISPATCH_COUNTRY),
        ),
        criterion(
            "not-korean", NoneOf((CodeIn(CodeElement.ITEM_ORIGIN_COUNTRY, frozenset({"KR"})),))
        ),
        criterion("risky", RiskModelScore(minimum=0.8), percent=50.0),
        criterion("risky-wood", AllOf((HsCodePrefix(("44",)), RiskModelScore(maximum=0.5)))),
    ]
    snapshot = RulesSnapshot.of(
        1,
        [*generated, *shaped, *extra],
        [named_list_from_proto(n) for n in generate_named_lists(profile)],
    )
    engine = SelectivityEngine.compile(snapshot)
    hits = 0

    for number, message in enumerate(messages[200:]):
        lodged = declaration_from_proto(message)
        score = _SCORES[number % len(_SCORES)]
        approved = number % 5 == 0
        expected = evaluate(
            snapshot, lodged, SEED, importer_approved=approved, explain=True, risk_score=score
        )
        assert (
            engine.evaluate(
                lodged, SEED, importer_approved=approved, explain=True, risk_score=score
            )
            == expected
        )
        assert engine.assess(lodged, SEED, importer_approved=approved, risk_score=score) == (
            expected.decision
        )
        hits += len(expected.decision.criterion_hits)
    assert hits > 500


def _active(selection_rules: list[rule_pb2.SelectionRule]) -> list[criterion_pb2.ActiveCriterion]:
    return [
        criterion_pb2.ActiveCriterion(name=f"criteria/shaped-{n}", revision=1, title="s", rule=r)
        for n, r in enumerate(selection_rules)
    ]


def test_a_score_criterion_selects_only_with_a_score_at_its_bound() -> None:
    high_risk = criterion("high-risk", RiskModelScore(minimum=0.8), channel=Channel.RED)
    snapshot = rules(high_risk)
    engine = SelectivityEngine.compile(snapshot)

    for score, channel in ((0.8, Channel.RED), (0.95, Channel.RED), (0.79, Channel.GREEN)):
        assert engine.assess(declaration(), SEED, risk_score=score).channel is channel
    assert engine.assess(declaration(), SEED).channel is Channel.GREEN
    assert evaluate(snapshot, declaration(), SEED).decision.criterion_hits == ()
    explained = evaluate(snapshot, declaration(), SEED, risk_score=0.9, explain=True)
    (reason,) = explained.criterion_evaluations[0].predicate_results
    assert (reason.test, reason.observed_value) == ("risk model score is at least 0.8", "0.9")


def test_the_score_predicate_reads_from_the_contract() -> None:
    message = rule_pb2.Predicate(risk_model_score=rule_pb2.RiskModelScorePredicate(min=0.8))

    assert predicate_from_proto(message) == RiskModelScore(minimum=0.8, maximum=None)


def test_draws_are_hmac_sha256_of_the_seed_for_short_and_long_seeds() -> None:
    for secret in (b"s" * 16, b"k" * 64, b"long" * 40):
        seed = SelectionSeed(secret)
        message = b"criterion\x1fcriteria/a\x1f3\x1fD1\x1f2\x1f4"
        digest = hmac.new(secret, message, hashlib.sha256).digest()
        expected = (int.from_bytes(digest[:8], "big") >> 11) / float(1 << 53)

        assert seed.criterion_draw("criteria/a", 3, "D1", 2, 4) == expected


def test_a_rules_file_of_the_issue_shape_is_read_back_one_criterion_per_line(
    tmp_path: Path,
) -> None:
    written = shaped_rules(40, dataset_messages(100))
    path = tmp_path / "shaped.jsonl"
    write_rules(path, written)

    criteria = read_rules(path)

    assert [c.name for c in criteria] == [f"criteria/{line}" for line in range(1, 41)]
    assert [c.rule for c in criteria] == written
    engine = SelectivityEngine.compile(
        RulesSnapshot.of(1, [criterion_from_proto(c) for c in criteria], [])
    )
    lodged = [declaration_from_proto(m) for m in dataset_messages(100)]
    assert sum(len(engine.assess(d, SEED).criterion_hits) for d in lodged) > 0


def _line(condition: dict[str, object]) -> str:
    return json.dumps(
        {
            "condition": condition,
            "treatment": {"channel": "CHANNEL_BLUE"},
            "selectionPercent": 100,
            "approvedTraders": "APPROVED_TRADER_SCOPE_INCLUDED",
            "priority": 5,
            "examinerInstructions": "Audit.",
        }
    )


_HS = {"predicate": {"hsCodePrefix": {"prefixes": ["44"]}}}


@pytest.mark.parametrize(
    ("predicate", "reason"),
    [
        (
            {"inNamedList": {"element": "CODE_ELEMENT_IMPORTER", "namedList": "namedLists/watch"}},
            "names the list namedLists/watch",
        ),
        (
            {
                "unitValue": {
                    "basis": "UNIT_VALUE_BASIS_PER_KG",
                    "comparison": "UNIT_VALUE_COMPARISON_BELOW_BAND",
                    "namedList": "namedLists/bands",
                }
            },
            "names the list namedLists/bands",
        ),
    ],
)
def test_a_rule_naming_a_named_list_is_refused_with_its_line_number(
    tmp_path: Path, predicate: dict[str, object], reason: str
) -> None:
    path = tmp_path / "rules.jsonl"
    listed = {"allOf": {"conditions": [_HS, {"predicate": predicate}]}}
    path.write_text("\n".join([_line(_HS), _line(_HS), _line(listed)]) + "\n")

    with pytest.raises(RuleFileError, match=re.escape(f"rules.jsonl:3: {reason}")) as refused:
        read_rules(path)
    assert refused.value.line == 3


def test_a_rule_against_the_contract_is_refused_with_its_line_number(tmp_path: Path) -> None:
    path = tmp_path / "rules.jsonl"
    out_of_range = {"predicate": {"riskModelScore": {"min": 1.5}}}
    path.write_text(_line(_HS) + "\n" + _line(out_of_range) + "\n")

    with pytest.raises(RuleFileError, match=r"rules.jsonl:2: .*risk_model_score\.min") as refused:
        read_rules(path)
    assert refused.value.line == 2


def test_a_line_that_is_not_a_rule_is_refused_with_its_line_number(tmp_path: Path) -> None:
    path = tmp_path / "rules.jsonl"
    path.write_text(_line(_HS) + '\n{"condition": 3}\n')

    with pytest.raises(RuleFileError, match=r"rules\.jsonl:2: not a SelectionRule"):
        read_rules(path)
