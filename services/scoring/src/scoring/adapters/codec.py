"""The protobuf wire form of the domain: declarations, rules, decisions.

Used wherever a domain value crosses a boundary in its contract form: the
gRPC surface, the criteria stream, the stored assessment (kept as the
``Assessment`` message the callers receive, so that a read returns exactly
what the decision said), and the events sent to other services.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import UTC, datetime
from decimal import Decimal

from customs.common.v1 import money_pb2, selection_rule_pb2, selectivity_pb2
from customs.criteria.v1 import criterion_pb2, named_list_pb2
from customs.scoring.v1 import assessment_pb2, declaration_pb2, risk_model_pb2, simulation_pb2
from google.protobuf import timestamp_pb2

from scoring.domain.assessment import (
    Assessment,
    ChannelFloor,
    CriterionHit,
    Decision,
    DocumentCheck,
    ExaminerInstruction,
    HitOutcome,
    ReplayRecord,
)
from scoring.domain.capacity import (
    CapacityDowngrade,
    CapacitySnapshot,
    CapacityUse,
    RandomKind,
)
from scoring.domain.declaration import (
    Declaration,
    DeclarationItem,
    Duty,
    ItemDocument,
    Money,
    Party,
    TransportDocument,
)
from scoring.domain.random_examinations import RandomDraw
from scoring.domain.risk_model import FeatureContribution
from scoring.domain.rules import (
    AllOf,
    AnyOf,
    ApprovedTraderScope,
    Channel,
    CodeElement,
    CodeIn,
    CodesEqual,
    Condition,
    Criterion,
    DescriptionKeywords,
    DocumentRequirement,
    ExaminationLevel,
    HsCodePrefix,
    InNamedList,
    NamedList,
    NamedListKind,
    NoneOf,
    NumericElement,
    NumericRange,
    Predicate,
    RiskModelScore,
    SelectionRule,
    Treatment,
    UnitValue,
    UnitValueBand,
    UnitValueBasis,
    UnitValueComparison,
)
from scoring.domain.training import RiskScore


class UnusableRule(ValueError):
    """A published rule that this engine cannot evaluate (e.g. an unknown enum value)."""


# --- small values ------------------------------------------------------------------


def money_from_proto(message: money_pb2.Money) -> Money:
    """``units + nanos / 1e9`` as an exact decimal."""
    return Money(message.currency_code, Decimal(message.units) + Decimal(message.nanos).scaleb(-9))


def money_to_proto(money: Money) -> money_pb2.Money:
    """The contract's Money for an exact amount (rounded to nanos, sign shared)."""
    nanos_total = int((money.amount * 1_000_000_000).to_integral_value())
    units, nanos = divmod(abs(nanos_total), 1_000_000_000)
    sign = -1 if nanos_total < 0 else 1
    return money_pb2.Money(
        currency_code=money.currency_code, units=sign * units, nanos=sign * nanos
    )


def timestamp_to_datetime(message: timestamp_pb2.Timestamp) -> datetime:
    """A timezone-aware UTC datetime (microsecond precision)."""
    return message.ToDatetime(tzinfo=UTC)


def datetime_to_timestamp(moment: datetime) -> timestamp_pb2.Timestamp:
    """The Timestamp of a timezone-aware datetime."""
    timestamp = timestamp_pb2.Timestamp()
    timestamp.FromDatetime(moment)
    return timestamp


def channel_to_proto(channel: Channel) -> str:
    """``Channel.RED`` → ``"CHANNEL_RED"`` (message constructors take enum value names)."""
    return f"CHANNEL_{channel.name}"


def channel_from_proto(value: int) -> Channel:
    """``CHANNEL_RED`` → ``Channel.RED``; ``CHANNEL_UNSPECIFIED`` is refused."""
    return Channel[_suffix(selectivity_pb2.Channel.Name(value), "CHANNEL_")]


def level_to_proto(level: ExaminationLevel) -> str:
    """``ExaminationLevel.NONE`` → ``"EXAMINATION_LEVEL_UNSPECIFIED"``."""
    name = "UNSPECIFIED" if level is ExaminationLevel.NONE else level.name
    return f"EXAMINATION_LEVEL_{name}"


def level_from_proto(value: int) -> ExaminationLevel:
    """``EXAMINATION_LEVEL_UNSPECIFIED`` → ``ExaminationLevel.NONE``."""
    name = selectivity_pb2.ExaminationLevel.Name(value).removeprefix("EXAMINATION_LEVEL_")
    return ExaminationLevel.NONE if name == "UNSPECIFIED" else ExaminationLevel[name]


def _suffix(name: str, prefix: str) -> str:
    suffix = name.removeprefix(prefix)
    if suffix == "UNSPECIFIED":
        raise UnusableRule(f"{name} is not a usable value")
    return suffix


# --- declarations ------------------------------------------------------------------


def _party(message: declaration_pb2.Party) -> Party:
    return Party(
        id=message.id,
        name=message.name,
        address=message.address,
        country_code=message.country_code,
    )


def _optional_party(declaration: declaration_pb2.Declaration, field: str) -> Party | None:
    return _party(getattr(declaration, field)) if declaration.HasField(field) else None


def _item(message: declaration_pb2.DeclarationItem) -> DeclarationItem:
    return DeclarationItem(
        item_number=message.item_number,
        hs_code=message.hs_code,
        description=message.description,
        origin_country_code=message.origin_country_code,
        origin_indicator_code=message.origin_indicator_code,
        quantity=message.quantity if message.HasField("quantity") else None,
        supplementary_unit_code=message.supplementary_unit_code,
        gross_mass_kg=message.gross_mass_kg if message.HasField("gross_mass_kg") else None,
        net_mass_kg=message.net_mass_kg,
        customs_value=money_from_proto(message.customs_value),
        statistical_value=(
            money_from_proto(message.statistical_value)
            if message.HasField("statistical_value")
            else None
        ),
        tax_type_code=message.tax_type_code,
        tax_rate_percent=message.tax_rate_percent,
        duties=tuple(
            Duty(duty.tax_type_code, duty.rate_percent, money_from_proto(duty.amount))
            for duty in message.duties
        ),
        documents=tuple(
            ItemDocument(document.type_code, document.reference, document.issuing_country_code)
            for document in message.documents
        ),
    )


def declaration_from_proto(message: declaration_pb2.Declaration) -> Declaration:
    """The domain declaration of a (validated) Declaration message."""
    return Declaration(
        declaration_number=message.declaration_number,
        version=message.version,
        office_code=message.office_code,
        procedure_code=message.procedure_code,
        import_type_code=message.import_type_code,
        import_use_code=message.import_use_code,
        payment_type_code=message.payment_type_code,
        lodgement_time=timestamp_to_datetime(message.lodgement_time),
        declarant=_optional_party(message, "declarant"),
        importer=_party(message.importer),
        seller=_optional_party(message, "seller"),
        carrier=_optional_party(message, "carrier"),
        courier=_optional_party(message, "courier"),
        transport_mode_code=message.transport_mode_code,
        conveyance_id=message.conveyance_id,
        dispatch_country_code=message.dispatch_country_code,
        transport_document=(
            TransportDocument(
                message.transport_document.type_code, message.transport_document.number
            )
            if message.HasField("transport_document")
            else None
        ),
        container_numbers=tuple(message.container_numbers),
        items=tuple(_item(item) for item in message.items),
    )


def declaration_content(message: declaration_pb2.Declaration) -> bytes:
    """The declaration's deterministic wire form: equal content, equal bytes."""
    return message.SerializeToString(deterministic=True)


def declaration_from_content(content: bytes) -> Declaration:
    """The domain declaration of stored content."""
    return declaration_from_proto(declaration_pb2.Declaration.FromString(content))


# --- rules -------------------------------------------------------------------------


def _code_element(value: int) -> CodeElement:
    return CodeElement[_suffix(selection_rule_pb2.CodeElement.Name(value), "CODE_ELEMENT_")]


def _numeric_element(value: int) -> NumericElement:
    name = selection_rule_pb2.NumericElement.Name(value)
    return NumericElement[_suffix(name, "NUMERIC_ELEMENT_")]


def _basis(value: int) -> UnitValueBasis:
    name = selection_rule_pb2.UnitValueBasis.Name(value)
    return UnitValueBasis[_suffix(name, "UNIT_VALUE_BASIS_")]


def predicate_from_proto(message: selection_rule_pb2.Predicate) -> Predicate:
    """The domain predicate; raises ``UnusableRule`` for a test this engine cannot run."""
    match message.WhichOneof("test"):
        case "code_in":
            test = message.code_in
            return CodeIn(_code_element(test.element), frozenset(test.values))
        case "hs_code_prefix":
            return HsCodePrefix(tuple(message.hs_code_prefix.prefixes))
        case "numeric_range":
            numeric = message.numeric_range
            return NumericRange(
                element=_numeric_element(numeric.element),
                minimum=numeric.min if numeric.HasField("min") else None,
                maximum=numeric.max if numeric.HasField("max") else None,
                currency_code=numeric.currency_code,
            )
        case "unit_value":
            unit = message.unit_value
            comparison = selection_rule_pb2.UnitValueComparison.Name(unit.comparison)
            return UnitValue(
                basis=_basis(unit.basis),
                comparison=UnitValueComparison[_suffix(comparison, "UNIT_VALUE_COMPARISON_")],
                named_list=unit.named_list,
                tolerance_percent=unit.tolerance_percent,
            )
        case "description_keywords":
            keywords = message.description_keywords
            return DescriptionKeywords(tuple(keywords.keywords), keywords.match_all)
        case "in_named_list":
            listed = message.in_named_list
            return InNamedList(_code_element(listed.element), listed.named_list)
        case "codes_equal":
            equal = message.codes_equal
            return CodesEqual(_code_element(equal.first), _code_element(equal.second))
        case "risk_model_score":
            score = message.risk_model_score
            return RiskModelScore(
                minimum=score.min if score.HasField("min") else None,
                maximum=score.max if score.HasField("max") else None,
            )
    raise UnusableRule(f"unknown predicate {message.WhichOneof('test')!r}")


def condition_from_proto(message: selection_rule_pb2.Condition) -> Condition:
    """The domain condition tree; raises ``UnusableRule`` for an empty or unknown node."""
    match message.WhichOneof("kind"):
        case "all_of":
            return AllOf(tuple(condition_from_proto(c) for c in message.all_of.conditions))
        case "any_of":
            return AnyOf(tuple(condition_from_proto(c) for c in message.any_of.conditions))
        case "none_of":
            return NoneOf(tuple(condition_from_proto(c) for c in message.none_of.conditions))
        case "predicate":
            return predicate_from_proto(message.predicate)
    raise UnusableRule("a condition node has no kind")


def _document_requirement(message: selection_rule_pb2.DocumentRequirement) -> DocumentRequirement:
    return DocumentRequirement(message.document_type_code, message.description)


def treatment_from_proto(message: selection_rule_pb2.Treatment) -> Treatment:
    """The domain treatment of a Treatment message."""
    return Treatment(
        channel=channel_from_proto(message.channel),
        examination_level=level_from_proto(message.examination_level),
        documents_to_check=tuple(_document_requirement(d) for d in message.documents_to_check),
        also_refer_to_audit=message.also_refer_to_audit,
    )


def treatment_to_proto(treatment: Treatment) -> selection_rule_pb2.Treatment:
    """The Treatment message of a domain treatment."""
    return selection_rule_pb2.Treatment(
        channel=channel_to_proto(treatment.channel),
        examination_level=level_to_proto(treatment.examination_level),
        documents_to_check=[
            selection_rule_pb2.DocumentRequirement(
                document_type_code=d.document_type_code, description=d.description
            )
            for d in treatment.documents_to_check
        ],
        also_refer_to_audit=treatment.also_refer_to_audit,
    )


def selection_rule_from_proto(rule: selection_rule_pb2.SelectionRule, owner: str) -> SelectionRule:
    """The domain rule of ``owner`` (a criterion name); raises ``UnusableRule`` if it cannot run."""
    if not rule.HasField("condition") or not rule.HasField("treatment"):
        raise UnusableRule(f"{owner} has no condition or no treatment")
    scope = selection_rule_pb2.ApprovedTraderScope.Name(rule.approved_traders)
    return SelectionRule(
        condition=condition_from_proto(rule.condition),
        treatment=treatment_from_proto(rule.treatment),
        selection_percent=rule.selection_percent,
        mandatory=rule.mandatory,
        approved_traders=ApprovedTraderScope[_suffix(scope, "APPROVED_TRADER_SCOPE_")],
        priority=rule.priority,
        examiner_instructions=rule.examiner_instructions,
    )


def _optional_time(
    message: criterion_pb2.ActiveCriterion | simulation_pb2.SimulationCriterion, field: str
) -> datetime | None:
    return timestamp_to_datetime(getattr(message, field)) if message.HasField(field) else None


def criterion_from_proto(message: criterion_pb2.ActiveCriterion) -> Criterion:
    """The domain criterion of a published one; raises ``UnusableRule`` if it cannot run."""
    return Criterion(
        name=message.name,
        revision=message.revision,
        title=message.title,
        rule=selection_rule_from_proto(message.rule, message.name),
        validity_start=_optional_time(message, "validity_start_time"),
        validity_end=_optional_time(message, "validity_end_time"),
    )


def simulation_criterion_from_proto(message: simulation_pb2.SimulationCriterion) -> Criterion:
    """A candidate criterion of a simulation; raises ``UnusableRule`` if it cannot run."""
    return Criterion(
        name=message.criterion,
        revision=message.revision,
        title=message.criterion,
        rule=selection_rule_from_proto(message.rule, message.criterion),
        validity_start=_optional_time(message, "validity_start_time"),
        validity_end=_optional_time(message, "validity_end_time"),
    )


def named_list_from_proto(message: named_list_pb2.NamedList) -> NamedList:
    """The domain named list; raises ``UnusableRule`` for an unknown kind."""
    kind = NamedListKind[
        _suffix(named_list_pb2.NamedListKind.Name(message.kind), "NAMED_LIST_KIND_")
    ]
    return NamedList(
        name=message.name,
        kind=kind,
        revision=message.revision,
        entries=frozenset(entry.value for entry in message.entries),
        unit_value_bands=tuple(
            UnitValueBand(
                hs_code_prefix=band.hs_code_prefix,
                basis=_basis(band.basis),
                currency_code=band.currency_code,
                lower=band.lower,
                upper=band.upper,
                origin_country_code=band.origin_country_code,
                supplementary_unit_code=band.supplementary_unit_code,
            )
            for band in message.unit_value_bands
        ),
    )


# --- assessments -------------------------------------------------------------------


def _hit_to_proto(hit: CriterionHit) -> assessment_pb2.CriterionHit:
    return assessment_pb2.CriterionHit(
        criterion=hit.criterion,
        criterion_revision=hit.criterion_revision,
        title=hit.title,
        item_number=hit.item_number,
        treatment=treatment_to_proto(hit.treatment),
        selection_percent=hit.selection_percent,
        mandatory=hit.mandatory,
        priority=hit.priority,
        outcome=f"HIT_OUTCOME_{hit.outcome.name}",
    )


def _hit_from_proto(message: assessment_pb2.CriterionHit) -> CriterionHit:
    return CriterionHit(
        criterion=message.criterion,
        criterion_revision=message.criterion_revision,
        title=message.title,
        item_number=message.item_number,
        treatment=treatment_from_proto(message.treatment),
        selection_percent=message.selection_percent,
        mandatory=message.mandatory,
        priority=message.priority,
        outcome=HitOutcome[
            _suffix(assessment_pb2.HitOutcome.Name(message.outcome), "HIT_OUTCOME_")
        ],
    )


def decision_record(assessment: Assessment) -> bytes:
    """The stored form of the decision: the Assessment message without its declaration."""
    return _assessment_without_declaration(assessment).SerializeToString(deterministic=True)


def _assessment_without_declaration(assessment: Assessment) -> assessment_pb2.Assessment:
    decision, replay = assessment.decision, assessment.replay
    message = assessment_pb2.Assessment(
        name=assessment.name,
        channel=channel_to_proto(decision.channel),
        examination_level=level_to_proto(decision.examination_level),
        refer_to_audit=decision.refer_to_audit,
        documents_to_check=[
            assessment_pb2.DocumentCheck(
                document=selection_rule_pb2.DocumentRequirement(
                    document_type_code=check.document.document_type_code,
                    description=check.document.description,
                ),
                item_numbers=check.item_numbers,
            )
            for check in decision.documents_to_check
        ],
        examiner_instructions=[
            assessment_pb2.ExaminerInstruction(item_number=i.item_number, text=i.text)
            for i in decision.examiner_instructions
        ],
        criterion_hits=[_hit_to_proto(hit) for hit in decision.criterion_hits],
        randomly_selected=decision.randomly_selected,
        risk_score=decision.risk_score,
        importer_approved_trader=decision.importer_approved_trader,
        replay=assessment_pb2.ReplayRecord(
            criteria_revision=replay.criteria_revision,
            named_lists_revision=replay.named_lists_revision,
            trader_profiles_revision=replay.trader_profiles_revision,
            random_examination_rates_revision=replay.random_examination_rates_revision,
            capacity_policies_revision=replay.capacity_policies_revision,
            seed_id=replay.seed_id,
            engine_version=replay.engine_version,
            random_draw_scheme=replay.random_draw_scheme,
            capacity=(
                capacity_snapshot_to_proto(replay.capacity)
                if replay.capacity is not None
                else assessment_pb2.CapacitySnapshot(
                    office_code=assessment.declaration.office_code, known=False
                )
            ),
        ),
        capacity_downgrades=[_downgrade_to_proto(d) for d in decision.capacity_downgrades],
        random_draws=[_random_draw_to_proto(draw) for draw in decision.random_draws],
        create_time=datetime_to_timestamp(assessment.create_time),
    )
    floor = decision.channel_floor
    if floor is not None:
        message.channel_floor.CopyFrom(
            assessment_pb2.ChannelFloor(
                assessment=floor.assessment,
                declaration_number=floor.declaration_number,
                version=floor.version,
                channel=channel_to_proto(floor.channel),
                examination_level=level_to_proto(floor.examination_level),
            )
        )
    _put_risk(message, assessment.risk)
    return message


def _put_risk(message: assessment_pb2.Assessment, risk: RiskScore | None) -> None:
    if risk is None:
        return
    message.risk_model = risk.risk_model
    message.risk_model_digest = risk.digest
    message.risk_model_score = risk.score
    message.risk_reasons.extend(reasons_to_proto(risk.reasons))


def reasons_to_proto(reasons: Sequence[FeatureContribution]) -> list[risk_model_pb2.RiskReason]:
    """The RiskReason messages of feature contributions, in order."""
    return [
        risk_model_pb2.RiskReason(
            feature=reason.feature, value=reason.value, contribution=reason.contribution
        )
        for reason in reasons
    ]


def _risk_from_proto(message: assessment_pb2.Assessment) -> RiskScore | None:
    if not message.risk_model:
        return None
    return RiskScore(
        risk_model=message.risk_model,
        digest=message.risk_model_digest,
        score=message.risk_model_score,
        reasons=tuple(
            FeatureContribution(reason.feature, reason.value, reason.contribution)
            for reason in message.risk_reasons
        ),
    )


def capacity_snapshot_to_proto(snapshot: CapacitySnapshot) -> assessment_pb2.CapacitySnapshot:
    """The CapacitySnapshot message of the capacity a decision saw."""
    return assessment_pb2.CapacitySnapshot(
        office_code=snapshot.office_code,
        day=snapshot.day,
        known=snapshot.known,
        uses=[
            assessment_pb2.CapacityUse(
                channel=channel_to_proto(use.channel),
                examination_level=level_to_proto(use.examination_level),
                capacity=use.capacity,
                used=use.used,
            )
            for use in snapshot.uses
        ],
    )


def capacity_snapshot_from_proto(message: assessment_pb2.CapacitySnapshot) -> CapacitySnapshot:
    """The capacity a stored decision saw."""
    return CapacitySnapshot(
        office_code=message.office_code,
        day=message.day,
        known=message.known,
        uses=tuple(
            CapacityUse(
                channel=channel_from_proto(use.channel),
                examination_level=level_from_proto(use.examination_level),
                capacity=use.capacity,
                used=use.used,
            )
            for use in message.uses
        ),
    )


def _downgrade_to_proto(downgrade: CapacityDowngrade) -> assessment_pb2.CapacityDowngrade:
    kind = downgrade.random_kind
    return assessment_pb2.CapacityDowngrade(
        criterion=downgrade.criterion,
        item_number=downgrade.item_number,
        random_kind=f"RANDOM_EXAMINATION_KIND_{kind.name if kind else 'UNSPECIFIED'}",
        from_channel=channel_to_proto(downgrade.from_channel),
        from_examination_level=level_to_proto(downgrade.from_examination_level),
        to_channel=channel_to_proto(downgrade.to_channel),
        capacity_policy=downgrade.capacity_policy,
        utilisation_percent=downgrade.utilisation_percent,
    )


def _downgrade_from_proto(message: assessment_pb2.CapacityDowngrade) -> CapacityDowngrade:
    kind = assessment_pb2.RandomExaminationKind.Name(message.random_kind)
    kind = kind.removeprefix("RANDOM_EXAMINATION_KIND_")
    return CapacityDowngrade(
        criterion=message.criterion,
        item_number=message.item_number,
        random_kind=None if kind == "UNSPECIFIED" else RandomKind[kind],
        from_channel=channel_from_proto(message.from_channel),
        from_examination_level=level_from_proto(message.from_examination_level),
        to_channel=channel_from_proto(message.to_channel),
        capacity_policy=message.capacity_policy,
        utilisation_percent=message.utilisation_percent,
    )


def random_kind_to_proto(kind: RandomKind) -> str:
    """``RandomKind.PHYSICAL`` → ``"RANDOM_EXAMINATION_KIND_PHYSICAL"``."""
    return f"RANDOM_EXAMINATION_KIND_{kind.name}"


def _random_draw_to_proto(draw: RandomDraw) -> assessment_pb2.RandomDraw:
    return assessment_pb2.RandomDraw(
        kind=random_kind_to_proto(draw.kind),
        random_examination_rate=draw.random_examination_rate,
        rate_percent=draw.rate_percent,
        approved_trader_rate=draw.approved_trader_rate,
        selected=draw.selected,
        examination_level=level_to_proto(draw.examination_level),
    )


def _random_draw_from_proto(message: assessment_pb2.RandomDraw) -> RandomDraw:
    kind = assessment_pb2.RandomExaminationKind.Name(message.kind)
    return RandomDraw(
        kind=RandomKind[_suffix(kind, "RANDOM_EXAMINATION_KIND_")],
        random_examination_rate=message.random_examination_rate,
        rate_percent=message.rate_percent,
        approved_trader_rate=message.approved_trader_rate,
        selected=message.selected,
        examination_level=level_from_proto(message.examination_level),
    )


def assessment_from_record(assessment_id: str, content: bytes, record: bytes) -> Assessment:
    """The domain assessment of its stored declaration content and decision record."""
    message = assessment_pb2.Assessment.FromString(record)
    replay = message.replay
    decision = Decision(
        channel=channel_from_proto(message.channel),
        examination_level=level_from_proto(message.examination_level),
        refer_to_audit=message.refer_to_audit,
        documents_to_check=tuple(
            DocumentCheck(_document_requirement(check.document), tuple(check.item_numbers))
            for check in message.documents_to_check
        ),
        examiner_instructions=tuple(
            ExaminerInstruction(i.item_number, i.text) for i in message.examiner_instructions
        ),
        criterion_hits=tuple(_hit_from_proto(hit) for hit in message.criterion_hits),
        risk_score=message.risk_score,
        importer_approved_trader=message.importer_approved_trader,
        randomly_selected=message.randomly_selected,
        capacity_downgrades=tuple(_downgrade_from_proto(d) for d in message.capacity_downgrades),
        random_draws=tuple(_random_draw_from_proto(draw) for draw in message.random_draws),
        channel_floor=(
            ChannelFloor(
                assessment=message.channel_floor.assessment,
                declaration_number=message.channel_floor.declaration_number,
                version=message.channel_floor.version,
                channel=channel_from_proto(message.channel_floor.channel),
                examination_level=level_from_proto(message.channel_floor.examination_level),
            )
            if message.HasField("channel_floor")
            else None
        ),
    )
    return Assessment(
        assessment_id=assessment_id,
        declaration=declaration_from_content(content),
        declaration_content=content,
        decision=decision,
        replay=ReplayRecord(
            criteria_revision=replay.criteria_revision,
            named_lists_revision=replay.named_lists_revision,
            seed_id=replay.seed_id,
            engine_version=replay.engine_version,
            trader_profiles_revision=replay.trader_profiles_revision,
            random_examination_rates_revision=replay.random_examination_rates_revision,
            capacity_policies_revision=replay.capacity_policies_revision,
            capacity=(
                capacity_snapshot_from_proto(replay.capacity) if replay.capacity.day else None
            ),
            random_draw_scheme=replay.random_draw_scheme or 1,
        ),
        create_time=timestamp_to_datetime(message.create_time),
        risk=_risk_from_proto(message),
    )


def assessment_to_proto(
    assessment: Assessment, *, with_items: bool = True
) -> assessment_pb2.Assessment:
    """The Assessment message callers receive; ``with_items`` False is the BASIC view.

    The etag is a checksum of the full assessment, the same in every view.
    """
    message = _assessment_without_declaration(assessment)
    message.declaration.ParseFromString(assessment.declaration_content)
    message.etag = hashlib.sha256(message.SerializeToString(deterministic=True)).hexdigest()[:32]
    if not with_items:
        del message.declaration.items[:]
    return message
