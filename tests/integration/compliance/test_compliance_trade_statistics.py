"""Assessments from scoring become trade statistics, counted exactly once."""

from __future__ import annotations

from decimal import Decimal

import grpc
import pytest
from compliance_support import (
    Client,
    as_decimal,
    assessment_event,
    errors,
    examination_event,
    item,
    party,
)
from customs.compliance.v1 import compliance_service_pb2 as service_pb2
from customs.compliance.v1 import events_pb2, trade_statistics_pb2, trader_pb2

from customs_kit.auth import Role

MARCH = {"start_date": "2025-03-01", "end_date": "2025-03-31"}


async def rank_importers(
    client: Client, metric: int = trade_statistics_pb2.TRADER_RANKING_METRIC_DECLARED_VALUE
) -> list[trade_statistics_pb2.TraderRanking]:
    response = await client.stub.ListTraderRankings(
        service_pb2.ListTraderRankingsRequest(
            metric=metric, role=trader_pb2.TRADER_ROLE_IMPORTER, **MARCH
        ),
        metadata=client.auth(Role.ANALYST),
    )
    return list(response.trader_rankings)


async def test_an_assessment_delivered_twice_is_counted_once(client: Client) -> None:
    event = assessment_event("A1", items=[item(value="1000.50", duties="120.06")])

    first_duplicate = await client.ingest(event)
    second_duplicate = await client.ingest(event)

    assert (first_duplicate, second_duplicate) == (False, True)
    [row] = await rank_importers(client)
    assert row.declaration_count == 1
    assert as_decimal(row.declared_value) == Decimal("1000.50")
    assert as_decimal(row.duties_and_taxes) == Decimal("120.06")
    assert row.declared_value.currency_code == "EUR"


async def test_the_same_assessment_relayed_under_a_new_event_id_is_not_counted_again(
    client: Client,
) -> None:
    await client.ingest(assessment_event("A1"))

    duplicate = await client.ingest(assessment_event("A1"))

    assert duplicate is False
    [row] = await rank_importers(client)
    assert row.declaration_count == 1


async def test_traders_seen_for_the_first_time_are_created_with_their_roles(
    client: Client,
) -> None:
    await client.ingest(
        assessment_event(
            "A1",
            lodged="2025-03-10T09:00:00",
            importer=party("IMP1", "Importer One"),
            broker=party("BRK1", "Broker One"),
        )
    )
    await client.ingest(
        assessment_event(
            "A2", lodged="2025-03-05T08:00:00", importer=party("BRK1"), broker=party("BRK1")
        )
    )

    importer = await client.get_trader("IMP1")
    broker = await client.get_trader("BRK1")
    assert importer.display_name == "Importer One"
    assert list(importer.roles) == [trader_pb2.TRADER_ROLE_IMPORTER]
    assert importer.tier == trader_pb2.TRADER_TIER_NEW
    assert importer.first_declaration_time.ToJsonString() == "2025-03-10T09:00:00Z"
    assert broker.display_name == "Broker One"
    assert list(broker.roles) == [trader_pb2.TRADER_ROLE_IMPORTER, trader_pb2.TRADER_ROLE_BROKER]
    assert broker.first_declaration_time.ToJsonString() == "2025-03-05T08:00:00Z"


async def test_a_newer_version_replaces_the_older_one_and_a_late_older_one_is_not_counted(
    client: Client,
) -> None:
    await client.ingest(assessment_event("A1", declaration="D1", version=1))
    await client.ingest(
        assessment_event("A2", declaration="D1", version=2, items=[item(value="5000")])
    )
    await client.ingest(
        assessment_event("A0", declaration="D1", version=1, items=[item(value="9")])
    )

    [row] = await rank_importers(client)
    assert row.declaration_count == 1
    assert as_decimal(row.declared_value) == Decimal(5000)
    listed = await client.stub.ListDeclarationRecords(
        service_pb2.ListDeclarationRecordsRequest(), metadata=client.auth()
    )
    assert [r.name for r in listed.declaration_records] == ["declarationRecords/A2"]
    late = await client.stub.GetDeclarationRecord(
        service_pb2.GetDeclarationRecordRequest(name="declarationRecords/A0"),
        metadata=client.auth(),
    )
    assert late.declaration_record.declaration_version == 1


async def test_importers_are_ranked_highest_first_with_ties_sharing_a_rank(
    client: Client,
) -> None:
    await client.ingest(assessment_event("A1", importer=party("SMALL"), items=[item(value="10")]))
    await client.ingest(assessment_event("A2", importer=party("BIG"), items=[item(value="900")]))
    await client.ingest(assessment_event("A3", importer=party("TIE"), items=[item(value="900")]))
    await client.ingest(
        assessment_event(
            "A4",
            importer=party("OUTSIDE"),
            lodged="2025-04-01T00:00:00",
            items=[item(value="9999")],
        )
    )

    first = await client.stub.ListTraderRankings(
        service_pb2.ListTraderRankingsRequest(
            metric=trade_statistics_pb2.TRADER_RANKING_METRIC_DECLARED_VALUE,
            role=trader_pb2.TRADER_ROLE_IMPORTER,
            page_size=2,
            **MARCH,
        ),
        metadata=client.auth(Role.ANALYST),
    )
    second = await client.stub.ListTraderRankings(
        service_pb2.ListTraderRankingsRequest(
            metric=trade_statistics_pb2.TRADER_RANKING_METRIC_DECLARED_VALUE,
            role=trader_pb2.TRADER_ROLE_IMPORTER,
            page_size=2,
            page_token=first.next_page_token,
            **MARCH,
        ),
        metadata=client.auth(Role.ANALYST),
    )

    rows = [*first.trader_rankings, *second.trader_rankings]
    assert [(r.rank, r.trader) for r in rows] == [
        (1, "traders/BIG"),
        (1, "traders/TIE"),
        (3, "traders/SMALL"),
    ]
    assert second.next_page_token == ""


async def test_brokers_are_ranked_by_their_declarations(client: Client) -> None:
    for name, broker in (("A1", "B1"), ("A2", "B1"), ("A3", "B2")):
        await client.ingest(assessment_event(name, broker=party(broker)))
    await client.ingest(assessment_event("A4"))

    response = await client.stub.ListTraderRankings(
        service_pb2.ListTraderRankingsRequest(
            metric=trade_statistics_pb2.TRADER_RANKING_METRIC_DECLARATION_COUNT,
            role=trader_pb2.TRADER_ROLE_BROKER,
            **MARCH,
        ),
        metadata=client.auth(Role.RMC),
    )

    assert [(r.trader, r.declaration_count) for r in response.trader_rankings] == [
        ("traders/B1", 2),
        ("traders/B2", 1),
    ]


async def test_commodities_are_ranked_by_collections_at_the_requested_level(
    client: Client,
) -> None:
    await client.ingest(
        assessment_event(
            "A1",
            items=[
                item("610910", value="1000", duties="120", tax_rate=12.0, number=1),
                item("610990", value="3000", duties="240", tax_rate=8.0, number=2),
                item("870323", value="20000", duties="2000", tax_rate=10.0, number=3),
            ],
        )
    )

    response = await client.stub.ListCommodityRankings(
        service_pb2.ListCommodityRankingsRequest(
            metric=trade_statistics_pb2.COMMODITY_RANKING_METRIC_COLLECTIONS,
            hs_digits=4,
            **MARCH,
        ),
        metadata=client.auth(Role.ANALYST),
    )

    rows = [(r.rank, r.hs_code, r.item_count) for r in response.commodity_rankings]
    assert rows == [(1, "8703", 1), (2, "6109", 2)]
    apparel = response.commodity_rankings[1]
    assert as_decimal(apparel.collections) == Decimal(360)
    assert apparel.mean_tax_rate == pytest.approx((1000 * 12 + 3000 * 8) / 4000)


async def test_commodities_are_ranked_by_misclassifications_found_in_examinations(
    client: Client,
) -> None:
    await client.ingest(
        assessment_event(
            "A1",
            declaration="D1",
            items=[item("610910", number=1), item("870323", number=2)],
        )
    )
    await client.stub.IngestExaminationOutcomeEvent(
        examination_event(
            "R1",
            "D1",
            random_selection=False,
            discrepancies=[
                events_pb2.ExaminationDiscrepancy(
                    type=events_pb2.DISCREPANCY_TYPE_CLASSIFICATION,
                    item_number=2,
                    found_hs_code="870324",
                )
            ],
        ),
        metadata=client.auth(Role.SERVICE, "exam-reports"),
    )

    response = await client.stub.ListCommodityRankings(
        service_pb2.ListCommodityRankingsRequest(
            metric=trade_statistics_pb2.COMMODITY_RANKING_METRIC_MISCLASSIFICATIONS, **MARCH
        ),
        metadata=client.auth(Role.ANALYST),
    )

    assert [(r.hs_code, r.misclassification_count) for r in response.commodity_rankings] == [
        ("870323", 1),
        ("610910", 0),
    ]


async def test_a_record_shows_what_its_examination_found(client: Client) -> None:
    await client.ingest(assessment_event("A1", declaration="D1", channel="CHANNEL_RED"))
    await client.stub.IngestExaminationOutcomeEvent(
        examination_event(
            "R1",
            "D1",
            discrepancies=[
                events_pb2.ExaminationDiscrepancy(
                    type=events_pb2.DISCREPANCY_TYPE_QUANTITY, item_number=1
                )
            ],
        ),
        metadata=client.auth(Role.SERVICE, "exam-reports"),
    )

    response = await client.stub.GetDeclarationRecord(
        service_pb2.GetDeclarationRecordRequest(name="declarationRecords/A1"),
        metadata=client.auth(Role.AUDITOR),
    )

    record = response.declaration_record
    assert record.assessment == "assessments/A1"
    assert record.importer == "traders/IMP1"
    assert record.channel == 3
    assert (record.examined, record.discrepancy_found) == (True, True)
    assert list(record.noncompliant_areas) == [4]
    assert not record.audited


async def test_past_transactions_of_a_broker_are_listed_newest_first(client: Client) -> None:
    await client.ingest(assessment_event("A1", broker=party("B1"), lodged="2025-03-01T10:00:00"))
    await client.ingest(assessment_event("A2", broker=party("B1"), lodged="2025-03-03T10:00:00"))
    await client.ingest(assessment_event("A3", broker=party("B2"), lodged="2025-03-02T10:00:00"))
    await client.ingest(
        assessment_event(
            "A4", importer=party("B1"), lodged="2025-03-04T10:00:00", items=[item("020130")]
        )
    )

    as_broker = await client.stub.ListDeclarationRecords(
        service_pb2.ListDeclarationRecordsRequest(
            trader="traders/B1", trader_role=trader_pb2.TRADER_ROLE_BROKER
        ),
        metadata=client.auth(Role.ANALYST),
    )
    any_role = await client.stub.ListDeclarationRecords(
        service_pb2.ListDeclarationRecordsRequest(trader="traders/B1", end_date="2025-03-03"),
        metadata=client.auth(Role.ANALYST),
    )
    meat = await client.stub.ListDeclarationRecords(
        service_pb2.ListDeclarationRecordsRequest(hs_code_prefix="02"),
        metadata=client.auth(Role.ANALYST),
    )

    assert [r.name for r in as_broker.declaration_records] == [
        "declarationRecords/A2",
        "declarationRecords/A1",
    ]
    assert [r.name for r in any_role.declaration_records] == [
        "declarationRecords/A2",
        "declarationRecords/A1",
    ]
    assert [r.name for r in meat.declaration_records] == ["declarationRecords/A4"]


async def test_a_ranking_period_longer_than_a_year_is_rejected_on_end_date(
    client: Client,
) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await client.stub.ListTraderRankings(
            service_pb2.ListTraderRankingsRequest(
                metric=trade_statistics_pb2.TRADER_RANKING_METRIC_DECLARED_VALUE,
                role=trader_pb2.TRADER_ROLE_IMPORTER,
                start_date="2024-01-01",
                end_date="2025-01-01",
            ),
            metadata=client.auth(Role.ANALYST),
        )

    assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert errors(raised.value)["BadRequest"].field_violations[0].field == "end_date"


async def test_an_assessment_with_amounts_in_two_currencies_is_refused_and_not_recorded(
    client: Client,
) -> None:
    event = assessment_event("A1", items=[item(number=1), item(number=2, currency="USD")])

    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await client.ingest(event)

    assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    violation = errors(raised.value)["BadRequest"].field_violations[0]
    assert violation.field == "assessed_declaration.items[1].customs_value.currency_code"
    assert await rank_importers(client) == []


async def test_a_malformed_assessment_event_is_rejected_naming_the_field(client: Client) -> None:
    event = assessment_event("A1", items=[item(hs_code="61A9")])

    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await client.ingest(event)

    assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    violation = errors(raised.value)["BadRequest"].field_violations[0]
    assert violation.field == "assessed_declaration.items[0].hs_code"
    assert violation.description.startswith("string.pattern")
