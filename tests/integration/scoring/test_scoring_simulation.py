"""Simulate: an analyst sees what a candidate criterion would have done, before activation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import grpc
import pytest
from customs.common.v1 import selection_rule_pb2, selectivity_pb2
from customs.scoring.v1 import scoring_service_pb2, scoring_service_pb2_grpc, simulation_pb2
from scoring_support import (
    LODGED,
    code_in,
    criterion,
    declaration,
    execute,
    hs_prefix,
    in_list,
    item,
)

from customs_kit.auth import Role
from customs_kit.testing.services import SigningKeys

Stub = scoring_service_pb2_grpc.ScoringServiceStub


def candidate(name: str, **fields: object) -> simulation_pb2.SimulationCriterion:
    """``criterion(...)`` as a simulation candidate."""
    published = criterion(name, **fields)  # type: ignore[arg-type]
    return simulation_pb2.SimulationCriterion(
        criterion=published.name, revision=1, rule=published.rule
    )


def window(**fields: object) -> scoring_service_pb2.SimulateRequest:
    request = scoring_service_pb2.SimulateRequest(**fields)  # type: ignore[arg-type]
    request.start_time.FromDatetime(LODGED - timedelta(days=1))
    request.end_time.FromDatetime(LODGED + timedelta(days=2))
    return request


async def lodge(stub: Stub, test_keys: SigningKeys) -> None:
    """Three declarations on two days at office 30 and one at office 40."""
    lodger = test_keys.metadata(Role.DECLARATION_SYSTEM)
    for message in (
        # Cigarettes: RED under the active criteria already.
        declaration("SIM-1", item(hs_code="240220", origin_country_code="CN")),
        # Knives from CN: GREEN under the active criteria.
        declaration("SIM-2", item(hs_code="821192", origin_country_code="CN")),
        declaration(
            "SIM-3",
            item(hs_code="821192", origin_country_code="CN"),
            lodged=LODGED + timedelta(days=1),
        ),
        declaration("SIM-4", item(hs_code="821192", origin_country_code="DE"), office_code="40"),
    ):
        await stub.AssessDeclaration(
            scoring_service_pb2.AssessDeclarationRequest(declaration=message), metadata=lodger
        )


async def test_a_candidate_added_to_the_active_set_shows_hits_and_added_examinations_per_office_day(
    stub: Stub, test_keys: SigningKeys
) -> None:
    await lodge(stub, test_keys)
    chinese_goods = candidate(
        "chinese-goods", condition=code_in("ITEM_ORIGIN_COUNTRY", "CN"), level="ENFORCEMENT"
    )

    response = await stub.Simulate(
        window(add_to_active=chinese_goods), metadata=test_keys.metadata(Role.ANALYST)
    )

    assert response.declarations_replayed == 4
    days = {(d.office_code, d.day): d for d in response.office_day_impacts}
    first_day = LODGED.date().isoformat()
    second_day = (LODGED + timedelta(days=1)).date().isoformat()
    assert set(days) == {("30", first_day), ("30", second_day), ("40", first_day)}
    office_30 = days[("30", first_day)]
    assert (office_30.declarations, office_30.candidate_hits, office_30.candidate_selections) == (
        2,
        2,
        2,
    )
    # The cigarettes declaration was RED already: only the knives are added.
    assert office_30.overlap_with_active == 1
    loads = {(load.channel, load.examination_level): load for load in office_30.examinations}
    enforcement = loads[
        (selectivity_pb2.CHANNEL_RED, selectivity_pb2.EXAMINATION_LEVEL_ENFORCEMENT)
    ]
    assert (enforcement.added, enforcement.total) == (1, 2)
    assert days[("40", first_day)].candidate_hits == 0
    assert days[("40", first_day)].examinations == []

    (impact,) = response.criterion_impacts
    assert (impact.criterion, impact.hits, impact.selections) == ("criteria/chinese-goods", 3, 3)
    assert [(o.criterion, o.shared_selections) for o in impact.overlaps] == [
        ("criteria/cigarettes", 1)
    ]


async def test_replacing_the_active_set_counts_only_the_candidates(
    stub: Stub, test_keys: SigningKeys
) -> None:
    await lodge(stub, test_keys)
    knives = candidate("knives", condition=hs_prefix("8211"), channel="YELLOW")

    response = await stub.Simulate(
        window(
            replace_active=simulation_pb2.CandidateCriteria(criteria=[knives]), office_codes=["30"]
        ),
        metadata=test_keys.metadata(Role.RMC),
    )

    assert response.declarations_replayed == 3
    loads = [
        (d.day, load.channel, load.added, load.total)
        for d in response.office_day_impacts
        for load in d.examinations
    ]
    first_day = LODGED.date().isoformat()
    second_day = (LODGED + timedelta(days=1)).date().isoformat()
    # Without the active set the cigarettes are no longer examined (listed with total 0).
    assert sorted(loads) == [
        (first_day, selectivity_pb2.CHANNEL_YELLOW, 1, 1),
        (first_day, selectivity_pb2.CHANNEL_RED, 0, 0),
        (second_day, selectivity_pb2.CHANNEL_YELLOW, 1, 1),
    ]


async def test_an_amended_declaration_is_replayed_once_as_last_declared(
    stub: Stub, test_keys: SigningKeys
) -> None:
    lodger = test_keys.metadata(Role.DECLARATION_SYSTEM)
    for version, hs_code in ((1, "821192"), (2, "240220")):
        await stub.AssessDeclaration(
            scoring_service_pb2.AssessDeclarationRequest(
                declaration=declaration("SIM-AMENDED", item(hs_code=hs_code), version=version)
            ),
            metadata=lodger,
        )

    response = await stub.Simulate(
        window(add_to_active=candidate("tobacco", condition=hs_prefix("24"))),
        metadata=test_keys.metadata(Role.ANALYST),
    )

    assert response.declarations_replayed == 1
    assert response.criterion_impacts[0].hits == 1


async def test_simulate_stores_nothing(stub: Stub, test_keys: SigningKeys) -> None:
    await lodge(stub, test_keys)
    reader = test_keys.metadata(Role.ANALYST)
    before = await stub.ListAssessments(
        scoring_service_pb2.ListAssessmentsRequest(), metadata=reader
    )

    await stub.Simulate(
        window(add_to_active=candidate("everything", condition=hs_prefix("24", "82"))),
        metadata=reader,
    )

    after = await stub.ListAssessments(
        scoring_service_pb2.ListAssessmentsRequest(), metadata=reader
    )
    assert [a.channel for a in after.assessments] == [a.channel for a in before.assessments]


async def test_a_candidate_reading_an_unknown_named_list_is_refused(
    stub: Stub, test_keys: SigningKeys
) -> None:
    unknown = candidate("listed", condition=in_list("IMPORTER", "namedLists/no-such-list"))
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await stub.Simulate(
            window(add_to_active=unknown), metadata=test_keys.metadata(Role.ANALYST)
        )

    assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "UNKNOWN_NAMED_LIST" in str(raised.value.trailing_metadata())


async def test_a_window_that_ends_before_it_starts_is_refused(
    stub: Stub, test_keys: SigningKeys
) -> None:
    request = window(add_to_active=candidate("tobacco", condition=hs_prefix("24")))
    request.end_time.FromDatetime(datetime(2020, 1, 1, tzinfo=UTC))

    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await stub.Simulate(request, metadata=test_keys.metadata(Role.ANALYST))

    assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "simulate.window_order" in (raised.value.details() or "")


async def test_a_declaration_system_may_not_simulate(stub: Stub, test_keys: SigningKeys) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await stub.Simulate(
            window(add_to_active=candidate("tobacco", condition=hs_prefix("24"))),
            metadata=test_keys.metadata(Role.DECLARATION_SYSTEM),
        )

    assert raised.value.code() == grpc.StatusCode.PERMISSION_DENIED


async def test_a_score_condition_reads_the_score_each_declaration_was_assessed_with(
    stub: Stub, test_keys: SigningKeys, database_url: str
) -> None:
    await lodge(stub, test_keys)
    # As if a model had been active: SIM-2 was scored high, SIM-3 low, the rest not at all.
    await execute(
        database_url,
        "UPDATE assessments SET risk_model_score = CASE declaration_number "
        "WHEN 'SIM-2' THEN 0.93 WHEN 'SIM-3' THEN 0.12 END "
        "WHERE declaration_number IN ('SIM-2', 'SIM-3')",
    )
    high_score = selection_rule_pb2.Condition(
        predicate=selection_rule_pb2.Predicate(
            risk_model_score=selection_rule_pb2.RiskModelScorePredicate(min=0.8)
        )
    )

    response = await stub.Simulate(
        window(add_to_active=candidate("high-score", condition=high_score)),
        metadata=test_keys.metadata(Role.ANALYST),
    )

    assert response.declarations_replayed == 4
    assert [(c.criterion, c.hits) for c in response.criterion_impacts] == [
        ("criteria/high-score", 1)
    ]
    days = {(d.office_code, d.day): d.candidate_hits for d in response.office_day_impacts}
    assert days[("30", LODGED.date().isoformat())] == 1
    assert days[("30", (LODGED + timedelta(days=1)).date().isoformat())] == 0
