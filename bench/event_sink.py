"""Stands in for the services that receive scoring's events while scoring is measured.

Run as ``python bench/event_sink.py PORT``: accepts every unary call (the
outbox relay's Ingest...Event deliveries) and answers with an empty message,
and accepts every event of an IngestEventBatch call, so that scoring's relay
does its real delivery work without the benchmark depending on more services
and their databases.
"""

from __future__ import annotations

import asyncio
import sys
from typing import Any

import grpc
from customs.events.v1 import event_delivery_service_pb2 as events_pb2

_BATCH = "/customs.events.v1.EventDeliveryService/IngestEventBatch"


def _accept(request: bytes, context: Any) -> bytes:
    return b""


def _accept_batch(request: bytes, context: Any) -> bytes:
    batch = events_pb2.IngestEventBatchRequest.FromString(request)
    return events_pb2.IngestEventBatchResponse(
        results=[events_pb2.EventResult(event_id=event.event_id) for event in batch.events]
    ).SerializeToString()


class _AcceptEverything(grpc.GenericRpcHandler):
    def service(self, handler_call_details: grpc.HandlerCallDetails) -> grpc.RpcMethodHandler:
        if handler_call_details.method == _BATCH:
            return grpc.unary_unary_rpc_method_handler(_accept_batch)
        return grpc.unary_unary_rpc_method_handler(_accept)


async def _serve(port: int) -> None:
    server = grpc.aio.server()
    server.add_generic_rpc_handlers((_AcceptEverything(),))
    server.add_insecure_port(f"127.0.0.1:{port}")
    await server.start()
    await server.wait_for_termination()


def main() -> None:
    """Serves on 127.0.0.1:``sys.argv[1]`` until killed."""
    asyncio.run(_serve(int(sys.argv[1])))


if __name__ == "__main__":
    main()
