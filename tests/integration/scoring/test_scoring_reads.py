"""Reading stored assessments: get, list with filters and pages, explain and replay."""

from __future__ import annotations

from datetime import timedelta

import grpc
import pytest
from customs.common.v1 import selectivity_pb2
from customs.criteria.v1 import criteria_service_pb2
from customs.scoring.v1 import assessment_pb2, scoring_service_pb2, scoring_service_pb2_grpc
from scoring_support import LODGED, StartScoring, declaration, item

from customs_kit.auth import Role
from customs_kit.testing.services import SigningKeys
from scoring.domain.draws import SelectionSeed

Stub = scoring_service_pb2_grpc.ScoringServiceStub


async def _lodge(
    stub: Stub, test_keys: SigningKeys, *messages: object
) -> list[assessment_pb2.Assessment]:
    metadata = test_keys.metadata(Role.DECLARATION_SYSTEM)
    assessments = []
    for message in messages:
        response = await stub.AssessDeclaration(
            scoring_service_pb2.AssessDeclarationRequest(declaration=message), metadata=metadata
        )
        assessments.append(response.assessment)
    return assessments


async def test_an_assessment_reads_back_as_decided(stub: Stub, test_keys: SigningKeys) -> None:
    [decided] = await _lodge(stub, test_keys, declaration("30/2026/000100", item(1), item(2)))

    full = await stub.GetAssessment(
        scoring_service_pb2.GetAssessmentRequest(name=decided.name),
        metadata=test_keys.metadata(Role.AUDITOR),
    )
    basic = await stub.GetAssessment(
        scoring_service_pb2.GetAssessmentRequest(
            name=decided.name, view=assessment_pb2.ASSESSMENT_VIEW_BASIC
        ),
        metadata=test_keys.metadata(Role.SERVICE),
    )

    # Read back, the assessment also says where its events stand.
    assert full.assessment.delivery_state != assessment_pb2.DELIVERY_STATE_UNSPECIFIED
    full.assessment.ClearField("delivery_state")
    assert full.assessment == decided
    assert list(basic.assessment.declaration.items) == []
    assert basic.assessment.etag == decided.etag


async def test_an_unknown_assessment_is_not_found(stub: Stub, test_keys: SigningKeys) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await stub.GetAssessment(
            scoring_service_pb2.GetAssessmentRequest(name="assessments/nope"),
            metadata=test_keys.metadata(Role.ANALYST),
        )

    assert raised.value.code() == grpc.StatusCode.NOT_FOUND


async def test_officers_may_not_read_assessments(stub: Stub, test_keys: SigningKeys) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await stub.ListAssessments(
            scoring_service_pb2.ListAssessmentsRequest(),
            metadata=test_keys.metadata(Role.OFFICER),
        )

    assert raised.value.code() == grpc.StatusCode.PERMISSION_DENIED


async def test_assessments_list_newest_first_by_filter_and_page(
    stub: Stub, test_keys: SigningKeys
) -> None:
    hour = timedelta(hours=1)
    await _lodge(
        stub,
        test_keys,
        declaration("30/2026/000201", lodged=LODGED),
        declaration("30/2026/000202", item(1, hs_code="240220"), lodged=LODGED + hour),
        declaration("40/2026/000203", office_code="40", lodged=LODGED + 2 * hour),
        declaration("30/2026/000204", importer={"id": "OTHER01"}, lodged=LODGED + 3 * hour),
        declaration("30/2026/000205", lodged=LODGED + 4 * hour),
    )
    analyst = test_keys.metadata(Role.ANALYST)

    async def numbers(**filters: object) -> list[str]:
        response = await stub.ListAssessments(
            scoring_service_pb2.ListAssessmentsRequest(**filters), metadata=analyst
        )
        return [a.declaration.declaration_number for a in response.assessments]

    assert await numbers() == [
        "30/2026/000205",
        "30/2026/000204",
        "40/2026/000203",
        "30/2026/000202",
        "30/2026/000201",
    ]
    assert await numbers(office_code="40") == ["40/2026/000203"]
    assert await numbers(channel=selectivity_pb2.CHANNEL_RED) == ["30/2026/000202"]
    assert await numbers(trader_id="OTHER01") == ["30/2026/000204"]
    assert await numbers(trader_id="ZZR1LT6", office_code="40") == ["40/2026/000203"]

    window = scoring_service_pb2.ListAssessmentsRequest()
    window.lodgement_start_time.FromDatetime(LODGED + hour)
    window.lodgement_end_time.FromDatetime(LODGED + 3 * hour)
    response = await stub.ListAssessments(window, metadata=analyst)
    assert [a.declaration.declaration_number for a in response.assessments] == [
        "40/2026/000203",
        "30/2026/000202",
    ]
    assert all(len(a.declaration.items) == 0 for a in response.assessments)

    pages: list[list[str]] = []
    token = ""
    while True:
        page = await stub.ListAssessments(
            scoring_service_pb2.ListAssessmentsRequest(page_size=2, page_token=token),
            metadata=analyst,
        )
        pages.append([a.declaration.declaration_number for a in page.assessments])
        token = page.next_page_token
        if not token:
            break
    assert [len(p) for p in pages] == [2, 2, 1]
    assert [number for page in pages for number in page] == await numbers()


async def test_pages_of_equal_lodgement_times_neither_repeat_nor_skip(
    stub: Stub, test_keys: SigningKeys
) -> None:
    lodged = await _lodge(stub, test_keys, *(declaration(f"30/2026/00030{n}") for n in range(3)))
    analyst = test_keys.metadata(Role.ANALYST)

    seen: list[str] = []
    token = ""
    for _ in range(3):
        page = await stub.ListAssessments(
            scoring_service_pb2.ListAssessmentsRequest(page_size=1, page_token=token),
            metadata=analyst,
        )
        seen.extend(a.name for a in page.assessments)
        token = page.next_page_token

    assert token == ""
    assert sorted(seen) == sorted(a.name for a in lodged)


async def test_a_page_token_only_serves_the_filters_it_was_issued_for(
    stub: Stub, test_keys: SigningKeys
) -> None:
    await _lodge(stub, test_keys, *(declaration(f"30/2026/00031{n}") for n in range(3)))
    analyst = test_keys.metadata(Role.ANALYST)
    first = await stub.ListAssessments(
        scoring_service_pb2.ListAssessmentsRequest(page_size=1), metadata=analyst
    )

    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await stub.ListAssessments(
            scoring_service_pb2.ListAssessmentsRequest(
                page_size=1, page_token=first.next_page_token, office_code="30"
            ),
            metadata=analyst,
        )

    assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT


async def test_an_explanation_replays_the_decision_predicate_by_predicate(
    stub: Stub, test_keys: SigningKeys
) -> None:
    phones = item(2, hs_code="851713", origin_country_code="CN")
    [decided] = await _lodge(stub, test_keys, declaration("30/2026/000400", item(1), phones))

    response = await stub.ExplainAssessment(
        scoring_service_pb2.ExplainAssessmentRequest(name=decided.name),
        metadata=test_keys.metadata(Role.RMC),
    )

    explanation = response.explanation
    assert response.assessment == decided
    assert explanation.replay_identical, list(explanation.replay_differences)
    [evaluation] = explanation.criterion_evaluations
    assert (evaluation.criterion, evaluation.item_number) == ("criteria/phones-from-cn", 2)
    assert [(r.path, r.observed_value, r.result) for r in evaluation.predicate_results] == [
        ("all_of[0]", "851713", True),
        ("all_of[1]", "CN", True),
    ]
    assert evaluation.draw < evaluation.threshold == 1.0
    assert any("Channel RED" in step for step in explanation.steps)


async def test_a_restarted_service_assesses_with_the_journaled_rules_and_replays_old_decisions(
    start_scoring: StartScoring, test_keys: SigningKeys
) -> None:
    cigarettes = declaration("30/2026/000500", item(1, hs_code="240220"))
    async with start_scoring() as first_run:
        [decided] = await _lodge(
            scoring_service_pb2_grpc.ScoringServiceStub(first_run.channel), test_keys, cigarettes
        )
    # Criteria retires the cigarettes criterion while scoring is down; the
    # restarted process applies the removal on top of the journaled snapshot.
    removal = criteria_service_pb2.WatchActiveCriteriaResponse(
        revision=6, removed_criterion="criteria/cigarettes"
    )
    async with start_scoring(initial_rules=[removal]) as second_run:
        stub = scoring_service_pb2_grpc.ScoringServiceStub(second_run.channel)
        [later] = await _lodge(
            stub, test_keys, declaration("30/2026/000501", item(1, hs_code="240220"))
        )
        explained = await stub.ExplainAssessment(
            scoring_service_pb2.ExplainAssessmentRequest(name=decided.name),
            metadata=test_keys.metadata(Role.AUDITOR),
        )

    assert decided.channel == selectivity_pb2.CHANNEL_RED
    assert (later.channel, later.replay.criteria_revision) == (selectivity_pb2.CHANNEL_GREEN, 6)
    assert explained.explanation.replay_identical, list(explained.explanation.replay_differences)
    assert explained.explanation.criterion_evaluations[0].criterion == "criteria/cigarettes"


async def test_a_replay_under_another_seed_says_the_draws_cannot_be_reproduced(
    start_scoring: StartScoring, test_keys: SigningKeys
) -> None:
    async with start_scoring() as first_run:
        stub = scoring_service_pb2_grpc.ScoringServiceStub(first_run.channel)
        [decided] = await _lodge(stub, test_keys, declaration("30/2026/000600"))
    rotated = SelectionSeed(b"a-rotated-selection-seed-000000002")
    async with start_scoring(initial_rules=(), seed=rotated) as second_run:
        explained = await scoring_service_pb2_grpc.ScoringServiceStub(
            second_run.channel
        ).ExplainAssessment(
            scoring_service_pb2.ExplainAssessmentRequest(name=decided.name),
            metadata=test_keys.metadata(Role.ANALYST),
        )

    assert not explained.explanation.replay_identical
    assert any("seed" in d for d in explained.explanation.replay_differences)
