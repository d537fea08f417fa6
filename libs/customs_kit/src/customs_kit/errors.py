"""Errors that domain code raises and the server maps to ``google.rpc.Status``.

Pure Python on purpose: domain and service-layer code raise these without
knowing about gRPC. The server's error interceptor turns each into a status
code with exactly one ``ErrorInfo`` (the ``reason`` below, the service's error
domain) and the standard detail that fits (``BadRequest``,
``PreconditionFailure``, ``ResourceInfo``). Clients branch on ``reason``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import Enum


class StatusCode(Enum):
    """The gRPC status a domain error maps to (names as in ``grpc.StatusCode``)."""

    INVALID_ARGUMENT = "INVALID_ARGUMENT"
    NOT_FOUND = "NOT_FOUND"
    ALREADY_EXISTS = "ALREADY_EXISTS"
    FAILED_PRECONDITION = "FAILED_PRECONDITION"
    ABORTED = "ABORTED"
    PERMISSION_DENIED = "PERMISSION_DENIED"
    UNAUTHENTICATED = "UNAUTHENTICATED"
    UNAVAILABLE = "UNAVAILABLE"
    RESOURCE_EXHAUSTED = "RESOURCE_EXHAUSTED"


@dataclass(frozen=True)
class FieldViolation:
    """One bad field of a request: ``field`` is a dotted path (``items[0].hs_code``)."""

    field: str
    description: str


@dataclass(frozen=True)
class PreconditionViolation:
    """One unmet precondition, as in ``google.rpc.PreconditionFailure.Violation``."""

    type: str
    subject: str
    description: str


class DomainError(Exception):
    """Base of every error a caller is meant to see and act on."""

    status = StatusCode.FAILED_PRECONDITION

    def __init__(
        self, reason: str, message: str, *, metadata: Mapping[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message
        self.metadata: dict[str, str] = dict(metadata or {})


class InvalidArgument(DomainError):
    """The request is malformed; nothing was changed."""

    status = StatusCode.INVALID_ARGUMENT

    def __init__(
        self,
        field_violations: Sequence[FieldViolation],
        *,
        reason: str = "INVALID_ARGUMENT",
        message: str | None = None,
    ) -> None:
        self.field_violations = list(field_violations)
        summary = "; ".join(f"{v.field}: {v.description}" for v in self.field_violations)
        super().__init__(reason, message or f"invalid request: {summary}")


class NotFound(DomainError):
    """The named resource does not exist (or the caller may not know it exists)."""

    status = StatusCode.NOT_FOUND

    def __init__(self, resource_type: str, name: str, *, reason: str = "NOT_FOUND") -> None:
        self.resource_type = resource_type
        self.resource_name = name
        super().__init__(reason, f"{resource_type} {name!r} not found")


class AlreadyExists(DomainError):
    """A resource with that name already exists."""

    status = StatusCode.ALREADY_EXISTS

    def __init__(self, resource_type: str, name: str, *, reason: str = "ALREADY_EXISTS") -> None:
        self.resource_type = resource_type
        self.resource_name = name
        super().__init__(reason, f"{resource_type} {name!r} already exists")


class FailedPrecondition(DomainError):
    """The system is not in the state the operation needs (wrong lifecycle state...)."""

    status = StatusCode.FAILED_PRECONDITION

    def __init__(
        self,
        reason: str,
        message: str,
        violations: Sequence[PreconditionViolation] = (),
        *,
        metadata: Mapping[str, str] | None = None,
    ) -> None:
        self.violations = list(violations)
        super().__init__(reason, message, metadata=metadata)


class Aborted(DomainError):
    """A concurrency conflict, e.g. the etag the caller sent is no longer current."""

    status = StatusCode.ABORTED

    def __init__(self, reason: str = "ETAG_MISMATCH", message: str = "etag mismatch") -> None:
        super().__init__(reason, message)


class PermissionDenied(DomainError):
    """The caller is known but may not do this."""

    status = StatusCode.PERMISSION_DENIED


class Unauthenticated(DomainError):
    """The caller did not prove who they are."""

    status = StatusCode.UNAUTHENTICATED


class Unavailable(DomainError):
    """The service cannot answer yet; the caller should retry after ``retry_after_seconds``."""

    status = StatusCode.UNAVAILABLE

    def __init__(self, reason: str, message: str, *, retry_after_seconds: float = 1.0) -> None:
        self.retry_after_seconds = retry_after_seconds
        super().__init__(reason, message)


class ResourceExhausted(DomainError):
    """The service is at its limit of concurrent work; retry after ``retry_after_seconds``."""

    status = StatusCode.RESOURCE_EXHAUSTED

    def __init__(self, reason: str, message: str, *, retry_after_seconds: float = 1.0) -> None:
        self.retry_after_seconds = retry_after_seconds
        super().__init__(reason, message)
