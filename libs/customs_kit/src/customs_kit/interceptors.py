"""The server-side call guard: log context, authentication, roles, validation, errors.

One interceptor wraps every application RPC in the same order:

1. bind the log context (``rpc``, ``request_id``) for every line logged during the call;
2. authenticate the bearer token → ``UNAUTHENTICATED``;
3. check the roles the servicer method declared with ``allow`` → ``PERMISSION_DENIED``;
4. admit the call under the service's concurrency limits (:mod:`customs_kit.limits`)
   → ``RESOURCE_EXHAUSTED`` with ``RetryInfo``;
5. validate each request (:mod:`customs_kit.validation`) → ``INVALID_ARGUMENT`` with a
   ``BadRequest`` naming the field and the rule, before any service code runs;
6. map :class:`~customs_kit.errors.DomainError` to ``google.rpc.Status`` with one
   ``ErrorInfo``, a database that cannot answer to ``UNAVAILABLE`` with ``RetryInfo``,
   and any other exception to a bare ``INTERNAL`` (logged with its stack, never sent
   to the caller).

It is one interceptor rather than six so the hot path (``AssessDeclaration``) pays for
one wrapper, and so the order above cannot be rearranged by accident.

:class:`CallShapeInterceptor` sits outside every other interceptor, where grpc
hands calls over: it answers bytes that do not decode as the request type with
``INVALID_ARGUMENT`` (grpc would log a stack and answer ``UNKNOWN`` or
``INTERNAL``), and it serves response streams by writing each message from the
call's own task, so that a cancelled stream unwinds every wrapper inside it in
the context it was entered in.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

import grpc
import structlog
from google.protobuf import any_pb2, duration_pb2, message
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc_status import rpc_status

from customs_kit.auth import (
    Principal,
    Role,
    TokenVerifier,
    authorize,
    reset_current_principal,
    set_current_principal,
)
from customs_kit.db import database_unavailable
from customs_kit.errors import (
    AlreadyExists,
    DomainError,
    FailedPrecondition,
    FieldViolation,
    InvalidArgument,
    NotFound,
    ResourceExhausted,
    Unauthenticated,
    Unavailable,
)
from customs_kit.limits import Admission
from customs_kit.validation import violations_of

__all__ = [
    "PUBLIC_SERVICES",
    "CallGuardInterceptor",
    "CallShapeInterceptor",
    "MethodPolicy",
    "answers_invalid_messages",
    "answers_invalid_messages_itself",
    "to_rpc_status",
    "violations_of",
]

_log = structlog.get_logger(__name__)

#: Services that answer without a token: Kubernetes probes carry none, and the
#: schemas reflection serves are public.
PUBLIC_SERVICES = frozenset(
    {
        "grpc.health.v1.Health",
        "grpc.reflection.v1alpha.ServerReflection",
        "grpc.reflection.v1.ServerReflection",
    }
)


@dataclass(frozen=True)
class MethodPolicy:
    """What the guard knows about one RPC: who may call it and whether it exists.

    ``validates_messages`` is false for a stream RPC that answers an invalid
    message itself and goes on (see :func:`answers_invalid_messages`).
    """

    roles: frozenset[Role] | None
    implemented: bool
    validates_messages: bool = True


_ANSWERS_INVALID_ATTRIBUTE = "__answers_invalid_messages__"

_Method = TypeVar("_Method", bound=Callable[..., Any])


def answers_invalid_messages(method: _Method) -> _Method:
    """Declares that a client-streaming RPC validates each message itself.

    By default the guard ends a stream with INVALID_ARGUMENT at its first invalid
    message; an RPC whose contract answers that message and goes on (bulk
    lodgement) receives the messages unvalidated and checks them with
    :func:`violations_of`.
    """
    setattr(method, _ANSWERS_INVALID_ATTRIBUTE, True)
    return method


def answers_invalid_messages_itself(method: object) -> bool:
    """Whether ``method`` was declared with :func:`answers_invalid_messages`."""
    return getattr(method, _ANSWERS_INVALID_ATTRIBUTE, False) is True


def to_rpc_status(error: DomainError, domain: str) -> grpc.Status:
    """The ``google.rpc.Status`` (as trailers) for a domain error."""
    details: list[message.Message] = [
        error_details_pb2.ErrorInfo(reason=error.reason, domain=domain, metadata=error.metadata)
    ]
    if isinstance(error, InvalidArgument):
        details.append(
            error_details_pb2.BadRequest(
                field_violations=[
                    error_details_pb2.BadRequest.FieldViolation(
                        field=v.field, description=v.description
                    )
                    for v in error.field_violations
                ]
            )
        )
    elif isinstance(error, FailedPrecondition) and error.violations:
        details.append(
            error_details_pb2.PreconditionFailure(
                violations=[
                    error_details_pb2.PreconditionFailure.Violation(
                        type=v.type, subject=v.subject, description=v.description
                    )
                    for v in error.violations
                ]
            )
        )
    elif isinstance(error, Unavailable | ResourceExhausted):
        retry_delay = duration_pb2.Duration()
        retry_delay.FromNanoseconds(int(error.retry_after_seconds * 1e9))
        details.append(error_details_pb2.RetryInfo(retry_delay=retry_delay))
    elif isinstance(error, NotFound | AlreadyExists):
        details.append(
            error_details_pb2.ResourceInfo(
                resource_type=error.resource_type, resource_name=error.resource_name
            )
        )
    packed = []
    for detail in details:
        wrapper = any_pb2.Any()
        wrapper.Pack(detail)
        packed.append(wrapper)
    code = getattr(code_pb2, error.status.value)
    return rpc_status.to_status(status_pb2.Status(code=code, message=error.message, details=packed))


class CallGuardInterceptor(grpc.aio.ServerInterceptor):
    """Authenticates, authorizes, validates and maps errors for every application RPC."""

    def __init__(
        self,
        verifier: TokenVerifier,
        policies: Mapping[str, MethodPolicy],
        error_domain: str,
        admission: Admission,
    ) -> None:
        self.verifier = verifier
        self.error_domain = error_domain
        self.admission = admission
        self._policies = policies

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler:
        handler = await continuation(handler_call_details)
        method: str = handler_call_details.method
        if handler is None or method.split("/")[1] in PUBLIC_SERVICES:
            return handler
        policy = self._policies.get(method, MethodPolicy(roles=None, implemented=False))
        metadata = dict(handler_call_details.invocation_metadata or ())
        streaming = bool(handler.request_streaming or handler.response_streaming)
        return _wrap(handler, _Call(self, method, policy, metadata, streaming))


class RpcNotImplementedError(Exception):
    """An RPC of the contract that this release does not serve yet."""


@dataclass
class _Call:
    guard: CallGuardInterceptor
    method: str
    policy: MethodPolicy
    metadata: Mapping[str, str | bytes]
    streaming: bool

    @contextlib.asynccontextmanager
    async def guarded(
        self, context: grpc.aio.ServicerContext[Any, Any], request: message.Message | None
    ) -> AsyncIterator[None]:
        """Runs the body as the authenticated caller; turns any failure into a status."""
        with structlog.contextvars.bound_contextvars(rpc=self.method):
            request_id = getattr(request, "request_id", "")
            if request_id:
                structlog.contextvars.bind_contextvars(request_id=request_id)
            principal_token = None
            release: Callable[[], None] | None = None
            try:
                principal, principal_token = self._admit()
                if not self.policy.implemented:
                    raise RpcNotImplementedError(self.method)
                release = self.guard.admission.admit(principal.subject, stream=self.streaming)
                if request is not None:
                    self.validate(request)
                yield
            except grpc.aio.AbortError:
                raise
            except Exception as error:
                await self._fail(context, error)
            finally:
                if release is not None:
                    release()
                if principal_token is not None:
                    reset_current_principal(principal_token)

    def validate(self, request: message.Message) -> None:
        if isinstance(request, Undecodable):
            raise request.error()
        violations = violations_of(request)
        if violations:
            raise InvalidArgument(violations)

    async def checked(
        self, requests: AsyncIterator[message.Message]
    ) -> AsyncIterator[message.Message]:
        # Even an RPC that answers invalid messages itself cannot answer bytes
        # that are no message: they end the stream.
        async for request in requests:
            if isinstance(request, Undecodable):
                raise request.error()
            if self.policy.validates_messages:
                self.validate(request)
            yield request

    def _admit(self) -> tuple[Principal, contextvars.Token[Principal | None]]:
        header = self.metadata.get("authorization", "")
        if isinstance(header, bytes):
            header = header.decode("latin-1")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthenticated("MISSING_TOKEN", "a bearer token is required")
        principal = self.guard.verifier.verify(token.strip())
        principal_token = set_current_principal(principal)
        structlog.contextvars.bind_contextvars(caller=principal.subject)
        if self.policy.implemented:
            authorize(principal, self.method, self.policy.roles)
        return principal, principal_token

    async def _fail(self, context: grpc.aio.ServicerContext[Any, Any], error: Exception) -> None:
        if isinstance(error, RpcNotImplementedError):
            await context.abort(
                grpc.StatusCode.UNIMPLEMENTED, f"{self.method} is not implemented yet"
            )
        unavailable = database_unavailable(error)
        if unavailable is not None:
            _log.warning("rpc_unavailable", reason=unavailable.reason, detail=str(error))
            error = unavailable
        if isinstance(error, DomainError):
            _log.info(
                "rpc_refused", code=error.status.value, reason=error.reason, detail=error.message
            )
            status = to_rpc_status(error, self.guard.error_domain)
            await context.abort(status.code, status.details, status.trailing_metadata)
        _log.error("rpc_failed", exc_info=error)
        await context.abort(grpc.StatusCode.INTERNAL, "internal error")


def _wrap(handler: grpc.RpcMethodHandler, call: _Call) -> grpc.RpcMethodHandler:
    """Rebuilds ``handler`` with the guard around whichever of the four call shapes it is."""
    if handler.unary_unary:
        unary_unary_behavior = handler.unary_unary

        async def unary_unary(request: message.Message, context: Any) -> Any:
            async with call.guarded(context, request):
                return await unary_unary_behavior(request, context)

        return grpc.unary_unary_rpc_method_handler(
            unary_unary, handler.request_deserializer, handler.response_serializer
        )
    if handler.unary_stream:
        unary_stream_behavior = handler.unary_stream

        async def guarded_responses(request: message.Message, context: Any) -> Any:
            async with (
                call.guarded(context, request),
                contextlib.aclosing(unary_stream_behavior(request, context)) as responses,
            ):
                async for response in responses:
                    yield response

        def unary_stream(request: message.Message, context: Any) -> Any:
            return _held_until_the_call_ends(guarded_responses(request, context))

        return grpc.unary_stream_rpc_method_handler(
            unary_stream, handler.request_deserializer, handler.response_serializer
        )
    if handler.stream_unary:
        stream_unary_behavior = handler.stream_unary

        async def stream_unary(requests: AsyncIterator[message.Message], context: Any) -> Any:
            async with call.guarded(context, None):
                return await stream_unary_behavior(call.checked(requests), context)

        return grpc.stream_unary_rpc_method_handler(
            stream_unary, handler.request_deserializer, handler.response_serializer
        )
    stream_stream_behavior = handler.stream_stream

    async def guarded_stream(requests: AsyncIterator[message.Message], context: Any) -> Any:
        async with (
            call.guarded(context, None),
            contextlib.aclosing(
                stream_stream_behavior(call.checked(requests), context)
            ) as responses,
        ):
            async for response in responses:
                yield response

    def stream_stream(requests: AsyncIterator[message.Message], context: Any) -> Any:
        return _held_until_the_call_ends(guarded_stream(requests, context))

    return grpc.stream_stream_rpc_method_handler(
        stream_stream, handler.request_deserializer, handler.response_serializer
    )


class Undecodable:
    """What a request deserializer returns for bytes that are not a request message."""

    def __init__(self, method: str, error: Exception) -> None:
        self.method = method
        self.cause = str(error) or type(error).__name__

    def error(self) -> InvalidArgument:
        """The error the caller gets for it."""
        return InvalidArgument(
            [FieldViolation("", f"message.decode: not a valid request message ({self.cause})")],
            reason="UNDECODABLE_MESSAGE",
        )


def _tolerant(
    method: str, deserialize: Callable[[bytes], Any] | None
) -> Callable[[bytes], Any] | None:
    if deserialize is None:
        return None

    def decode(data: bytes) -> Any:
        try:
            return deserialize(data)
        except Exception as error:
            return Undecodable(method, error)

    return decode


class CallShapeInterceptor(grpc.aio.ServerInterceptor):
    """The outermost interceptor: tolerant request decoding, streams written in-task.

    grpc decodes a request before any interceptor runs, and a decoding failure
    was answered ``UNKNOWN``/``INTERNAL`` with a stack trace in the log; here
    the decoder returns an :class:`Undecodable` instead, which the call guard
    (or, for a unary call to any service, this interceptor) refuses with
    ``INVALID_ARGUMENT`` and one log line.

    A response stream handed to grpc as an async generator is left suspended
    when the client cancels, and closed later by the garbage collector in
    another context, where every ``with`` block inside it (trace context,
    log context, the caller's identity) fails to restore its variables. Served
    here as a coroutine that writes each response, the stream is closed in its
    own task, in order, however it ends.
    """

    def __init__(self, error_domain: str) -> None:
        self._error_domain = error_domain

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler:
        handler = await continuation(handler_call_details)
        if handler is None:
            return handler
        method: str = handler_call_details.method
        deserializer = _tolerant(method, handler.request_deserializer)
        serializer = handler.response_serializer
        if handler.unary_unary:
            return grpc.unary_unary_rpc_method_handler(
                _decoded_unary(handler.unary_unary, self._error_domain), deserializer, serializer
            )
        if handler.unary_stream:
            return grpc.unary_stream_rpc_method_handler(
                _written(handler.unary_stream, self._error_domain), deserializer, serializer
            )
        if handler.stream_unary:
            return grpc.stream_unary_rpc_method_handler(
                handler.stream_unary, deserializer, serializer
            )
        return grpc.stream_stream_rpc_method_handler(
            _written(handler.stream_stream, self._error_domain), deserializer, serializer
        )


async def _refuse(
    request: Undecodable, context: grpc.aio.ServicerContext[Any, Any], error_domain: str
) -> None:
    error = request.error()
    _log.info(
        "rpc_refused",
        rpc=request.method,
        code=error.status.value,
        reason=error.reason,
        detail=error.message,
    )
    status = to_rpc_status(error, error_domain)
    await context.abort(status.code, status.details, status.trailing_metadata)


def _decoded_unary(behavior: Callable[..., Any], error_domain: str) -> Callable[..., Any]:
    async def serve(request: Any, context: grpc.aio.ServicerContext[Any, Any]) -> Any:
        if isinstance(request, Undecodable):
            await _refuse(request, context, error_domain)
        return await behavior(request, context)

    return serve


#: The response streams opened inside the current call (see :func:`_written`).
_streams_of_the_call: contextvars.ContextVar[list[AsyncGenerator[Any, None]] | None] = (
    contextvars.ContextVar("customs_streams_of_the_call", default=None)
)


def _held_until_the_call_ends(stream: AsyncGenerator[Any, None]) -> AsyncGenerator[Any, None]:
    """Registers ``stream`` to be closed by the call's own task when the call ends.

    An interceptor between this one and the call (OpenTelemetry's) iterates
    ``stream`` without closing it when it is itself closed; the last reference
    dropped, the garbage collector would close ``stream`` in a new task, whose
    context is a copy, where resetting its variables fails.
    """
    held = _streams_of_the_call.get()
    if held is not None:
        held.append(stream)
    return stream


def _written(behavior: Callable[..., Any], error_domain: str) -> Callable[..., Awaitable[None]]:
    async def write_all(request: Any, context: grpc.aio.ServicerContext[Any, Any]) -> None:
        if isinstance(request, Undecodable):
            await _refuse(request, context, error_domain)
        held: list[AsyncGenerator[Any, None]] = []
        # The call's task has a context of its own: nothing to restore afterwards.
        _streams_of_the_call.set(held)
        responses = behavior(request, context)
        if not hasattr(responses, "aclose"):
            # A servicer that writes with context.write() itself returns a coroutine.
            await responses
            return
        async with contextlib.aclosing(responses):
            try:
                async for response in responses:
                    await context.write(response)
            finally:
                # Innermost first, as a cancellation would have unwound them.
                for stream in reversed(held):
                    await stream.aclose()

    return write_all
