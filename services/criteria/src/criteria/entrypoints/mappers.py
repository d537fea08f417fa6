"""Contract messages to domain objects and back, and the contract's encodings.

Also reads the facts the domain checks about a selection rule (depth,
predicates, named lists tested) while decoding it, and applies update masks,
which are defined on the messages.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from customs.common.v1 import money_pb2, selection_rule_pb2, selectivity_pb2
from customs.criteria.v1 import (
    criteria_service_pb2,
    criterion_pb2,
    events_pb2,
    history_pb2,
    impact_analysis_pb2,
    named_list_pb2,
    oversight_report_pb2,
    performance_pb2,
    recommendation_pb2,
    risk_model_pb2,
    risk_profile_pb2,
)
from google.protobuf import json_format, timestamp_pb2
from google.protobuf.message import Message

from criteria.domain.commands import CriterionPatch, NamedListPatch, RiskProfilePatch
from criteria.domain.history import HistoryEntry
from criteria.domain.impact import ImpactAnalysis
from criteria.domain.model import (
    Actor,
    Criterion,
    CriterionContent,
    CriterionDraft,
    Document,
    NamedList,
    NamedListContent,
    NamedListKind,
    NamedListUse,
    ProfileSource,
    RiskProfile,
    RiskProfileContent,
    RuleFacts,
)
from criteria.domain.outcomes import (
    Amount,
    AuditFinding,
    CriterionHit,
    ExaminationOutcome,
    ReceivedEvent,
)
from criteria.domain.oversight import OversightReport
from criteria.domain.performance import CriterionPerformance
from criteria.domain.recommendations import (
    DEFAULT_REVIEW_DOCUMENT,
    Recommendation,
    RuleTerms,
)
from criteria.service_layer.handlers import CRITERION_FEED, RISK_MODEL_FEED, Period
from criteria.service_layer.watch import SnapshotEnded, SnapshotStarted, WatchEvent
from customs_kit.auth import Principal
from customs_kit.changefeed import Change
from customs_kit.checkpoints import AnchorCheck, AnchorState
from customs_kit.errors import FieldViolation, InvalidArgument
from customs_kit.interceptors import violations_of

# Recorded in the history without the fields that change with every write
# (update_time, etag) or that name the resource itself.
_UNRECORDED = frozenset({"name", "create_time", "update_time", "etag"})


def actor(principal: Principal) -> Actor:
    """The caller as the domain records it."""
    return Actor(principal.subject, tuple(sorted(role.value for role in principal.roles)))


def _timestamp(value: datetime | None) -> timestamp_pb2.Timestamp | None:
    if value is None:
        return None
    stamp = timestamp_pb2.Timestamp()
    stamp.FromDatetime(value)
    return stamp


def _datetime(message: Message, field: str) -> datetime | None:
    if not message.HasField(field):
        return None
    stamp: timestamp_pb2.Timestamp = getattr(message, field)
    return stamp.ToDatetime(tzinfo=UTC)


def _encode(message: Message) -> bytes:
    return message.SerializeToString(deterministic=True)


def _prefixed(prefix: str, error: InvalidArgument) -> InvalidArgument:
    return InvalidArgument(
        [
            FieldViolation(f"{prefix}.{v.field}" if v.field else prefix, v.description)
            for v in error.field_violations
        ]
    )


def _check(message: Message, prefix: str) -> None:
    # The request was validated as sent; an update mask can combine the stored
    # message with the request's fields into something that breaks a rule.
    violations = violations_of(message)
    if violations:
        raise _prefixed(prefix, InvalidArgument(violations))


# -- risk profiles -----------------------------------------------------------


def risk_profile_content(message: risk_profile_pb2.RiskProfile) -> RiskProfileContent:
    """The content of a profile as written in a request."""
    return RiskProfileContent(
        title=message.title,
        risk_area=risk_profile_pb2.RiskArea.Name(message.risk_area),
        priority=message.priority,
        rationale=message.rationale,
        sources=tuple(
            ProfileSource(
                risk_profile_pb2.SourceKind.Name(source.kind), source.description, source.reference
            )
            for source in message.sources
        ),
        indicators=tuple(message.indicators),
        intended_treatment=Document(_encode(message.intended_treatment)),
        owner=message.owner,
        next_review_date=message.next_review_date,
    )


def _profile_content_message(content: RiskProfileContent) -> risk_profile_pb2.RiskProfile:
    return risk_profile_pb2.RiskProfile(
        title=content.title,
        risk_area=content.risk_area,
        priority=content.priority,
        rationale=content.rationale,
        sources=[
            risk_profile_pb2.ProfileSource(
                kind=source.kind,
                description=source.description,
                reference=source.reference,
            )
            for source in content.sources
        ],
        indicators=content.indicators,
        intended_treatment=selection_rule_pb2.Treatment.FromString(
            content.intended_treatment.encoded
        ),
        owner=content.owner,
        next_review_date=content.next_review_date,
    )


def risk_profile_patch(
    request: criteria_service_pb2.UpdateRiskProfileRequest,
) -> RiskProfilePatch:
    """The request's update mask applied to a profile's content."""

    def patch(current: RiskProfileContent) -> RiskProfileContent:
        merged = _profile_content_message(current)
        request.update_mask.MergeMessage(
            request.risk_profile, merged, replace_message_field=True, replace_repeated_field=True
        )
        _check(merged, "risk_profile")
        return risk_profile_content(merged)

    return patch


def risk_profile_message(profile: RiskProfile) -> risk_profile_pb2.RiskProfile:
    """A profile as the contract returns it."""
    message = _profile_content_message(profile.content)
    message.MergeFrom(
        risk_profile_pb2.RiskProfile(
            name=profile.name,
            revision=profile.revision,
            create_time=_timestamp(profile.create_time),
            update_time=_timestamp(profile.update_time),
            etag=profile.etag,
        )
    )
    return message


# -- criteria ----------------------------------------------------------------


def rule_facts(rule: selection_rule_pb2.SelectionRule, path: str = "rule") -> RuleFacts:
    """Depth, predicate count and named lists of a rule; ``path`` prefixes field paths."""
    uses: list[NamedListUse] = []
    predicates = 0

    def depth(condition: selection_rule_pb2.Condition, at: str) -> int:
        nonlocal predicates
        kind = condition.WhichOneof("kind")
        if kind is None:
            return 0
        if kind == "predicate":
            predicates += 1
            predicate = condition.predicate
            test = predicate.WhichOneof("test")
            if test == "in_named_list":
                uses.append(
                    NamedListUse(
                        f"{at}.predicate.in_named_list.named_list",
                        predicate.in_named_list.named_list,
                        selection_rule_pb2.CodeElement.Name(predicate.in_named_list.element),
                    )
                )
            elif test == "unit_value":
                uses.append(
                    NamedListUse(
                        f"{at}.predicate.unit_value.named_list",
                        predicate.unit_value.named_list,
                        None,
                    )
                )
            return 1
        operands: selection_rule_pb2.ConditionList = getattr(condition, kind)
        return 1 + max(
            (
                depth(operand, f"{at}.{kind}.conditions[{index}]")
                for index, operand in enumerate(operands.conditions)
            ),
            default=0,
        )

    levels = depth(rule.condition, f"{path}.condition")
    return RuleFacts(levels, predicates, tuple(uses))


def criterion_draft(message: criterion_pb2.Criterion) -> CriterionDraft:
    """The content of a criterion as written in a request, with its rule's facts."""
    content = CriterionContent(
        risk_profile=message.risk_profile,
        title=message.title,
        description=message.description,
        rule=Document(_encode(message.rule)),
        validity_start=_datetime(message, "validity_start_time"),
        validity_end=_datetime(message, "validity_end_time"),
        campaign_tag=message.campaign_tag,
    )
    return CriterionDraft(content, rule_facts(message.rule))


def _content_message(content: CriterionContent) -> criterion_pb2.Criterion:
    return criterion_pb2.Criterion(
        risk_profile=content.risk_profile,
        title=content.title,
        description=content.description,
        rule=selection_rule_pb2.SelectionRule.FromString(content.rule.encoded),
        validity_start_time=_timestamp(content.validity_start),
        validity_end_time=_timestamp(content.validity_end),
        campaign_tag=content.campaign_tag,
    )


def criterion_patch(request: criteria_service_pb2.UpdateCriterionRequest) -> CriterionPatch:
    """The request's update mask applied to a criterion's latest content."""

    def patch(current: CriterionContent) -> CriterionDraft:
        merged = _content_message(current)
        request.update_mask.MergeMessage(
            request.criterion, merged, replace_message_field=True, replace_repeated_field=True
        )
        _check(merged, "criterion")
        return criterion_draft(merged)

    return patch


def criterion_message(criterion: Criterion) -> criterion_pb2.Criterion:
    """A criterion (its latest revision) as the contract returns it."""
    message = _content_message(criterion.latest.content)
    message.MergeFrom(
        criterion_pb2.Criterion(
            name=criterion.name,
            state=criterion.state.value,
            amendment_state=criterion.amendment_state.value,
            revision=criterion.revision,
            active_revision=criterion.active_revision,
            author=criterion.author,
            revision_author=criterion.latest.author,
            approver=criterion.approver,
            approve_time=_timestamp(criterion.approve_time),
            risk_area=criterion.latest.risk_area,
            create_time=_timestamp(criterion.create_time),
            update_time=_timestamp(criterion.update_time),
            etag=criterion.etag,
        )
    )
    return message


def active_criterion_message(criterion: Criterion) -> criterion_pb2.ActiveCriterion:
    """The applied revision of a criterion as scoring receives it.

    A window without a start starts at approval, so scoring does not apply the
    criterion to declarations lodged before it was approved.
    """
    active = criterion.active
    if active is None:
        raise ValueError(f"{criterion.name} has no applied revision")
    content = active.content
    return criterion_pb2.ActiveCriterion(
        name=criterion.name,
        revision=active.number,
        title=content.title,
        risk_profile=content.risk_profile,
        risk_area=active.risk_area,
        rule=selection_rule_pb2.SelectionRule.FromString(content.rule.encoded),
        validity_start_time=_timestamp(content.validity_start or criterion.approve_time),
        validity_end_time=_timestamp(content.validity_end),
        campaign_tag=content.campaign_tag,
    )


# -- named lists -------------------------------------------------------------


def named_list_content(message: named_list_pb2.NamedList) -> NamedListContent:
    """The content of a list as written in a request."""
    items = named_list_pb2.NamedList(
        entries=message.entries, unit_value_bands=message.unit_value_bands
    )
    return NamedListContent(
        title=message.title,
        description=message.description,
        kind=NamedListKind(named_list_pb2.NamedListKind.Name(message.kind)),
        items=Document(_encode(items)),
    )


def named_list_message(named_list: NamedList, *, full: bool = True) -> named_list_pb2.NamedList:
    """A list as the contract returns it; without entries and bands unless ``full``."""
    content = named_list.content
    message = named_list_pb2.NamedList(
        name=named_list.name,
        title=content.title,
        description=content.description,
        kind=content.kind.value,
        revision=named_list.revision,
        last_editor=named_list.last_editor,
        create_time=_timestamp(named_list.create_time),
        update_time=_timestamp(named_list.update_time),
        etag=named_list.etag,
    )
    if full:
        message.MergeFrom(named_list_pb2.NamedList.FromString(content.items.encoded))
    return message


def named_list_patch(request: criteria_service_pb2.UpdateNamedListRequest) -> NamedListPatch:
    """The request's update mask applied to a list's content (its kind kept)."""

    def patch(current: NamedListContent) -> NamedListContent:
        merged = named_list_pb2.NamedList(
            title=current.title, description=current.description, kind=current.kind.value
        )
        merged.MergeFrom(named_list_pb2.NamedList.FromString(current.items.encoded))
        request.update_mask.MergeMessage(
            request.named_list, merged, replace_message_field=True, replace_repeated_field=True
        )
        _check(merged, "named_list")
        return named_list_content(merged)

    return patch


# -- history -----------------------------------------------------------------


def change_record(entry: HistoryEntry, *, with_hash: bool = True) -> history_pb2.ChangeRecord:
    """A history entry as the contract returns it (and, without its hash, hashes it)."""
    return history_pb2.ChangeRecord(
        sequence=entry.sequence,
        resource=entry.resource,
        kind=entry.kind.value,
        actor=entry.actor,
        actor_roles=entry.actor_roles,
        change_time=_timestamp(entry.change_time),
        reason=entry.reason,
        field_changes=[
            history_pb2.FieldChange(
                path=change.path, old_value=change.old_value, new_value=change.new_value
            )
            for change in entry.field_changes
        ],
        previous_hash=entry.previous_hash,
        hash=entry.hash if with_hash else "",
    )


def criterion_version(criterion: Criterion, entry: HistoryEntry) -> history_pb2.CriterionVersion:
    """One recorded change of a criterion with the criterion right after it."""
    return history_pb2.CriterionVersion(
        name=f"{criterion.name}/versions/{criterion.version}",
        version=criterion.version,
        criterion=criterion_message(criterion),
        change=change_record(entry),
    )


def named_list_version(named_list: NamedList, entry: HistoryEntry) -> history_pb2.NamedListVersion:
    """One recorded change of a list with the list right after it."""
    return history_pb2.NamedListVersion(
        name=f"{named_list.name}/versions/{named_list.revision}",
        version=named_list.revision,
        named_list=named_list_message(named_list),
        change=change_record(entry),
    )


def verification_message(
    anchored: AnchorCheck, verify_time: datetime
) -> history_pb2.HistoryVerification:
    """The result of a chain check, compared with its latest checkpoint, as the contract says."""
    verification = anchored.verification
    checkpoint = anchored.checkpoint
    message = history_pb2.HistoryVerification(
        intact=verification.intact,
        entries_verified=verification.entries_verified,
        first_invalid_sequence=verification.first_invalid_sequence,
        first_invalid_resource=verification.first_invalid_resource,
        problem=verification.problem,
        head_hash=verification.head_hash,
        verify_time=_timestamp(verify_time),
        rewritten=anchored.state is AnchorState.REWRITTEN,
        anchor_state=f"HISTORY_ANCHOR_STATE_{anchored.state.value}",
    )
    if checkpoint is not None:
        message.checkpoint_sequence = checkpoint.sequence
        message.checkpoint_head_hash = checkpoint.head_hash
        message.checkpoint_sign_time.FromDatetime(checkpoint.sign_time)
    return message


# -- impact analysis -----------------------------------------------------------


def impact_analysis_message(analysis: ImpactAnalysis) -> impact_analysis_pb2.ImpactAnalysis:
    """An impact analysis as the contract returns it."""
    return impact_analysis_pb2.ImpactAnalysis(
        name=analysis.name,
        criterion_revision=analysis.criterion_revision,
        start_time=_timestamp(analysis.start_time),
        end_time=_timestamp(analysis.end_time),
        declarations_replayed=analysis.declarations_replayed,
        hits=analysis.hits,
        selections=analysis.selections,
        office_days=[
            impact_analysis_pb2.OfficeDayImpact(
                office_code=day.office_code,
                day=day.day,
                hits=day.hits,
                selections=day.selections,
                overlap_with_active=day.overlap_with_active,
                audit_referrals_added=day.audit_referrals_added,
                examinations=[
                    impact_analysis_pb2.ExaminationLoad(
                        channel=load.examination_type.channel,
                        examination_level=load.examination_type.level,
                        added=load.added,
                        total=load.total,
                        capacity=load.capacity or 0,
                        capacity_known=load.capacity is not None,
                        exceeds_capacity=load.exceeds_capacity,
                    )
                    for load in day.examinations
                ],
                exceeds_capacity=day.exceeds_capacity,
            )
            for day in analysis.office_days
        ],
        capacity_exceedances=[
            impact_analysis_pb2.CapacityExceedance(
                office_code=exceedance.office_code,
                days_exceeded=exceedance.days_exceeded,
                worst_day=exceedance.worst_day,
                worst_utilisation_percent=exceedance.worst_utilisation_percent,
            )
            for exceedance in analysis.capacity_exceedances
        ],
        overlaps=[
            impact_analysis_pb2.CriterionOverlap(
                criterion=overlap.criterion, shared_selections=overlap.shared_selections
            )
            for overlap in analysis.overlaps
        ],
        scoring_criteria_revision=analysis.scoring_criteria_revision,
        requested_by=analysis.requested_by,
        create_time=_timestamp(analysis.create_time),
    )


# -- results from the field ---------------------------------------------------


def received_event(
    request: criteria_service_pb2.IngestExaminationOutcomeEventRequest
    | criteria_service_pb2.IngestAuditFindingEventRequest,
) -> ReceivedEvent:
    """Where an ingested event came from (its required fields were validated)."""
    return ReceivedEvent(
        request.event_id, request.source_service, request.occur_time.ToDatetime(tzinfo=UTC)
    )


def _amount(message: Message, field: str) -> Amount | None:
    if not message.HasField(field):
        return None
    money: money_pb2.Money = getattr(message, field)
    return Amount(money.currency_code, money.units, money.nanos)


def examination_outcome(message: events_pb2.ExaminationOutcome) -> ExaminationOutcome:
    """An examination outcome as exam_reports sends it."""
    return ExaminationOutcome(
        examination_report=message.examination_report,
        assessment=message.assessment,
        declaration_number=message.declaration_number,
        declaration_version=message.declaration_version,
        office_code=message.office_code,
        importer_id=message.importer_id,
        declarant_id=message.declarant_id,
        examine_time=message.examine_time.ToDatetime(tzinfo=UTC),
        channel=selectivity_pb2.Channel.Name(message.channel),
        examination_level=selectivity_pb2.ExaminationLevel.Name(message.examination_level),
        randomly_selected=message.randomly_selected,
        officer_initiated=message.officer_initiated,
        discrepancy_found=message.discrepancy_found,
        criterion_hits=tuple(
            CriterionHit(
                hit.criterion, hit.criterion_revision, hit.item_number, hit.discrepancy_found
            )
            for hit in message.criterion_outcomes
        ),
        revenue_found=_amount(message, "revenue_found"),
        penalty_recommended=message.penalty_recommended,
        seized=message.seized,
    )


def audit_finding(message: events_pb2.AuditFinding) -> AuditFinding:
    """An audit finding as audit_referral sends it."""
    return AuditFinding(
        audit_case=message.audit_case,
        importer_id=message.importer_id,
        declaration_numbers=tuple(message.declaration_numbers),
        criteria=tuple(message.criteria),
        outcome=events_pb2.AuditOutcome.Name(message.outcome),
        discrepancy_found=message.discrepancy_found,
        unpaid_duty_assessed=_amount(message, "unpaid_duty_assessed"),
        penalty_amount=_amount(message, "penalty_amount"),
        finding_time=message.finding_time.ToDatetime(tzinfo=UTC),
    )


# -- performance, recommendations, oversight -------------------------------------


def period(
    start: timestamp_pb2.Timestamp, end: timestamp_pb2.Timestamp, office_code: str = ""
) -> Period:
    """A requested period (its bounds were validated as present and ordered)."""
    return Period(start.ToDatetime(tzinfo=UTC), end.ToDatetime(tzinfo=UTC), office_code)


def _money(amount: Amount | None) -> money_pb2.Money | None:
    if amount is None:
        return None
    return money_pb2.Money(
        currency_code=amount.currency_code, units=amount.units, nanos=amount.nanos
    )


def performance_message(
    performance: CriterionPerformance,
) -> performance_pb2.CriterionPerformance:
    """A criterion's results as the contract returns them."""
    interval = performance.hit_rate_interval
    message = performance_pb2.CriterionPerformance(
        criterion=performance.criterion,
        title=performance.title,
        office_code=performance.office_code,
        start_time=_timestamp(performance.start_time),
        end_time=_timestamp(performance.end_time),
        examinations=performance.examinations,
        discrepancies=performance.discrepancies,
        hit_rate=performance.hit_rate,
        hit_rate_interval=performance_pb2.ProportionInterval(
            lower=interval.lower, upper=interval.upper, confidence=interval.confidence
        ),
        random_examinations=performance.random_examinations,
        random_discrepancies=performance.random_discrepancies,
        random_discrepancy_rate=performance.random_discrepancy_rate,
        seizures=performance.seizures,
        penalties_recommended=performance.penalties_recommended,
        revenue_found=_money(performance.revenue_found),
        audit_findings=performance.audit_findings,
        audit_duty_assessed=_money(performance.audit_duty_assessed),
        consecutive_negative_results=performance.consecutive_negative_results,
        last_discrepancy_time=_timestamp(performance.last_discrepancy_time),
    )
    if performance.lift is not None:
        message.lift = performance.lift
    return message


def recommendation_message(
    recommendation: Recommendation,
) -> recommendation_pb2.Recommendation:
    """A recommendation as the contract returns it."""
    treatment = recommendation.suggested_treatment
    message = recommendation_pb2.Recommendation(
        name=recommendation.name,
        criterion=recommendation.criterion,
        criterion_revision=recommendation.criterion_revision,
        kind=recommendation.kind.value,
        state=recommendation.state.value,
        rationale=recommendation.rationale,
        trader_id=recommendation.trader_id,
        consecutive_negative_results=recommendation.consecutive_negative_results,
        discrepancies=recommendation.discrepancies,
        declaration_numbers=recommendation.declaration_numbers,
        suggested_treatment=(
            selection_rule_pb2.Treatment.FromString(treatment.encoded)
            if treatment is not None
            else None
        ),
        decided_by=recommendation.decided_by,
        decision_reason=recommendation.decision_reason,
        decide_time=_timestamp(recommendation.decide_time),
        resulting_criterion_revision=recommendation.resulting_criterion_revision,
        create_time=_timestamp(recommendation.create_time),
        etag=recommendation.etag,
        risk_model=recommendation.risk_model,
    )
    if recommendation.suggested_selection_percent is not None:
        message.suggested_selection_percent = recommendation.suggested_selection_percent
    return message


def oversight_report_message(report: OversightReport) -> oversight_report_pb2.OversightReport:
    """The oversight report as the contract returns it."""
    disparity = report.disparity
    return oversight_report_pb2.OversightReport(
        start_time=_timestamp(report.start_time),
        end_time=_timestamp(report.end_time),
        generate_time=_timestamp(report.generate_time),
        criteria=[
            oversight_report_pb2.OversightCriterion(
                criterion=f"criteria/{item.criterion_id}",
                title=item.title,
                risk_profile=item.risk_profile,
                risk_area=item.risk_area,
                state=item.standing.state.value,
                active_revision=item.standing.active_revision,
                inactivate_time=_timestamp(item.standing.inactivate_time),
                performance=performance_message(item.performance),
            )
            for item in report.criteria
        ],
        changes=[change_record(entry) for entry in report.changes],
        approvals=[
            oversight_report_pb2.OversightApproval(
                criterion=approval.criterion,
                revision=approval.revision,
                author=approval.author,
                approver=approval.approver,
                approve_time=_timestamp(approval.approve_time),
                impact_analysis=approval.impact_analysis,
                capacity_justification=approval.capacity_justification,
            )
            for approval in report.approvals
        ],
        analysts=[
            oversight_report_pb2.AnalystActivity(
                analyst=activity.analyst,
                criteria_created=activity.criteria_created,
                revisions=activity.revisions,
                submissions=activity.submissions,
                approvals_received=activity.approvals_received,
                rejections_received=activity.rejections_received,
                suspensions=activity.suspensions,
                retirements=activity.retirements,
                named_list_changes=activity.named_list_changes,
                recommendations_accepted=activity.recommendations_accepted,
                recommendations_dismissed=activity.recommendations_dismissed,
            )
            for activity in report.analysts
        ],
        pending_recommendations=[
            recommendation_message(recommendation)
            for recommendation in report.pending_recommendations
        ],
        history_intact=report.history_intact,
        history_head_hash=report.history_head_hash,
        disparity=oversight_report_pb2.OversightDisparity(
            available=disparity.available,
            declarations=disparity.declarations,
            random_outcomes=disparity.random_outcomes,
            findings=[
                oversight_report_pb2.OversightDisparityFinding(
                    selector=finding.selector,
                    dimension=finding.dimension,
                    segment=finding.segment,
                    disparity_ratio=finding.disparity_ratio,
                    adjusted_p_value=finding.adjusted_p_value,
                    driving_criteria=finding.driving_criteria,
                )
                for finding in disparity.findings
            ],
        ),
    )


# -- watch stream ------------------------------------------------------------


def watch_response(event: WatchEvent) -> criteria_service_pb2.WatchActiveCriteriaResponse:
    """One message of the WatchActiveCriteria stream."""
    response = criteria_service_pb2.WatchActiveCriteriaResponse(revision=event.revision)
    if isinstance(event, SnapshotStarted):
        response.snapshot_start.criteria_count = event.criteria_count
        response.snapshot_start.named_lists_count = event.named_lists_count
    elif isinstance(event, SnapshotEnded):
        response.snapshot_end.SetInParent()
    else:
        _put_change(response, event)
    return response


def _put_change(response: criteria_service_pb2.WatchActiveCriteriaResponse, change: Change) -> None:
    if change.kind == RISK_MODEL_FEED:
        response.risk_model.ParseFromString(change.payload or b"")
    elif change.kind == CRITERION_FEED:
        if change.payload is None:
            response.removed_criterion = change.key
        else:
            response.criterion.ParseFromString(change.payload)
    elif change.payload is None:
        response.removed_named_list = change.key
    else:
        response.named_list.ParseFromString(change.payload)


# -- encodings for history and change feed ------------------------------------


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _entry_key(entry: Mapping[str, Any]) -> str:
    return str(entry.get("value", ""))


def _band_key(band: Mapping[str, Any]) -> str:
    parts = ("hsCodePrefix", "originCountryCode", "basis", "supplementaryUnitCode")
    return "/".join(str(band.get(part, "")) for part in parts)


#: Repeated fields recorded element by element, keyed the way they are unique.
_KEYED: Mapping[str, Callable[[Mapping[str, Any]], str]] = {
    "entries": _entry_key,
    "unit_value_bands": _band_key,
}
#: Message fields recorded sub-field by sub-field ("rule.selection_percent").
_NESTED = frozenset({"rule"})


def fields(message: Message) -> dict[str, str]:
    """Field path → proto3 JSON value of every set field a change is recorded on."""
    as_json = json_format.MessageToDict(message)
    flat: dict[str, str] = {}
    for field, value in message.ListFields():
        if field.name in _UNRECORDED:
            continue
        rendered = as_json[field.json_name]
        if field.name in _NESTED:
            sub_json = json_format.MessageToDict(value)
            for sub_field, _ in value.ListFields():
                flat[f"{field.name}.{sub_field.name}"] = _json(sub_json[sub_field.json_name])
        elif field.name in _KEYED:
            key_of = _KEYED[field.name]
            for element in rendered:
                flat[f'{field.name}["{key_of(element)}"]'] = _json(element)
        else:
            flat[field.name] = _json(rendered)
    return flat


class ProtoEncoder:
    """The contract's encodings of domain objects (the service layer's ``Encoder``)."""

    def active_risk_model(self, name: str, digest: str) -> bytes:
        """The ActiveRiskModel message the watch stream carries."""
        return risk_model_pb2.ActiveRiskModel(name=name, digest=digest).SerializeToString(
            deterministic=True
        )

    def criterion_fields(self, criterion: Criterion) -> Mapping[str, str]:
        """Recorded fields of a criterion."""
        return fields(criterion_message(criterion))

    def risk_profile_fields(self, profile: RiskProfile) -> Mapping[str, str]:
        """Recorded fields of a profile."""
        return fields(risk_profile_message(profile))

    def named_list_fields(self, named_list: NamedList) -> Mapping[str, str]:
        """Recorded fields of a list."""
        return fields(named_list_message(named_list))

    def active_criterion(self, criterion: Criterion) -> bytes:
        """The applied revision as the watch stream sends it."""
        return _encode(active_criterion_message(criterion))

    def named_list(self, named_list: NamedList) -> bytes:
        """A list as the watch stream sends it."""
        return _encode(named_list_message(named_list))

    def validity_end(self, active_criterion: bytes) -> datetime | None:
        """The end of the window of an encoded applied criterion."""
        return _datetime(
            criterion_pb2.ActiveCriterion.FromString(active_criterion), "validity_end_time"
        )

    def change_record(self, entry: HistoryEntry) -> bytes:
        """Deterministic protobuf of the entry without its hash (what the hash covers)."""
        return _encode(change_record(entry, with_hash=False))

    def rule_terms(self, rule: Document) -> RuleTerms:
        """Percentage and treatment of a rule, and the document review that could replace it."""
        decoded = selection_rule_pb2.SelectionRule.FromString(rule.encoded)
        treatment = decoded.treatment
        documents = list(treatment.documents_to_check) or [
            selection_rule_pb2.DocumentRequirement(
                document_type_code=DEFAULT_REVIEW_DOCUMENT[0],
                description=DEFAULT_REVIEW_DOCUMENT[1],
            )
        ]
        review = selection_rule_pb2.Treatment(
            channel=selectivity_pb2.CHANNEL_YELLOW,
            documents_to_check=documents,
            also_refer_to_audit=treatment.also_refer_to_audit,
        )
        return RuleTerms(
            selection_percent=decoded.selection_percent,
            physical=treatment.channel == selectivity_pb2.CHANNEL_RED,
            document_review=Document(_encode(review)),
        )

    def revise_rule(
        self, rule: Document, *, selection_percent: float | None, treatment: Document | None
    ) -> Document:
        """The rule with a new percentage and/or treatment."""
        decoded = selection_rule_pb2.SelectionRule.FromString(rule.encoded)
        if selection_percent is not None:
            decoded.selection_percent = selection_percent
        if treatment is not None:
            decoded.treatment.CopyFrom(selection_rule_pb2.Treatment.FromString(treatment.encoded))
        return Document(_encode(decoded))

    def named_lists_of(self, rule: Document) -> frozenset[str]:
        """The named lists a rule tests."""
        facts = rule_facts(selection_rule_pb2.SelectionRule.FromString(rule.encoded))
        return frozenset(use.named_list for use in facts.named_list_uses)
