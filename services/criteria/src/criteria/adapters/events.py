"""The requests an accepted trader-level recommendation sends to other services.

Written to the outbox in the same transaction as the acceptance and relayed
by the chassis:

* REFER_TO_AUDIT → audit_referral ``CreateReferral`` (source CRITERIA_MONITORING);
* INFORMED_COMPLIANCE → compliance ``CreateComplianceIntervention``.

The relay delivers at least once, so each request's ``request_id`` is derived
from the recommendation's name: a redelivery is the same request to the
receiver, which answers it with the response it stored the first time.
Each request is built within the receiver's contract, so that none is refused
on arrival and stuck in the outbox.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass

from customs.audit_referral.v1 import audit_referral_service_pb2, referral_pb2
from customs.compliance.v1 import (
    compliance_intervention_pb2,
    compliance_service_pb2,
    measurement_pb2,
    trader_pb2,
)

from criteria.domain.outcomes import ExaminedDeclaration
from criteria.domain.recommendations import Recommendation, RecommendationKind

AUDIT_REFERRAL = "audit-referral"
COMPLIANCE = "compliance"
#: The peers that receive this service's requests (the outbox destinations).
EVENT_DESTINATIONS = (AUDIT_REFERRAL, COMPLIANCE)

_CREATE_REFERRAL = "/customs.audit_referral.v1.AuditReferralService/CreateReferral"
_CREATE_INTERVENTION = "/customs.compliance.v1.ComplianceService/CreateComplianceIntervention"
#: The receivers' limit on the text that says why (referral reason, error pattern).
_MAX_TEXT = 10_000

_DOCUMENTARY = measurement_pb2.COMPLIANCE_AREA_DOCUMENTARY
_PROCEDURAL = measurement_pb2.COMPLIANCE_AREA_PROCEDURAL
_REVENUE = measurement_pb2.COMPLIANCE_AREA_REVENUE
#: The compliance area (appendix 6) of the errors a criterion of each risk area finds:
#: classification, valuation and origin are documentary; duties are revenue; the
#: requirements of a procedure (licences, prohibitions, IPR border rules, transit)
#: are procedural.
_AREA_OF_RISK = {
    "RISK_AREA_ANTI_DUMPING": _REVENUE,
    "RISK_AREA_ANTI_TERRORISM": _PROCEDURAL,
    "RISK_AREA_CLASSIFICATION": _DOCUMENTARY,
    "RISK_AREA_ORIGIN": _DOCUMENTARY,
    "RISK_AREA_CURRENCY_CONTROLS": _PROCEDURAL,
    "RISK_AREA_EMBARGOES_SANCTIONS": _PROCEDURAL,
    "RISK_AREA_INTELLECTUAL_PROPERTY": _PROCEDURAL,
    "RISK_AREA_NARCOTICS": _PROCEDURAL,
    "RISK_AREA_PUBLIC_HEALTH_SAFETY": _PROCEDURAL,
    "RISK_AREA_QUOTAS": _PROCEDURAL,
    "RISK_AREA_REVENUE": _REVENUE,
    "RISK_AREA_TRADE_AGREEMENTS": _DOCUMENTARY,
    "RISK_AREA_TRADE_STATISTICS": _DOCUMENTARY,
    "RISK_AREA_TRANSIT": _PROCEDURAL,
    "RISK_AREA_TRANSSHIPMENT": _PROCEDURAL,
    "RISK_AREA_VALUATION": _DOCUMENTARY,
    "RISK_AREA_WEAPONS": _PROCEDURAL,
}


@dataclass(frozen=True)
class OutboundRequest:
    """One request for the outbox: the peer, its method, the request id and the request."""

    destination: str
    method: str
    request_id: str
    payload: bytes


def request_id_of(recommendation: Recommendation) -> str:
    """The request id of what accepting ``recommendation`` sends: a UUID5 of its name."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"//criteria.customs/{recommendation.name}"))


def acceptance_requests(
    accepted: Recommendation,
    risk_area: str,
    declarations: Mapping[str, ExaminedDeclaration],
) -> list[OutboundRequest]:
    """What accepting ``accepted`` asks of other services (nothing for most kinds).

    ``risk_area`` is the criterion's (a RISK_AREA_ name); ``declarations`` are
    the examined declarations in evidence, by number.
    """
    if accepted.kind is RecommendationKind.REFER_TO_AUDIT:
        return [_referral(accepted, declarations)]
    if accepted.kind is RecommendationKind.INFORMED_COMPLIANCE:
        return [_intervention(accepted, risk_area)]
    return []


def _why(accepted: Recommendation) -> str:
    """The rule's rationale and the analyst's decision, for the receiver's reader."""
    text = (
        f"Criterion {accepted.criterion}: {accepted.rationale}. "
        f"Accepted by {accepted.decided_by}: {accepted.decision_reason}"
    )
    return text[:_MAX_TEXT]


def _evidence(accepted: Recommendation) -> list[str]:
    return [accepted.criterion, accepted.name]


def _referral(
    accepted: Recommendation, declarations: Mapping[str, ExaminedDeclaration]
) -> OutboundRequest:
    request_id = request_id_of(accepted)
    examined = [
        declarations[number] for number in accepted.declaration_numbers if number in declarations
    ]
    request = audit_referral_service_pb2.CreateReferralRequest(
        request_id=request_id,
        referral=referral_pb2.Referral(
            source=referral_pb2.REFERRAL_SOURCE_CRITERIA_MONITORING,
            trader=f"traders/{accepted.trader_id}",
            declarations=[
                referral_pb2.DeclarationReference(
                    declaration_number=declaration.number,
                    declaration_version=declaration.version,
                    office=f"offices/{declaration.office_code}",
                )
                for declaration in examined
            ],
            reason=_why(accepted),
            evidence=_evidence(accepted),
            priority=referral_pb2.REFERRAL_PRIORITY_NORMAL,
        ),
    )
    return OutboundRequest(
        AUDIT_REFERRAL, _CREATE_REFERRAL, request_id, request.SerializeToString()
    )


def _intervention(accepted: Recommendation, risk_area: str) -> OutboundRequest:
    request_id = request_id_of(accepted)
    request = compliance_service_pb2.CreateComplianceInterventionRequest(
        request_id=request_id,
        compliance_intervention=compliance_intervention_pb2.ComplianceIntervention(
            trader=f"traders/{accepted.trader_id}",
            # The rule counts discrepancies by the importer of the examined declarations.
            trader_role=trader_pb2.TRADER_ROLE_IMPORTER,
            trigger=compliance_intervention_pb2.INTERVENTION_TRIGGER_EXAMINATION_FINDINGS,
            # A risk area the contract gains later counts as documentary until mapped here.
            areas=[_AREA_OF_RISK.get(risk_area, _DOCUMENTARY)],
            error_pattern=_why(accepted),
            evidence=_evidence(accepted),
        ),
    )
    return OutboundRequest(
        COMPLIANCE, _CREATE_INTERVENTION, request_id, request.SerializeToString()
    )
