"""The server-side call guard: log context, authentication, roles, validation, errors.

One interceptor wraps every application RPC in the same order:

1. bind the log context (``rpc``, ``request_id``) for every line logged during the call;
2. authenticate the bearer token → ``UNAUTHENTICATED``;
3. check the roles the servicer method declared with ``allow`` → ``PERMISSION_DENIED``;
4. validate each request against its protovalidate rules → ``INVALID_ARGUMENT`` with a
   ``BadRequest`` naming the field and the rule, before any service code runs;
5. map :class:`~customs_kit.errors.DomainError` to ``google.rpc.Status`` with one
   ``ErrorInfo``, and any other exception to a bare ``INTERNAL`` (logged with its stack,
   never sent to the caller).

It is one interceptor rather than five so the hot path (``AssessDeclaration``) pays for
one wrapper, and so the order above cannot be rearranged by accident.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

import grpc
import protovalidate
import structlog
from google.protobuf import any_pb2, duration_pb2, message
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc_status import rpc_status
from protobuf import Oneof
from protovalidate import FieldPathElementPb as FieldPathElement

from customs_kit.auth import (
    Principal,
    Role,
    TokenVerifier,
    authorize,
    reset_current_principal,
    set_current_principal,
)
from customs_kit.errors import (
    AlreadyExists,
    DomainError,
    FailedPrecondition,
    FieldViolation,
    InvalidArgument,
    NotFound,
    Unauthenticated,
    Unavailable,
)

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


def violations_of(request: message.Message) -> list[FieldViolation]:
    """The protovalidate violations of ``request`` as field violations (path + rule)."""
    return [
        FieldViolation(
            field=_field_path(violation.proto.field.elements if violation.proto.field else ()),
            description=f"{violation.proto.rule_id}: {violation.proto.message}",
        )
        for violation in protovalidate.collect_violations(request)
    ]


def _field_path(elements: Iterable[FieldPathElement]) -> str:
    parts: list[str] = []
    for element in elements:
        match element.subscript:
            case None:
                parts.append(element.field_name)
            case Oneof(field="index", value=index):
                parts.append(f"{element.field_name}[{index}]")
            case Oneof(value=key):
                parts.append(f'{element.field_name}["{key}"]')
    return ".".join(parts)


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
    elif isinstance(error, Unavailable):
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
    ) -> None:
        self.verifier = verifier
        self.error_domain = error_domain
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
        return _wrap(handler, _Call(self, method, policy, metadata))


class RpcNotImplementedError(Exception):
    """An RPC of the contract that this release does not serve yet."""


@dataclass
class _Call:
    guard: CallGuardInterceptor
    method: str
    policy: MethodPolicy
    metadata: Mapping[str, str | bytes]

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
            try:
                principal_token = self._admit()
                if not self.policy.implemented:
                    raise RpcNotImplementedError(self.method)
                if request is not None:
                    self.validate(request)
                yield
            except grpc.aio.AbortError:
                raise
            except Exception as error:
                await self._fail(context, error)
            finally:
                if principal_token is not None:
                    reset_current_principal(principal_token)

    def validate(self, request: message.Message) -> None:
        violations = violations_of(request)
        if violations:
            raise InvalidArgument(violations)

    def checked(self, requests: AsyncIterator[message.Message]) -> AsyncIterator[message.Message]:
        if not self.policy.validates_messages:
            return requests
        return self._validated(requests)

    async def _validated(
        self, requests: AsyncIterator[message.Message]
    ) -> AsyncIterator[message.Message]:
        async for request in requests:
            self.validate(request)
            yield request

    def _admit(self) -> contextvars.Token[Principal | None]:
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
        return principal_token

    async def _fail(self, context: grpc.aio.ServicerContext[Any, Any], error: Exception) -> None:
        if isinstance(error, RpcNotImplementedError):
            await context.abort(
                grpc.StatusCode.UNIMPLEMENTED, f"{self.method} is not implemented yet"
            )
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

        async def unary_stream(request: message.Message, context: Any) -> Any:
            async with call.guarded(context, request):
                async for response in unary_stream_behavior(request, context):
                    yield response

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

    async def stream_stream(requests: AsyncIterator[message.Message], context: Any) -> Any:
        async with call.guarded(context, None):
            async for response in stream_stream_behavior(call.checked(requests), context):
                yield response

    return grpc.stream_stream_rpc_method_handler(
        stream_stream, handler.request_deserializer, handler.response_serializer
    )
