"""Traders through the real server: create, read, list, update, tier."""

from __future__ import annotations

import uuid

import grpc
import pytest
from compliance_support import Client, errors
from customs.compliance.v1 import compliance_service_pb2 as service_pb2
from customs.compliance.v1 import trader_pb2
from google.protobuf.field_mask_pb2 import FieldMask

from customs_kit.auth import Role


async def test_a_created_trader_starts_new_and_not_approved(client: Client) -> None:
    created = await client.create_trader(
        "BE0123456789", "Acme Imports NV", country="BE", address="Kaai 1, Antwerpen"
    )

    assert created.name == "traders/BE0123456789"
    assert created.tier == trader_pb2.TRADER_TIER_NEW
    assert created.approved_trader_status == trader_pb2.APPROVED_TRADER_STATUS_NOT_APPROVED
    assert not created.HasField("first_declaration_time")
    assert created.profile_revision > 0
    assert created.etag
    fetched = await client.get_trader("BE0123456789")
    assert fetched == created


async def test_creating_again_with_the_same_request_id_returns_the_first_trader(
    client: Client,
) -> None:
    request_id = str(uuid.uuid4())
    first = await client.create_trader("T1", "Acme", request_id=request_id)

    again = await client.create_trader("T1", "Acme", request_id=request_id)

    assert again == first


async def test_a_request_id_reused_for_another_trader_is_rejected(client: Client) -> None:
    request_id = str(uuid.uuid4())
    await client.create_trader("T1", "Acme", request_id=request_id)

    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await client.create_trader("T2", "Other", request_id=request_id)

    assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert errors(raised.value)["ErrorInfo"].reason == "REQUEST_ID_REUSED"
    with pytest.raises(grpc.aio.AioRpcError) as missing:
        await client.get_trader("T2")
    assert missing.value.code() == grpc.StatusCode.NOT_FOUND


async def test_a_taken_trader_number_is_already_exists(client: Client) -> None:
    await client.create_trader("T1", "Acme")

    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await client.create_trader("T1", "Someone else")

    assert raised.value.code() == grpc.StatusCode.ALREADY_EXISTS
    assert errors(raised.value)["ResourceInfo"].resource_name == "traders/T1"


async def test_an_unknown_trader_is_not_found(client: Client) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await client.get_trader("NOPE")

    assert raised.value.code() == grpc.StatusCode.NOT_FOUND


async def test_an_update_changes_only_the_fields_in_the_mask(client: Client) -> None:
    created = await client.create_trader("T1", "Acme", country="BE", address="Old street 1")

    response = await client.stub.UpdateTrader(
        service_pb2.UpdateTraderRequest(
            trader=trader_pb2.Trader(
                name="traders/T1",
                etag=created.etag,
                display_name="Acme Imports NV",
                address="New street 2",
                country="NL",
            ),
            update_mask=FieldMask(paths=["display_name", "address"]),
        ),
        metadata=client.auth(),
    )

    updated = response.trader
    assert (updated.display_name, updated.address, updated.country) == (
        "Acme Imports NV",
        "New street 2",
        "BE",
    )
    assert updated.etag != created.etag
    assert updated.profile_revision > created.profile_revision
    assert await client.get_trader("T1") == updated


async def test_an_update_with_a_stale_etag_is_aborted_and_changes_nothing(client: Client) -> None:
    created = await client.create_trader("T1", "Acme")
    mask = FieldMask(paths=["display_name"])
    await client.stub.UpdateTrader(
        service_pb2.UpdateTraderRequest(
            trader=trader_pb2.Trader(name="traders/T1", etag=created.etag, display_name="First"),
            update_mask=mask,
        ),
        metadata=client.auth(),
    )

    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await client.stub.UpdateTrader(
            service_pb2.UpdateTraderRequest(
                trader=trader_pb2.Trader(
                    name="traders/T1", etag=created.etag, display_name="Second"
                ),
                update_mask=mask,
            ),
            metadata=client.auth(),
        )

    assert raised.value.code() == grpc.StatusCode.ABORTED
    assert (await client.get_trader("T1")).display_name == "First"


async def test_an_address_change_does_not_touch_the_profile_scoring_sees(client: Client) -> None:
    created = await client.create_trader("T1", "Acme")

    response = await client.stub.UpdateTrader(
        service_pb2.UpdateTraderRequest(
            trader=trader_pb2.Trader(name="traders/T1", etag=created.etag, address="Quay 3"),
            update_mask=FieldMask(paths=["address"]),
        ),
        metadata=client.auth(),
    )

    assert response.trader.address == "Quay 3"
    assert response.trader.profile_revision == created.profile_revision


async def test_clearing_the_roles_is_rejected_naming_the_rule(client: Client) -> None:
    created = await client.create_trader("T1", "Acme")

    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await client.stub.UpdateTrader(
            service_pb2.UpdateTraderRequest(
                trader=trader_pb2.Trader(name="traders/T1", etag=created.etag),
                update_mask=FieldMask(paths=["roles"]),
            ),
            metadata=client.auth(),
        )

    assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    violation = errors(raised.value)["BadRequest"].field_violations[0]
    assert violation.description.startswith("update_trader.required_fields_kept")


async def test_setting_the_tier_records_the_reason_and_is_idempotent(client: Client) -> None:
    created = await client.create_trader("T1", "Acme")
    request = service_pb2.SetTraderTierRequest(
        name="traders/T1",
        request_id=str(uuid.uuid4()),
        etag=created.etag,
        tier=trader_pb2.TRADER_TIER_HIGH_RISK,
        reason="Three undervaluations found in random examinations.",
    )

    first = await client.stub.SetTraderTier(request, metadata=client.auth(Role.RMC))
    again = await client.stub.SetTraderTier(request, metadata=client.auth(Role.RMC))

    assert first.trader.tier == trader_pb2.TRADER_TIER_HIGH_RISK
    assert first.trader.tier_reason == request.reason
    assert again == first


async def test_traders_are_listed_by_number_in_pages_with_filters(client: Client) -> None:
    for number in ("C3", "A1", "B2", "D4"):
        await client.create_trader(number, f"Trader {number}")
    await client.create_trader("BR9", "Brokerage Ltd", roles=("TRADER_ROLE_BROKER",))

    first = await client.stub.ListTraders(
        service_pb2.ListTradersRequest(page_size=2, role=trader_pb2.TRADER_ROLE_IMPORTER),
        metadata=client.auth(Role.ANALYST),
    )
    second = await client.stub.ListTraders(
        service_pb2.ListTradersRequest(
            page_size=2, role=trader_pb2.TRADER_ROLE_IMPORTER, page_token=first.next_page_token
        ),
        metadata=client.auth(Role.ANALYST),
    )
    brokers = await client.stub.ListTraders(
        service_pb2.ListTradersRequest(display_name_prefix="brok"),
        metadata=client.auth(Role.ANALYST),
    )

    assert [t.name for t in first.traders] == ["traders/A1", "traders/B2"]
    assert [t.name for t in second.traders] == ["traders/C3", "traders/D4"]
    assert second.next_page_token == ""
    assert [t.name for t in brokers.traders] == ["traders/BR9"]


async def test_a_page_token_is_refused_with_other_filters(client: Client) -> None:
    for number in ("A1", "B2"):
        await client.create_trader(number, f"Trader {number}")
    first = await client.stub.ListTraders(
        service_pb2.ListTradersRequest(page_size=1), metadata=client.auth(Role.ANALYST)
    )

    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await client.stub.ListTraders(
            service_pb2.ListTradersRequest(
                page_size=1, page_token=first.next_page_token, tier=trader_pb2.TRADER_TIER_NEW
            ),
            metadata=client.auth(Role.ANALYST),
        )

    assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert errors(raised.value)["BadRequest"].field_violations[0].field == "page_token"
