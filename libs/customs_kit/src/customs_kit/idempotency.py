"""Idempotent creates and custom methods keyed by the request's ``request_id``.

A client that retries after a timeout must not create a second declaration
assessment or examination task. The first response is stored under
``(method, caller, request_id)`` in the same transaction as the effect, so a
retry gets exactly that response back; a different request under the same id
is refused with reason ``REQUEST_ID_REUSED`` rather than silently answered
with someone else's result. The caller (the token's subject) is part of the
key because request ids are chosen by clients: another caller who sends the
same id, by chance or having seen it, gets a result of its own and never the
first caller's response or resource.
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar

from google.protobuf.message import Message
from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError

from customs_kit.auth import current_subject
from customs_kit.db import IdempotencyKey, is_unique_violation, utcnow
from customs_kit.errors import FieldViolation, InvalidArgument

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from customs_kit.db import Database
    from customs_kit.uow import UnitOfWork

_CONSTRAINT = "pk_idempotency_keys"

ResponseT = TypeVar("ResponseT", bound=Message)


@dataclass(frozen=True)
class StoredResponse:
    """What was stored for a request id: the request's fingerprint and the response."""

    fingerprint: str
    response: bytes


class DuplicateRequest(Exception):
    """Another transaction stored a response under the same key first."""


class IdempotencyKeys:
    """``uow.idempotency``: stored responses, read and written in the unit of work."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def get(self, method: str, caller: str, request_id: str) -> StoredResponse | None:
        """The response stored for ``(method, caller, request_id)``, if any."""
        row = (
            await self._session.execute(
                select(IdempotencyKey.fingerprint, IdempotencyKey.response).where(
                    IdempotencyKey.method == method,
                    IdempotencyKey.caller == caller,
                    IdempotencyKey.request_id == request_id,
                )
            )
        ).one_or_none()
        return None if row is None else StoredResponse(row.fingerprint, row.response)

    async def reserve(self, method: str, caller: str, request_id: str, fingerprint: str) -> None:
        """Claims the key for this transaction; its response follows with :meth:`save`.

        Raises :class:`DuplicateRequest` if the key is already stored. On
        PostgreSQL a concurrent claim waits here until the first one commits or
        rolls back, before doing any work.
        """
        try:
            await self._session.execute(
                insert(IdempotencyKey).values(
                    method=method,
                    caller=caller,
                    request_id=request_id,
                    fingerprint=fingerprint,
                    response=b"",
                    created_at=utcnow(),
                )
            )
        except IntegrityError as error:
            if is_unique_violation(error, _CONSTRAINT):
                raise DuplicateRequest(f"{method} {request_id}") from error
            raise

    async def save(self, method: str, caller: str, request_id: str, response: bytes) -> None:
        """Stores the response of a key reserved in this transaction."""
        await self._session.execute(
            update(IdempotencyKey)
            .where(
                IdempotencyKey.method == method,
                IdempotencyKey.caller == caller,
                IdempotencyKey.request_id == request_id,
            )
            .values(response=response)
        )


def fingerprint(request: Message) -> str:
    """Hex SHA-256 of the request's deterministic serialization."""
    return hashlib.sha256(request.SerializeToString(deterministic=True)).hexdigest()


async def stored_response(
    database: Database, method: str, request: Message, response_type: type[ResponseT]
) -> ResponseT | None:
    """The response an earlier call with this ``request_id`` stored, if any.

    For work that cannot run inside :func:`run_idempotent`'s transaction (it
    calls other services first): a retry is answered before the work is done
    again. Another request under the same id raises ``InvalidArgument`` with
    reason ``REQUEST_ID_REUSED``, as :func:`run_idempotent` does.
    """
    request_id = getattr(request, "request_id", "")
    if not request_id:
        return None
    async with database.unit_of_work(read_only=True) as uow:
        stored = await uow.idempotency.get(method, current_subject(), request_id)
    return None if stored is None else _replay(stored, fingerprint(request), response_type)


async def run_idempotent(
    database: Database,
    method: str,
    request: Message,
    work: Callable[[UnitOfWork], Awaitable[ResponseT]],
    response_type: type[ResponseT],
) -> ResponseT:
    """Runs ``work(uow)`` once per ``request.request_id`` and returns its response.

    ``method`` is the full gRPC method path; the caller is the one of the RPC
    being served (:func:`~customs_kit.auth.current_subject`). A repeat of the same request gets
    the stored response without running ``work`` again; another request under
    the same id raises ``InvalidArgument`` with reason ``REQUEST_ID_REUSED``. An
    empty ``request_id`` means the client opted out: ``work`` simply runs.
    ``work`` must not commit: the key is claimed before ``work`` runs and the
    response is committed with its effects, so a concurrent copy of the request
    waits for the first and then returns its response without running ``work``.
    """
    request_id = getattr(request, "request_id", "")
    if not isinstance(request_id, str):
        raise TypeError(f"{type(request).__name__}.request_id is not a string")
    if not request_id:
        async with database.unit_of_work() as uow:
            response = await work(uow)
            await uow.commit()
            return response

    expected = fingerprint(request)
    caller = current_subject()
    async with database.unit_of_work() as uow:
        stored = await uow.idempotency.get(method, caller, request_id)
        if stored is not None:
            return _replay(stored, expected, response_type)
        try:
            await uow.idempotency.reserve(method, caller, request_id, expected)
        except DuplicateRequest:
            pass
        else:
            response = await work(uow)
            await uow.idempotency.save(
                method, caller, request_id, response.SerializeToString(deterministic=True)
            )
            await uow.commit()
            return response
    # A concurrent copy of the request committed first: answer as it did.
    async with database.unit_of_work(read_only=True) as uow:
        stored = await uow.idempotency.get(method, caller, request_id)
    if stored is None:
        raise RuntimeError(f"the stored response of {method} {request_id} vanished")
    return _replay(stored, expected, response_type)


def _replay(stored: StoredResponse, expected: str, response_type: type[ResponseT]) -> ResponseT:
    if stored.fingerprint != expected:
        raise InvalidArgument(
            [FieldViolation("request_id", "was already used for a different request")],
            reason="REQUEST_ID_REUSED",
        )
    response = response_type()
    response.ParseFromString(stored.response)
    return response
