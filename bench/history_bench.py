"""The history import measured: the data set's declarations streamed with their outcomes."""

from __future__ import annotations

import asyncio
import csv
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass

import grpc
from customs.scoring.v1 import (
    declaration_pb2,
    risk_model_pb2,
    scoring_service_pb2,
    scoring_service_pb2_grpc,
)
from declarations_dataset import FILES, dataset_directory
from service_bench import Server


def read_outcomes() -> dict[str, risk_model_pb2.HistoryOutcome]:
    """The data set's outcome per Declaration ID: every row was examined; any item's
    ``Fraud`` is an infringement, ``Critical Fraud`` its critical severity."""
    found: dict[str, tuple[bool, bool]] = {}
    for name in FILES:
        with (dataset_directory() / name).open(newline="", encoding="utf-8") as handle:
            for row in csv.DictReader(handle):
                fraud, critical = found.get(row["Declaration ID"], (False, False))
                found[row["Declaration ID"]] = (
                    fraud or row["Fraud"] == "1",
                    critical or row["Critical Fraud"] == "1",
                )
    return {
        number: risk_model_pb2.HistoryOutcome(
            examined=True,
            infringement_found=fraud,
            severity=(2 if critical else 1) if fraud else 0,
        )
        for number, (fraud, critical) in found.items()
    }


@dataclass(frozen=True)
class HistoryThroughput:
    """Declarations imported per second over one ImportHistory stream."""

    declarations: int
    per_second: float


async def _import(
    server: Server, requests: Sequence[scoring_service_pb2.ImportHistoryRequest]
) -> int:
    async def stream() -> AsyncIterator[scoring_service_pb2.ImportHistoryRequest]:
        for request in requests:
            yield request

    async with grpc.aio.insecure_channel(server.address) as channel:
        stub = scoring_service_pb2_grpc.ScoringServiceStub(channel)
        response = await stub.ImportHistory(stream(), metadata=server.metadata)
    return int(response.imported)


def history(
    server: Server, declarations: Sequence[declaration_pb2.Declaration]
) -> HistoryThroughput:
    """Imports ``declarations`` with their outcomes on one stream, timed."""
    outcomes = read_outcomes()
    requests = [
        scoring_service_pb2.ImportHistoryRequest(
            declaration=declaration, outcome=outcomes[declaration.declaration_number]
        )
        for declaration in declarations
    ]
    started = time.perf_counter()
    imported = asyncio.run(_import(server, requests))
    return HistoryThroughput(imported, imported / (time.perf_counter() - started))
