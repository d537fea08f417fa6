"""`customs history` and `customs model`: the risk model learnt from examination outcomes.

History import streams past declarations with their outcomes; the service
stores them idempotently by declaration number and version, so an
interrupted import is resumed by running it again. Training runs off scoring's
request path as a long-running operation (start, poll, result).
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from pathlib import Path

import typer
from customs.criteria.v1 import criteria_service_pb2 as governance
from customs.criteria.v1 import risk_model_pb2 as governed
from customs.scoring.v1 import declaration_pb2, risk_model_pb2
from customs.scoring.v1 import scoring_service_pb2 as api
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from customs_client.cli.common import (
    OUTPUT_OPTION,
    InputError,
    Output,
    client,
    done,
    enum_label,
    enum_number,
    enum_of,
    error_console,
    field,
    new_request_id,
    print_listing,
    print_message,
    resource,
)
from customs_client.declarations import read_history_csv
from customs_client.pagination import paginate

history = typer.Typer(help="The archive of past declarations and their examination outcomes.")
model = typer.Typer(
    help="Risk model versions: train, list, show the card, submit, approve (four-eyes)."
)

_TRAINING_STATE = enum_of(risk_model_pb2.RiskModelTraining, "state")
_MODEL_STATE = enum_of(governed.RiskModel, "state")
#: Seconds between two polls of a running training.
POLL_SECONDS = 1.0


@history.command("import")
def import_history(
    ctx: typer.Context,
    file: Path = typer.Argument(..., help="CSV in the public data set's columns, with outcomes."),
) -> None:
    """Stream FILE's declarations with their outcomes (Fraud → infringement found, Critical
    Fraud → its severity). Running it again after an interruption imports only the rest."""
    records = read_history_csv(file)
    with Progress(
        TextColumn("importing"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=error_console,
        transient=True,
    ) as progress:
        task = progress.add_task("import", total=len(records))
        answer = client(ctx).scoring.ImportHistory(_requests(records, progress, task))
    done(
        f"{answer.received} declarations received: {answer.imported} imported, "
        f"{answer.already_imported} already imported"
    )


def _requests(
    records: Sequence[tuple[declaration_pb2.Declaration, risk_model_pb2.HistoryOutcome]],
    progress: Progress,
    task: object,
) -> Iterator[api.ImportHistoryRequest]:
    for declaration, outcome in records:
        yield api.ImportHistoryRequest(declaration=declaration, outcome=outcome)
        progress.advance(task)  # type: ignore[arg-type]


@model.command("train")
def train(
    ctx: typer.Context,
    wait: bool = typer.Option(False, "--wait", help="Follow the training until it ends."),
    validation_months: int = typer.Option(
        0, "--validation-months", help="Most recent months held out (0: the service's default)."
    ),
) -> None:
    """Train a new model version from the history and outcomes scoring holds.

    With --wait, shows progress and prints the version and its validation
    figures; exits 1 if the training fails.
    """
    scoring = client(ctx).scoring
    training = scoring.TrainRiskModel(
        api.TrainRiskModelRequest(request_id=new_request_id(), validation_months=validation_months)
    ).training
    if not wait:
        done(f"{training.name} started; follow it with `customs model train --wait`")
        return
    with Progress(
        TextColumn("training"),
        BarColumn(),
        TextColumn("{task.percentage:>3.0f}% {task.description}"),
        console=error_console,
        transient=True,
    ) as progress:
        task = progress.add_task(training.stage, total=100)
        while training.state == risk_model_pb2.RISK_MODEL_TRAINING_STATE_RUNNING:
            progress.update(task, completed=training.progress_percent, description=training.stage)
            time.sleep(POLL_SECONDS)
            training = scoring.GetRiskModelTraining(
                api.GetRiskModelTrainingRequest(name=training.name)
            ).training
    if training.state != risk_model_pb2.RISK_MODEL_TRAINING_STATE_SUCCEEDED:
        error_console.print(
            f"error: {training.name} {enum_label(_TRAINING_STATE, training.state)}: "
            f"{training.error_reason}: {training.error_message}",
            highlight=False,
            markup=False,
        )
        raise typer.Exit(1)
    done(f"{training.risk_model} trained by {training.trainer}")
    print_figures(training.card)


def print_figures(card: risk_model_pb2.RiskModelCard) -> None:
    """The model card's validation figures, one line each."""
    validation = card.validation
    done(
        f"validated on {validation.validation_rows} declarations "
        f"({validation.validation_start_time.ToJsonString()} to "
        f"{validation.validation_end_time.ToJsonString()}), "
        f"trained on {card.training_rows} ({card.training_positive_rows} infringements)"
    )
    done(
        f"precision@1% {validation.precision_at_1:.3f}  @2% {validation.precision_at_2:.3f}  "
        f"@5% {validation.precision_at_5:.3f}  @10% {validation.precision_at_10:.3f}"
    )
    done(
        f"recall@5% {validation.recall_at_5:.3f}  @10% {validation.recall_at_10:.3f}  "
        f"revenue recall@5% {validation.revenue_recall_at_5:.3f}  AUC {validation.auc:.3f}"
    )


@model.command("show")
def show(
    ctx: typer.Context, version: str = typer.Argument(..., help="riskModels/ID or ID.")
) -> None:
    """The model card of one version: training window, features, validation."""
    card = (
        client(ctx)
        .scoring.GetRiskModelCard(
            api.GetRiskModelCardRequest(risk_model=resource("riskModels", version))
        )
        .card
    )
    print_figures(card)
    print_message(card)


@model.command("list")
def list_models(
    ctx: typer.Context,
    state: str = typer.Option("", "--state", help="e.g. PENDING_APPROVAL, ACTIVE."),
    output: Output = OUTPUT_OPTION,
) -> None:
    """The versions criteria governs, with their validation figures."""
    request = governance.ListRiskModelsRequest(
        state=enum_number(_MODEL_STATE, state, "--state") if state else 0  # type: ignore[arg-type]
    )
    columns = [
        field("name"),
        field("state"),
        field("trainer"),
        field("card.precision_at_5", "precision@5%"),
        field("card.precision_at_10", "precision@10%"),
        field("card.auc", "AUC"),
        field("score_threshold", "threshold"),
        field("approved_by", "approver"),
    ]
    print_listing(paginate(client(ctx).criteria.ListRiskModels, request), columns, output)


def _governed(ctx: typer.Context, version: str) -> governed.RiskModel:
    request = governance.GetRiskModelRequest(name=resource("riskModels", version))
    return client(ctx).criteria.GetRiskModel(request).risk_model  # type: ignore[no-any-return]


@model.command("submit")
def submit(
    ctx: typer.Context,
    version: str = typer.Argument(..., help="riskModels/ID or ID."),
    threshold: float = typer.Option(
        ..., "--threshold", help="Score from which the impact analysis counts a selection."
    ),
    lookback_days: int = typer.Option(30, "--lookback-days"),
    reason: str = typer.Option(..., "--reason"),
) -> None:
    """Impact-analyse a trained version and put it up for approval by a second person."""
    current = _governed(ctx, version)
    submitted = (
        client(ctx)
        .criteria.SubmitRiskModel(
            governance.SubmitRiskModelRequest(
                name=current.name,
                etag=current.etag,
                score_threshold=threshold,
                lookback_days=lookback_days,
                reason=reason,
            )
        )
        .risk_model
    )
    done(f"{submitted.name} {enum_label(_MODEL_STATE, submitted.state)}")


@model.command("approve")
def approve(
    ctx: typer.Context,
    version: str = typer.Argument("", help="Default: the newest version awaiting approval."),
    reason: str = typer.Option("approved by the committee", "--reason"),
    timeout: float = typer.Option(120.0, "--timeout", help="Seconds to wait for scoring."),
) -> None:
    """Approve a version (not by its trainer); returns once scoring scores with it."""
    current = _governed(ctx, version) if version else _newest_pending(ctx)
    approved = (
        client(ctx)
        .criteria.ApproveRiskModel(
            governance.ApproveRiskModelRequest(name=current.name, etag=current.etag, reason=reason)
        )
        .risk_model
    )
    done(f"{approved.name} {enum_label(_MODEL_STATE, approved.state)}")
    deadline = time.monotonic() + timeout
    scoring = client(ctx).scoring
    while True:
        serving = scoring.GetServingRiskModel(api.GetServingRiskModelRequest())
        if serving.risk_model == approved.name:
            done(f"scoring serves {approved.name} (digest {serving.digest})")
            return
        if time.monotonic() > deadline:
            error_console.print(
                f"error: scoring still serves {serving.risk_model or 'no model'} "
                f"after {timeout:g} s",
                highlight=False,
                markup=False,
            )
            raise typer.Exit(1)
        time.sleep(POLL_SECONDS)


def _newest_pending(ctx: typer.Context) -> governed.RiskModel:
    pending = list(
        paginate(
            client(ctx).criteria.ListRiskModels,
            governance.ListRiskModelsRequest(state=governed.RISK_MODEL_STATE_PENDING_APPROVAL),
        )
    )
    if not pending:
        raise InputError("no risk model awaits approval: `customs model submit VERSION` first")
    return max(pending, key=lambda m: m.update_time.ToDatetime())  # type: ignore[no-any-return]
