"""`customs traders`, `measurements`, `sampling-plans`, `interventions`: the compliance service.

Traders and their rankings, compliance measurements (random examinations'
rates by segment) and the sampling plans that size them, and interventions
with traders whose errors repeat. Resources are written as YAML/JSON files
in the proto's JSON mapping, as everywhere in the command line; creating the
same file twice sends the same request id, so a re-run creates nothing new.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import typer
from customs.compliance.v1 import (
    compliance_intervention_pb2,
    measurement_pb2,
    trader_pb2,
)
from customs.compliance.v1 import compliance_service_pb2 as api

from customs_client.cli.common import (
    OUTPUT_OPTION,
    Output,
    act,
    call,
    enum_number,
    enum_of,
    field,
    listing,
    load_message,
    new_request_id,
    request_id_for,
    resource,
    show,
)

traders = typer.Typer(help="Traders (importers, brokers, carriers) and their rankings.")
measurements = typer.Typer(help="Compliance measurements: random examinations' rates by segment.")
sampling_plans = typer.Typer(help="Sampling plans: how many random examinations a measure needs.")
interventions = typer.Typer(
    help="Interventions with traders whose errors repeat, and their effect."
)

_ROLE = enum_of(api.ListTraderRankingsRequest, "role")
_TIER = enum_of(api.ListTradersRequest, "tier")
_TRADER_METRIC = enum_of(api.ListTraderRankingsRequest, "metric")
_COMMODITY_METRIC = enum_of(api.ListCommodityRankingsRequest, "metric")
_DIMENSION = enum_of(api.ListComplianceMeasurementsRequest, "dimension")
_INTERVENTION_STATE = enum_of(compliance_intervention_pb2.ComplianceIntervention, "state")
_OUTCOME = enum_of(api.CloseComplianceInterventionRequest, "outcome")


def _default_start() -> str:
    return (datetime.now(UTC).date() - timedelta(days=90)).isoformat()


def _today() -> str:
    return datetime.now(UTC).date().isoformat()


_START_OPTION = typer.Option(None, "--start", help="First day, YYYY-MM-DD (default: 90 days ago).")
_END_OPTION = typer.Option(None, "--end", help="Last day, YYYY-MM-DD (default: today).")
_OFFICE_OPTION = typer.Option("", "--office", help="Only this office.")


@traders.command("list")
def list_traders(
    ctx: typer.Context,
    role: str = typer.Option("", "--role", help="IMPORTER, EXPORTER, BROKER or CARRIER."),
    tier: str = typer.Option("", "--tier", help="e.g. STANDARD, LOW_RISK."),
    name_prefix: str = typer.Option("", "--name-prefix", help="Display names starting so."),
    output: Output = OUTPUT_OPTION,
) -> None:
    """List traders."""
    request = api.ListTradersRequest(
        role=enum_number(_ROLE, role, "--role") if role else 0,  # type: ignore[arg-type]
        tier=enum_number(_TIER, tier, "--tier") if tier else 0,  # type: ignore[arg-type]
        display_name_prefix=name_prefix,
    )
    columns = [
        field("name"),
        field("display_name", "display name"),
        field("roles"),
        field("country"),
        field("tier"),
        field("approved_trader_status", "approved trader"),
    ]
    listing(ctx, "compliance.ListTraders", request, columns, output)


@traders.command("show")
def show_trader(ctx: typer.Context, name: str) -> None:
    """Show one trader."""
    show(ctx, "compliance.GetTrader", api.GetTraderRequest(name=resource("traders", name)))


@traders.command("create")
def create_trader(
    ctx: typer.Context,
    file: Path = typer.Argument(..., help="The Trader as YAML/JSON."),
    trader_id: str = typer.Option(..., "--id", help="The trader's identification number."),
) -> None:
    """Register a trader."""
    trader = load_message(file, trader_pb2.Trader)
    request = api.CreateTraderRequest(
        request_id=request_id_for("CreateTrader", trader_id, trader),
        trader_id=trader_id,
        trader=trader,
    )
    act(ctx, "compliance.CreateTrader", request, "created")


@traders.command("rankings")
def trader_rankings(
    ctx: typer.Context,
    metric: str = typer.Option(
        "DECLARED_VALUE",
        "--metric",
        help="DECLARED_VALUE, DUTIES_AND_TAXES, DECLARATION_COUNT or DISCREPANCY_COUNT.",
    ),
    role: str = typer.Option("IMPORTER", "--role", help="IMPORTER, EXPORTER, BROKER or CARRIER."),
    start: str | None = _START_OPTION,
    end: str | None = _END_OPTION,
    office: str = _OFFICE_OPTION,
    output: Output = OUTPUT_OPTION,
) -> None:
    """Traders ranked by a metric over a period (lodgement days)."""
    request = api.ListTraderRankingsRequest(
        metric=enum_number(_TRADER_METRIC, metric, "--metric"),  # type: ignore[arg-type]
        role=enum_number(_ROLE, role, "--role"),  # type: ignore[arg-type]
        start_date=start or _default_start(),
        end_date=end or _today(),
        office=resource("offices", office) if office else "",
    )
    columns = [
        field("rank"),
        field("trader"),
        field("display_name", "display name"),
        field("declaration_count", "declarations"),
        field("declared_value.units", "declared value"),
        field("duties_and_taxes.units", "duties and taxes"),
        field("examined_count", "examined"),
        field("discrepancy_count", "discrepancies"),
    ]
    listing(ctx, "compliance.ListTraderRankings", request, columns, output)


@traders.command("commodity-rankings")
def commodity_rankings(
    ctx: typer.Context,
    metric: str = typer.Option(
        "COLLECTIONS",
        "--metric",
        help="COLLECTIONS, TAX_RATE, MISCLASSIFICATIONS or DECLARED_VALUE.",
    ),
    hs_digits: int = typer.Option(0, "--hs-digits", help="2, 4, 6, 8 or 10 (0: 6)."),
    start: str | None = _START_OPTION,
    end: str | None = _END_OPTION,
    office: str = _OFFICE_OPTION,
    output: Output = OUTPUT_OPTION,
) -> None:
    """Commodities (HS codes) ranked by a metric over a period."""
    request = api.ListCommodityRankingsRequest(
        metric=enum_number(_COMMODITY_METRIC, metric, "--metric"),  # type: ignore[arg-type]
        hs_digits=hs_digits,
        start_date=start or _default_start(),
        end_date=end or _today(),
        office=resource("offices", office) if office else "",
    )
    columns = [
        field("rank"),
        field("hs_code", "HS code"),
        field("item_count", "items"),
        field("declared_value.units", "declared value"),
        field("collections.units", "collections"),
        field("mean_tax_rate", "mean tax rate"),
        field("misclassification_count", "misclassifications"),
    ]
    listing(ctx, "compliance.ListCommodityRankings", request, columns, output)


_MEASUREMENT_COLUMNS = [
    field("name"),
    field("title"),
    field("dimension"),
    field("start_date", "start"),
    field("end_date", "end"),
    field("overall.rate", "overall rate"),
    field("overall.sample_size", "sample"),
    field("strata_below_tolerance", "below tolerance"),
    field("state"),
]


@measurements.command("list")
def list_measurements(
    ctx: typer.Context,
    dimension: str = typer.Option("", "--dimension", help="e.g. OVERALL, IMPORTER, HS_CHAPTER."),
    output: Output = OUTPUT_OPTION,
) -> None:
    """List compliance measurements."""
    request = api.ListComplianceMeasurementsRequest(
        dimension=enum_number(_DIMENSION, dimension, "--dimension") if dimension else 0,  # type: ignore[arg-type]
    )
    listing(ctx, "compliance.ListComplianceMeasurements", request, _MEASUREMENT_COLUMNS, output)


@measurements.command("show")
def show_measurement(ctx: typer.Context, name: str) -> None:
    """Show one measurement with its overall rate."""
    request = api.GetComplianceMeasurementRequest(name=resource("complianceMeasurements", name))
    show(ctx, "compliance.GetComplianceMeasurement", request)


@measurements.command("create")
def create_measurement(
    ctx: typer.Context, file: Path = typer.Argument(..., help="The measurement as YAML/JSON.")
) -> None:
    """Define a measurement (dimension, areas, lodgement period, tolerance); a draft."""
    measurement = load_message(file, measurement_pb2.ComplianceMeasurement)
    request = api.CreateComplianceMeasurementRequest(
        request_id=request_id_for("CreateComplianceMeasurement", measurement),
        compliance_measurement=measurement,
    )
    act(ctx, "compliance.CreateComplianceMeasurement", request, "created")


@measurements.command("publish")
def publish_measurement(ctx: typer.Context, name: str) -> None:
    """Publish a draft measurement: its rates become the official figures."""
    current = call(
        ctx,
        "compliance.GetComplianceMeasurement",
        api.GetComplianceMeasurementRequest(name=resource("complianceMeasurements", name)),
    )
    request = api.PublishComplianceMeasurementRequest(
        name=current.name, etag=current.etag, request_id=new_request_id()
    )
    act(ctx, "compliance.PublishComplianceMeasurement", request, "published")


@measurements.command("rates")
def measurement_rates(ctx: typer.Context, name: str, output: Output = OUTPUT_OPTION) -> None:
    """The compliance rate of each segment (stratum) of a measurement, with its interval."""
    request = api.ListComplianceRatesRequest(parent=resource("complianceMeasurements", name))
    columns = [
        field("stratum"),
        field("stratum_display_name", "segment"),
        field("sample_size", "sample"),
        field("compliant"),
        field("rate"),
        field("lower_bound", "lower"),
        field("upper_bound", "upper"),
        field("assessment"),
    ]
    listing(ctx, "compliance.ListComplianceRates", request, columns, output)


@sampling_plans.command("list")
def list_sampling_plans(ctx: typer.Context, output: Output = OUTPUT_OPTION) -> None:
    """List sampling plans."""
    columns = [
        field("name"),
        field("title"),
        field("dimension"),
        field("base_start_date", "base start"),
        field("base_end_date", "base end"),
        field("planned_sample_size", "sample size"),
        field("expected_margin_of_error", "margin of error"),
    ]
    listing(ctx, "compliance.ListSamplingPlans", api.ListSamplingPlansRequest(), columns, output)


@sampling_plans.command("show")
def show_sampling_plan(ctx: typer.Context, name: str) -> None:
    """Show one sampling plan with its strata."""
    request = api.GetSamplingPlanRequest(name=resource("samplingPlans", name))
    show(ctx, "compliance.GetSamplingPlan", request)


@sampling_plans.command("create")
def create_sampling_plan(
    ctx: typer.Context, file: Path = typer.Argument(..., help="The SamplingPlan as YAML/JSON.")
) -> None:
    """Size a sample from a base period's population (the plan is computed by the service)."""
    plan = load_message(file, measurement_pb2.SamplingPlan)
    request = api.CreateSamplingPlanRequest(
        request_id=request_id_for("CreateSamplingPlan", plan), sampling_plan=plan
    )
    act(ctx, "compliance.CreateSamplingPlan", request, "created")


@interventions.command("list")
def list_interventions(
    ctx: typer.Context,
    trader: str = typer.Option("", "--trader", help="Only this trader's."),
    state: list[str] = typer.Option(
        [], "--state", help="PLANNED, FOLLOW_UP or CLOSED; repeatable."
    ),
    output: Output = OUTPUT_OPTION,
) -> None:
    """List interventions."""
    request = api.ListComplianceInterventionsRequest(
        trader=resource("traders", trader) if trader else "",
        states=[enum_number(_INTERVENTION_STATE, s, "--state") for s in state],  # type: ignore[misc]
    )
    columns = [
        field("name"),
        field("trader"),
        field("trigger"),
        field("areas"),
        field("state"),
        field("outcome"),
        field("owner"),
    ]
    listing(ctx, "compliance.ListComplianceInterventions", request, columns, output)


def _intervention(name: str) -> str:
    return resource("complianceInterventions", name)


@interventions.command("show")
def show_intervention(ctx: typer.Context, name: str) -> None:
    """Show one intervention."""
    request = api.GetComplianceInterventionRequest(name=_intervention(name))
    show(ctx, "compliance.GetComplianceIntervention", request)


@interventions.command("create")
def create_intervention(
    ctx: typer.Context,
    file: Path = typer.Argument(..., help="The ComplianceIntervention as YAML/JSON."),
) -> None:
    """Open an intervention with a trader."""
    intervention = load_message(file, compliance_intervention_pb2.ComplianceIntervention)
    request = api.CreateComplianceInterventionRequest(
        request_id=request_id_for("CreateComplianceIntervention", intervention),
        compliance_intervention=intervention,
    )
    act(ctx, "compliance.CreateComplianceIntervention", request, "opened")


def _current(ctx: typer.Context, name: str) -> compliance_intervention_pb2.ComplianceIntervention:
    request = api.GetComplianceInterventionRequest(name=_intervention(name))
    return call(ctx, "compliance.GetComplianceIntervention", request)  # type: ignore[no-any-return]


@interventions.command("close")
def close_intervention(
    ctx: typer.Context,
    name: str,
    outcome: str = typer.Option(..., "--outcome", help="RESOLVED or NOT_RESOLVED."),
    note: str = typer.Option(..., "--note", help="The closing note."),
) -> None:
    """Close an intervention with its outcome."""
    current = _current(ctx, name)
    request = api.CloseComplianceInterventionRequest(
        name=current.name,
        etag=current.etag,
        request_id=new_request_id(),
        outcome=enum_number(_OUTCOME, outcome, "--outcome"),  # type: ignore[arg-type]
        closing_note=note,
    )
    act(ctx, "compliance.CloseComplianceIntervention", request, "closed")


@interventions.command("cancel")
def cancel_intervention(
    ctx: typer.Context, name: str, reason: str = typer.Option(..., "--reason")
) -> None:
    """Cancel an intervention that will not take place."""
    current = _current(ctx, name)
    request = api.CancelComplianceInterventionRequest(
        name=current.name, etag=current.etag, request_id=new_request_id(), reason=reason
    )
    act(ctx, "compliance.CancelComplianceIntervention", request, "cancelled")


@interventions.command("effect")
def intervention_effect(
    ctx: typer.Context,
    name: str,
    window_days: int = typer.Option(0, "--window-days", help="Days before and after (0: default)."),
) -> None:
    """Whether a closed intervention worked: the trader's discrepancy rate before and after."""
    request = api.GetComplianceInterventionEffectRequest(
        name=_intervention(name), window_days=window_days
    )
    show(ctx, "compliance.GetComplianceInterventionEffect", request)
