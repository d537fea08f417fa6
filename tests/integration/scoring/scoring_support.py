"""Support for the scoring integration tests: contract messages and direct database reads."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from customs.common.v1 import selection_rule_pb2
from customs.criteria.v1 import criteria_service_pb2, criterion_pb2, named_list_pb2
from customs.scoring.v1 import declaration_pb2
from grpc_health.v1 import health_pb2, health_pb2_grpc
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from customs_kit.testing.services import RunningService

LODGED = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)

#: The ``start_scoring`` fixture: ``async with start_scoring(initial_rules) as service``.
StartScoring = Callable[..., contextlib.AbstractAsyncContextManager[RunningService]]


def item(number: int = 1, **fields: Any) -> declaration_pb2.DeclarationItem:
    """A goods item (HS 440890 from Belgium, 372,254.40 KRW) with ``fields`` replaced."""
    values: dict[str, Any] = {
        "item_number": number,
        "hs_code": "440890",
        "origin_country_code": "BE",
        "origin_indicator_code": "G",
        "net_mass_kg": 108.0,
        "customs_value": {"currency_code": "KRW", "units": 372254, "nanos": 400000000},
        "tax_type_code": "FEU1",
        "tax_rate_percent": 0.0,
    }
    values.update(fields)
    return declaration_pb2.DeclarationItem(**values)


def declaration(
    number: str = "30/2026/000123",
    *items: declaration_pb2.DeclarationItem,
    version: int = 1,
    lodged: datetime = LODGED,
    **fields: Any,
) -> declaration_pb2.Declaration:
    """A declaration as a declaration system lodges it (one default item unless given)."""
    values: dict[str, Any] = {
        "declaration_number": number,
        "version": version,
        "office_code": "30",
        "procedure_code": "B",
        "import_type_code": "11",
        "import_use_code": "21",
        "payment_type_code": "11",
        "declarant": {"id": "ZZR1LT6", "name": "Busan Customs Brokers"},
        "importer": {"id": "QLRUBN9", "name": "Hanbit Trading Co."},
        "seller": {"id": "0VKY2BR", "country_code": "BE"},
        "transport_mode_code": "10",
        "dispatch_country_code": "BE",
        "items": list(items) or [item()],
    }
    values.update(fields)
    message = declaration_pb2.Declaration(**values)
    message.lodgement_time.FromDatetime(lodged)
    return message


def hs_prefix(*prefixes: str) -> selection_rule_pb2.Condition:
    """A condition: the item's HS code starts with one of ``prefixes``."""
    return selection_rule_pb2.Condition(
        predicate=selection_rule_pb2.Predicate(
            hs_code_prefix=selection_rule_pb2.HsCodePrefixPredicate(prefixes=list(prefixes))
        )
    )


def code_in(element: str, *values: str) -> selection_rule_pb2.Condition:
    """A condition: ``CODE_ELEMENT_<element>`` is one of ``values``."""
    return selection_rule_pb2.Condition(
        predicate=selection_rule_pb2.Predicate(
            code_in=selection_rule_pb2.CodeInPredicate(
                element=f"CODE_ELEMENT_{element}", values=list(values)
            )
        )
    )


def in_list(element: str, named_list: str) -> selection_rule_pb2.Condition:
    """A condition: ``CODE_ELEMENT_<element>`` is an entry of ``named_list``."""
    return selection_rule_pb2.Condition(
        predicate=selection_rule_pb2.Predicate(
            in_named_list=selection_rule_pb2.NamedListPredicate(
                element=f"CODE_ELEMENT_{element}", named_list=named_list
            )
        )
    )


def all_of(*conditions: selection_rule_pb2.Condition) -> selection_rule_pb2.Condition:
    """A condition: every one of ``conditions``."""
    return selection_rule_pb2.Condition(
        all_of=selection_rule_pb2.ConditionList(conditions=list(conditions))
    )


def criterion(
    name: str,
    condition: selection_rule_pb2.Condition,
    *,
    channel: str = "RED",
    level: str = "",
    documents: Sequence[str] = (),
    percent: float = 100.0,
    priority: int = 50,
    revision: int = 1,
    instructions: str = "",
    mandatory: bool = False,
) -> criterion_pb2.ActiveCriterion:
    """An applied criterion as criteria publishes it (``criteria/{name}``)."""
    if channel == "RED" and not level:
        level = "COMMERCIAL_SAMPLE"
    if channel == "YELLOW" and not documents:
        documents = ("N380",)
    return criterion_pb2.ActiveCriterion(
        name=f"criteria/{name}",
        revision=revision,
        title=f"Criterion {name}",
        risk_profile="riskProfiles/test",
        rule=selection_rule_pb2.SelectionRule(
            condition=condition,
            treatment=selection_rule_pb2.Treatment(
                channel=f"CHANNEL_{channel}",
                examination_level=f"EXAMINATION_LEVEL_{level or 'UNSPECIFIED'}",
                documents_to_check=[
                    selection_rule_pb2.DocumentRequirement(
                        document_type_code=code, description=f"Document {code}"
                    )
                    for code in documents
                ],
            ),
            selection_percent=percent,
            approved_traders="APPROVED_TRADER_SCOPE_INCLUDED",
            priority=priority,
            examiner_instructions=instructions or f"Examine the goods ({name}).",
            mandatory=mandatory,
        ),
    )


def companies(name: str, *entries: str) -> named_list_pb2.NamedList:
    """A named list of trader identifiers, ``namedLists/{name}``."""
    return named_list_pb2.NamedList(
        name=f"namedLists/{name}",
        title=name,
        kind="NAMED_LIST_KIND_COMPANIES",
        revision=1,
        entries=[named_list_pb2.NamedListEntry(value=entry) for entry in entries],
    )


def snapshot(
    revision: int,
    criteria: Sequence[criterion_pb2.ActiveCriterion],
    named_lists: Sequence[named_list_pb2.NamedList] = (),
) -> list[criteria_service_pb2.WatchActiveCriteriaResponse]:
    """The messages of a full active-criteria snapshot at ``revision``."""
    response = criteria_service_pb2.WatchActiveCriteriaResponse
    return [
        response(
            revision=revision,
            snapshot_start=criteria_service_pb2.SnapshotStart(
                criteria_count=len(criteria), named_lists_count=len(named_lists)
            ),
        ),
        *(response(revision=revision, criterion=c) for c in criteria),
        *(response(revision=revision, named_list=n) for n in named_lists),
        response(revision=revision, snapshot_end=criteria_service_pb2.SnapshotEnd()),
    ]


async def query(database_url: str, sql: str, **params: Any) -> list[Any]:
    """Rows of ``sql`` run directly against the service's database."""
    engine = create_async_engine(database_url, poolclass=NullPool)
    try:
        async with engine.connect() as connection:
            return list((await connection.execute(text(sql), params)).all())
    finally:
        await engine.dispose()


async def execute(database_url: str, sql: str, **params: Any) -> None:
    """Runs ``sql`` against the service's database and commits it (data set up by hand)."""
    engine = create_async_engine(database_url, poolclass=NullPool)
    try:
        async with engine.begin() as connection:
            await connection.execute(text(sql), params)
    finally:
        await engine.dispose()


#: The rules of most tests, as criteria would publish them at revision 5.
RULES = snapshot(
    5,
    [
        criterion(
            "cigarettes",
            hs_prefix("2402"),
            level="ENFORCEMENT",
            priority=1,
            instructions="Unload the container and count the cartons.",
        ),
        criterion(
            "phones-from-cn",
            all_of(hs_prefix("851713"), code_in("ITEM_ORIGIN_COUNTRY", "CN")),
            priority=20,
            instructions="Check the handsets against the invoice and the IMEI list.",
        ),
        criterion("apparel-documents", hs_prefix("61", "62"), channel="YELLOW", priority=40),
        criterion(
            "audit-importers", in_list("IMPORTER", "namedLists/audit-importers"), channel="BLUE"
        ),
    ],
    [companies("audit-importers", "AUDIT001")],
)


async def until_serving(service: RunningService) -> None:
    """Waits, as a load balancer does, until the service reports SERVING."""
    health = health_pb2_grpc.HealthStub(service.channel)
    for _ in range(200):
        answer = await health.Check(health_pb2.HealthCheckRequest())
        if answer.status == health_pb2.HealthCheckResponse.SERVING:
            return
        await asyncio.sleep(0.05)
    raise AssertionError("scoring never became ready")
