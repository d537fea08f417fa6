"""Rule sets passed with ``--rules``: JSON lines of ``customs.common.v1.SelectionRule``.

One criterion per line in protobuf JSON, all active; its line number is its
id (``criteria/{line}``). Every line is checked against the contract's
protovalidate rules. Rules that name a named list (``in_named_list``,
``unit_value``) are refused: the file carries no lists to resolve them.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from pathlib import Path

import protovalidate
from customs.common.v1 import selection_rule_pb2 as rule_pb2
from customs.criteria.v1 import criterion_pb2
from google.protobuf import json_format


class RuleFileError(ValueError):
    """A line of a rules file that cannot be used, named by its number."""

    def __init__(self, path: Path, line: int, reason: str) -> None:
        super().__init__(f"{path}:{line}: {reason}")
        self.line = line


def read_rules(path: Path) -> list[criterion_pb2.ActiveCriterion]:
    """The active criteria of ``path``; raises ``RuleFileError`` at the first unusable line."""
    criteria = []
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                rule = json_format.Parse(line, rule_pb2.SelectionRule())
            except json_format.ParseError as error:
                raise RuleFileError(path, number, f"not a SelectionRule: {error}") from error
            violations = protovalidate.collect_violations(rule)
            if violations:
                first = violations[0].proto
                field = ".".join(element.field_name for element in first.field.elements)
                raise RuleFileError(path, number, f"{field}: {first.message} ({first.rule_id})")
            listed = _named_list(rule.condition)
            if listed:
                raise RuleFileError(
                    path, number, f"names the list {listed}, and a rules file carries no lists"
                )
            criteria.append(
                criterion_pb2.ActiveCriterion(
                    name=f"criteria/{number}",
                    revision=1,
                    title=f"{path.name} line {number}",
                    rule=rule,
                )
            )
    return criteria


def write_rules(path: Path, rules: Iterable[rule_pb2.SelectionRule]) -> None:
    """Writes ``rules`` one per line, as ``read_rules`` reads them."""
    with path.open("w", encoding="utf-8") as handle:
        for rule in rules:
            handle.write(json.dumps(json_format.MessageToDict(rule), separators=(",", ":")))
            handle.write("\n")


def _named_list(condition: rule_pb2.Condition) -> str:
    """The first named list the tree refers to, or "" when it names none."""
    for node in _nodes(condition):
        if node.HasField("predicate"):
            predicate = node.predicate
            if predicate.HasField("in_named_list"):
                return predicate.in_named_list.named_list
            if predicate.HasField("unit_value"):
                return predicate.unit_value.named_list
    return ""


def _nodes(condition: rule_pb2.Condition) -> Iterator[rule_pb2.Condition]:
    yield condition
    kind = condition.WhichOneof("kind")
    if kind in ("all_of", "any_of", "none_of"):
        for child in getattr(condition, kind).conditions:
            yield from _nodes(child)
