"""`customs profiles`, `customs criteria`, `customs lists`: what scoring selects by.

A criterion is drafted from a YAML/JSON file, submitted, impact-analysed and
approved by a second person (the author never approves), then suspended or
retired; every change lands in criteria's hash-chained history.
"""

from __future__ import annotations

from pathlib import Path

import typer
from customs.criteria.v1 import (
    criteria_service_pb2 as api,
)
from customs.criteria.v1 import (
    criterion_pb2,
    history_pb2,
    named_list_pb2,
    risk_profile_pb2,
)

from customs_client.cli.common import (
    OUTPUT_OPTION,
    InputError,
    Output,
    client,
    done,
    enum_label,
    enum_number,
    enum_of,
    field,
    load_message,
    new_request_id,
    print_listing,
    print_message,
    request_id_for,
    resource,
)
from customs_client.pagination import paginate

profiles = typer.Typer(help="Risk profiles: the risks criteria are written against.")
criteria = typer.Typer(help="Selection criteria: draft, submit, analyse, approve, suspend, retire.")
history = typer.Typer(help="The tamper-evident history of criteria and named lists.")
lists = typer.Typer(help="Named lists criteria refer to (companies, countries, commodities...).")
criteria.add_typer(history, name="history")

_CRITERION_COLUMNS = [
    field("name"),
    field("title"),
    field("state"),
    field("revision"),
    field("rule.treatment.channel", "channel"),
    field("rule.priority", "priority"),
    field("author"),
]
_STATE = enum_of(criterion_pb2.Criterion, "state")


@profiles.command("list")
def list_profiles(ctx: typer.Context, output: Output = OUTPUT_OPTION) -> None:
    """List risk profiles."""
    items = paginate(client(ctx).criteria.ListRiskProfiles, api.ListRiskProfilesRequest())
    columns = [field("name"), field("title"), field("risk_area"), field("owner")]
    print_listing(items, columns, output)


@profiles.command("show")
def show_profile(ctx: typer.Context, name: str) -> None:
    """Show one risk profile."""
    request = api.GetRiskProfileRequest(name=resource("riskProfiles", name))
    print_message(client(ctx).criteria.GetRiskProfile(request).risk_profile)


@profiles.command("draft")
def draft_profile(
    ctx: typer.Context,
    file: Path = typer.Argument(..., help="The RiskProfile as YAML or JSON."),
    profile_id: str = typer.Option("", "--id", help="Resource ID (riskProfiles/ID)."),
) -> None:
    """Create a risk profile from FILE; re-running with the same file creates nothing new."""
    profile = load_message(file, risk_profile_pb2.RiskProfile)
    request = api.CreateRiskProfileRequest(risk_profile=profile, risk_profile_id=profile_id)
    request.request_id = request_id_for("CreateRiskProfile", request)
    created = client(ctx).criteria.CreateRiskProfile(request).risk_profile
    done(f"{created.name} created")


@criteria.command("list")
def list_criteria(
    ctx: typer.Context,
    state: list[str] = typer.Option(
        [], "--state", help="DRAFT, SUBMITTED, ACTIVE, SUSPENDED, RETIRED or EXPIRED; repeatable."
    ),
    profile: str = typer.Option("", "--profile", help="Only criteria of this risk profile."),
    output: Output = OUTPUT_OPTION,
) -> None:
    """List criteria."""
    request = api.ListCriteriaRequest(
        risk_profile=resource("riskProfiles", profile) if profile else "",
        states=[enum_number(_STATE, value, "--state") for value in state],  # type: ignore[misc]
    )
    print_listing(paginate(client(ctx).criteria.ListCriteria, request), _CRITERION_COLUMNS, output)


@criteria.command("show")
def show_criterion(ctx: typer.Context, name: str) -> None:
    """Show one criterion in full."""
    print_message(_get(ctx, name))


def _get(ctx: typer.Context, name: str) -> criterion_pb2.Criterion:
    request = api.GetCriterionRequest(name=resource("criteria", name))
    return client(ctx).criteria.GetCriterion(request).criterion  # type: ignore[no-any-return]


@criteria.command("draft")
def draft_criterion(
    ctx: typer.Context,
    file: Path = typer.Argument(
        ..., help="The Criterion (risk profile, title, rule) as YAML/JSON."
    ),
    criterion_id: str = typer.Option("", "--id", help="Resource ID (criteria/ID)."),
) -> None:
    """Create a draft criterion from FILE; re-running with the same file creates nothing new."""
    criterion = load_message(file, criterion_pb2.Criterion)
    request = api.CreateCriterionRequest(criterion=criterion, criterion_id=criterion_id)
    request.request_id = request_id_for("CreateCriterion", request)
    created = client(ctx).criteria.CreateCriterion(request).criterion
    done(f"{created.name} drafted (revision {created.revision})")


@criteria.command("submit")
def submit_criterion(
    ctx: typer.Context, name: str, comment: str = typer.Option("", "--comment")
) -> None:
    """Submit a draft for approval."""
    current = _get(ctx, name)
    submitted = (
        client(ctx)
        .criteria.SubmitCriterion(
            api.SubmitCriterionRequest(
                name=current.name, etag=current.etag, comment=comment, request_id=new_request_id()
            )
        )
        .criterion
    )
    done(f"{submitted.name} submitted (revision {submitted.revision})")


@criteria.command("impact")
def analyze_impact(
    ctx: typer.Context,
    name: str,
    lookback_days: int = typer.Option(30, "--lookback-days", help="Days of history replayed."),
) -> None:
    """Replay the submitted revision over recent declarations: selections, capacity, overlap."""
    current = _get(ctx, name)
    analysis = (
        client(ctx)
        .criteria.AnalyzeImpact(
            api.AnalyzeImpactRequest(
                criterion=current.name,
                revision=current.revision,
                lookback_days=lookback_days,
                request_id=new_request_id(),
            )
        )
        .impact_analysis
    )
    done(
        f"{analysis.name}: {analysis.declarations_replayed} declarations replayed, "
        f"{analysis.hits} hits, {analysis.selections} selections, "
        f"{len(analysis.capacity_exceedances)} offices over capacity"
    )


@criteria.command("approve")
def approve_criterion(
    ctx: typer.Context,
    name: str,
    impact_analysis: str = typer.Option(
        "", "--impact-analysis", help="Default: the newest analysis of the submitted revision."
    ),
    capacity_justification: str = typer.Option("", "--capacity-justification"),
    comment: str = typer.Option("", "--comment"),
) -> None:
    """Approve a submitted criterion (not by its author); it becomes active in scoring."""
    current = _get(ctx, name)
    analysis = impact_analysis or _newest_analysis(ctx, current)
    approved = (
        client(ctx)
        .criteria.ApproveCriterion(
            api.ApproveCriterionRequest(
                name=current.name,
                revision=current.revision,
                etag=current.etag,
                impact_analysis=analysis,
                capacity_justification=capacity_justification,
                comment=comment,
                request_id=new_request_id(),
            )
        )
        .criterion
    )
    done(f"{approved.name} approved (revision {approved.revision})")


def _newest_analysis(ctx: typer.Context, criterion: criterion_pb2.Criterion) -> str:
    analyses = [
        analysis
        for analysis in paginate(
            client(ctx).criteria.ListImpactAnalyses,
            api.ListImpactAnalysesRequest(parent=criterion.name),
        )
        if analysis.criterion_revision == criterion.revision
    ]
    if not analyses:
        raise InputError(
            f"{criterion.name} revision {criterion.revision} has no impact analysis: "
            f"run `customs criteria impact {criterion.name}` first"
        )
    return str(max(analyses, key=lambda a: a.create_time.ToDatetime()).name)


def _transition(verb: str, help_text: str) -> None:
    method_name = f"{verb.capitalize()}Criterion"
    request_type = getattr(api, f"{method_name}Request")

    def command(
        ctx: typer.Context,
        name: str,
        reason: str = typer.Option(..., "--reason", help="Why; kept in the history."),
    ) -> None:
        current = _get(ctx, name)
        request = request_type(
            name=current.name, etag=current.etag, reason=reason, request_id=new_request_id()
        )
        changed = getattr(client(ctx).criteria, method_name)(request).criterion
        done(f"{changed.name} {enum_label(_STATE, changed.state)}")

    command.__doc__ = help_text
    criteria.command(verb)(command)


_transition("reject", "Send a submitted criterion back to its author.")
_transition("suspend", "Stop an active criterion selecting, for now.")
_transition("reactivate", "Let a suspended criterion select again.")
_transition("retire", "End a criterion for good.")


@history.command("verify")
def verify_history(ctx: typer.Context) -> None:
    """Check the history's hash chain and its latest checkpoint; exit 1 if broken or rewritten."""
    verification = client(ctx).criteria.VerifyHistory(api.VerifyHistoryRequest()).verification
    anchor = enum_label(
        history_pb2.DESCRIPTOR.enum_types_by_name["HistoryAnchorState"], verification.anchor_state
    ).lower()
    checkpoint = (
        f"checkpoint {verification.checkpoint_sequence} signed "
        f"{verification.checkpoint_sign_time.ToJsonString()}: {anchor}"
        if verification.checkpoint_sequence
        else f"checkpoint: {anchor}"
    )
    if verification.intact:
        done(
            f"history intact: {verification.entries_verified} entries, "
            f"head {verification.head_hash}; {checkpoint}"
        )
        return
    if verification.rewritten:
        done(f"history REWRITTEN: {verification.problem}")
        raise typer.Exit(1)
    done(
        f"history BROKEN at entry {verification.first_invalid_sequence} "
        f"({verification.first_invalid_resource}): {verification.problem}"
    )
    raise typer.Exit(1)


@history.command("list")
def list_versions(ctx: typer.Context, name: str, output: Output = OUTPUT_OPTION) -> None:
    """The versions of one criterion, each with who changed what and why."""
    request = api.ListCriterionVersionsRequest(parent=resource("criteria", name))
    columns = [
        field("version"),
        field("change.kind", "change"),
        field("change.actor", "actor"),
        field("change.change_time", "time"),
        field("change.reason", "reason"),
    ]
    print_listing(paginate(client(ctx).criteria.ListCriterionVersions, request), columns, output)


@lists.command("list")
def list_named_lists(ctx: typer.Context, output: Output = OUTPUT_OPTION) -> None:
    """List named lists."""
    items = paginate(client(ctx).criteria.ListNamedLists, api.ListNamedListsRequest())
    columns = [field("name"), field("title"), field("kind"), field("revision")]
    print_listing(items, columns, output)


@lists.command("show")
def show_named_list(ctx: typer.Context, name: str) -> None:
    """Show one named list with its entries."""
    request = api.GetNamedListRequest(
        name=resource("namedLists", name), view=api.NAMED_LIST_VIEW_FULL
    )
    print_message(client(ctx).criteria.GetNamedList(request).named_list)


@lists.command("draft")
def draft_named_list(
    ctx: typer.Context,
    file: Path = typer.Argument(..., help="The NamedList (title, kind, entries) as YAML/JSON."),
    list_id: str = typer.Option("", "--id", help="Resource ID (namedLists/ID)."),
) -> None:
    """Create a named list from FILE; re-running with the same file creates nothing new."""
    named_list = load_message(file, named_list_pb2.NamedList)
    request = api.CreateNamedListRequest(named_list=named_list, named_list_id=list_id)
    request.request_id = request_id_for("CreateNamedList", request)
    created = client(ctx).criteria.CreateNamedList(request).named_list
    done(f"{created.name} created (revision {created.revision})")
