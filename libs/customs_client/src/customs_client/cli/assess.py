"""`customs assess`: a CSV of declarations through the bulk assessment stream."""

from __future__ import annotations

import csv
from collections.abc import Iterator, Sequence
from pathlib import Path

import typer
from customs.scoring.v1 import assessment_pb2, declaration_pb2, scoring_service_pb2
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from customs_client.cli.common import client, done, enum_label, enum_of, error_console
from customs_client.declarations import read_declarations_csv

#: The header of a decisions file, as the contract of `customs assess` fixes it.
DECISIONS_HEADER = ("Declaration ID", "channel", "score", "reasons")
# The Assessment field carrying the risk model's probability; unset (an empty
# score column) when no model is active.
_MODEL_SCORE_FIELD = "risk_model_score"
_CHANNEL = enum_of(assessment_pb2.Assessment, "channel")
_RANDOM_KIND = enum_of(assessment_pb2.RandomDraw, "kind")
_REASON_OUTCOMES = (assessment_pb2.HIT_OUTCOME_SELECTED, assessment_pb2.HIT_OUTCOME_DOWNGRADED)


def assess(
    ctx: typer.Context,
    file: Path = typer.Argument(..., help="CSV in the public data set's columns.", exists=False),
    out: Path = typer.Option(..., "--out", help="Where to write the decisions CSV."),
) -> None:
    """Assess every declaration of FILE and write one decision per declaration to --out.

    The outcome columns (Fraud, Critical Fraud) are ignored if present. The file
    is checked whole first: a missing column or a value that is not a number
    stops the command before any declaration is sent.
    """
    declarations = read_declarations_csv(file)
    scoring = client(ctx).scoring
    refused = 0
    with (
        out.open("w", newline="", encoding="utf-8") as handle,
        Progress(
            TextColumn("assessing"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeRemainingColumn(),
            console=error_console,
            transient=True,
        ) as progress,
    ):
        task = progress.add_task("assess", total=len(declarations))
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(DECISIONS_HEADER)
        for answer in scoring.AssessDeclarations(_requests(declarations)):
            progress.advance(task)
            if answer.WhichOneof("result") == "error":
                refused += 1
                _report(answer)
                continue
            writer.writerow(decision_row(answer.assessment))
    done(f"{len(declarations) - refused} decisions written to {out}")
    if refused:
        error_console.print(f"error: {refused} declarations refused", highlight=False)
        raise typer.Exit(1)


def _requests(
    declarations: Sequence[declaration_pb2.Declaration],
) -> Iterator[scoring_service_pb2.AssessDeclarationsRequest]:
    for declaration in declarations:
        yield scoring_service_pb2.AssessDeclarationsRequest(declaration=declaration)


def _report(answer: scoring_service_pb2.AssessDeclarationsResponse) -> None:
    error = answer.error
    text = f"error: Declaration ID {answer.declaration_number}: {error.reason}: {error.message}"
    for violation in error.field_violations:
        text += f"\n  field {violation.field}: {violation.description}"
    error_console.print(text, highlight=False, markup=False)


def decision_row(assessment: assessment_pb2.Assessment) -> list[str]:
    """The decisions-file row of one assessment."""
    return [
        assessment.declaration.declaration_number,
        enum_label(_CHANNEL, assessment.channel),
        model_score(assessment),
        "; ".join(reasons(assessment)),
    ]


def model_score(assessment: assessment_pb2.Assessment) -> str:
    """The model's probability, or "" when no model scored the declaration."""
    if not assessment.HasField(_MODEL_SCORE_FIELD):
        return ""
    return f"{assessment.risk_model_score:.6f}"


def reasons(assessment: assessment_pb2.Assessment) -> list[str]:
    """Why the declaration got its channel: criteria, random draws, capacity downgrades, and
    the model's largest feature contributions (recorded unless GREEN)."""
    found: list[str] = []
    for hit in assessment.criterion_hits:
        if hit.outcome in _REASON_OUTCOMES:
            text = f"{hit.criterion}: {hit.title}" if hit.title else hit.criterion
            if text not in found:
                found.append(text)
    for draw in assessment.random_draws:
        if draw.selected:
            found.append(f"random {enum_label(_RANDOM_KIND, draw.kind).lower().replace('_', ' ')}")
    for downgrade in assessment.capacity_downgrades:
        found.append(
            f"downgraded {enum_label(_CHANNEL, downgrade.from_channel)} to "
            f"{enum_label(_CHANNEL, downgrade.to_channel)} by {downgrade.capacity_policy}"
        )
    for reason in assessment.risk_reasons:
        found.append(f"{assessment.risk_model} {reason.feature} {reason.contribution:+.3f}")
    return [text.replace(";", ",") for text in found]
