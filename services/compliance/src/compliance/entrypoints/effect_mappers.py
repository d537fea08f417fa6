"""Intervention effects (domain) to their protobuf messages."""

from __future__ import annotations

from customs.compliance.v1 import intervention_effect_pb2

from compliance.domain.intervention_effects import (
    InterventionEffect,
    KindEffect,
    RateChange,
    WindowRate,
)
from compliance.domain.traders import trader_name
from compliance.entrypoints.mappers import proto_enum, timestamp


def _window(rate: WindowRate) -> intervention_effect_pb2.WindowRate:
    return intervention_effect_pb2.WindowRate(
        examinations=rate.examinations,
        discrepancies=rate.discrepancies,
        rate=rate.rate,
        lower=rate.lower,
        upper=rate.upper,
    )


def _change(change: RateChange) -> intervention_effect_pb2.RateChange:
    return intervention_effect_pb2.RateChange(
        before=_window(change.before),
        after=_window(change.after),
        difference=change.difference,
        lower=change.lower,
        upper=change.upper,
    )


def effect_message(
    effect: InterventionEffect,
) -> intervention_effect_pb2.ComplianceInterventionEffect:
    """The ``ComplianceInterventionEffect`` of a measured intervention."""
    intervention = effect.intervention
    return intervention_effect_pb2.ComplianceInterventionEffect(
        compliance_intervention=intervention.name,
        trader=trader_name(intervention.trader_id),
        trigger=proto_enum("INTERVENTION_TRIGGER_", intervention.trigger),
        window_start=timestamp(effect.window_start),
        pivot_time=timestamp(effect.pivot_time),
        window_end=timestamp(effect.window_end),
        random_arm=_change(effect.random_arm),
        all_examinations=_change(effect.all_examinations),
        basis=proto_enum("EFFECT_BASIS_", effect.basis),
        verdict=proto_enum("EFFECT_VERDICT_", effect.verdict),
        selection_bias=effect.selection_bias,
    )


def kind_message(kind: KindEffect) -> intervention_effect_pb2.InterventionKindEffect:
    """The ``InterventionKindEffect`` of one trigger's pooled interventions."""
    return intervention_effect_pb2.InterventionKindEffect(
        trigger=proto_enum("INTERVENTION_TRIGGER_", kind.trigger),
        interventions=kind.interventions,
        effective=kind.effective,
        escalate=kind.escalate,
        inconclusive=kind.inconclusive,
        random_arm=_change(kind.random_arm),
        all_examinations=_change(kind.all_examinations),
    )
