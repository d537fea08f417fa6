"""Failed calls decoded into exceptions that carry the platform's error details.

Every service answers a failure with a ``google.rpc.Status`` holding one
``ErrorInfo`` (branch on its ``reason``, never on the message) and, for bad
input, a ``BadRequest`` naming each field and rule, or a
``PreconditionFailure`` saying which state is wrong.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import grpc
from google.rpc import error_details_pb2
from grpc_status import rpc_status


@dataclass(frozen=True)
class FieldViolation:
    """One field of the request that broke a rule (``BadRequest.FieldViolation``)."""

    field: str
    description: str
    reason: str = ""


@dataclass(frozen=True)
class PreconditionViolation:
    """One piece of state that does not allow the call (``PreconditionFailure.Violation``)."""

    type: str
    subject: str
    description: str


@dataclass(frozen=True)
class ErrorDetails:
    """What a ``google.rpc.Status`` says beyond its code and message."""

    reason: str = ""
    domain: str = ""
    metadata: dict[str, str] = field(default_factory=dict)
    field_violations: tuple[FieldViolation, ...] = ()
    precondition_violations: tuple[PreconditionViolation, ...] = ()
    retry_delay_seconds: float | None = None


class CustomsError(grpc.RpcError):
    """A call the platform refused, with its ``ErrorInfo`` reason and field violations.

    It is a ``grpc.RpcError`` too, so code written against the raw stubs keeps
    working; ``code()`` and ``details()`` answer as a failed call's do.
    """

    def __init__(self, status_code: grpc.StatusCode, message: str, details: ErrorDetails) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.message = message
        self.details_ = details

    @property
    def reason(self) -> str:
        """The ``ErrorInfo`` reason (``CRITERION_NOT_PENDING``), empty if the server sent none."""
        return self.details_.reason

    @property
    def domain(self) -> str:
        """The ``ErrorInfo`` domain: which service's vocabulary ``reason`` belongs to."""
        return self.details_.domain

    @property
    def field_violations(self) -> tuple[FieldViolation, ...]:
        """The ``BadRequest`` field violations, in the server's order."""
        return self.details_.field_violations

    @property
    def precondition_violations(self) -> tuple[PreconditionViolation, ...]:
        """The ``PreconditionFailure`` violations, in the server's order."""
        return self.details_.precondition_violations

    def code(self) -> grpc.StatusCode:
        """The gRPC status code, as ``grpc.Call.code()``."""
        return self.status_code

    def details(self) -> str:
        """The status message, as ``grpc.Call.details()``."""
        return self.message

    def __str__(self) -> str:
        parts = [self.status_code.name]
        if self.reason and self.reason != self.status_code.name:
            parts.append(self.reason)
        text = ": ".join(parts)
        if self.message:
            text += f": {self.message}"
        for violation in self.field_violations:
            text += f"\n  field {violation.field}: {violation.description}"
        for precondition in self.precondition_violations:
            text += f"\n  {precondition.subject}: {precondition.description}"
        return text


def decode_status_details(details: Any) -> ErrorDetails:
    """The ``ErrorInfo``, ``BadRequest``, ``PreconditionFailure`` and ``RetryInfo`` packed in
    ``details`` (the repeated ``Any`` of a ``google.rpc.Status``)."""
    info = error_details_pb2.ErrorInfo()
    bad_request = error_details_pb2.BadRequest()
    precondition = error_details_pb2.PreconditionFailure()
    retry = error_details_pb2.RetryInfo()
    reason = domain = ""
    metadata: dict[str, str] = {}
    fields: list[FieldViolation] = []
    preconditions: list[PreconditionViolation] = []
    retry_delay: float | None = None
    for packed in details:
        if packed.Is(info.DESCRIPTOR):
            packed.Unpack(info)
            reason, domain, metadata = info.reason, info.domain, dict(info.metadata)
        elif packed.Is(bad_request.DESCRIPTOR):
            packed.Unpack(bad_request)
            fields.extend(
                FieldViolation(v.field, v.description, v.reason)
                for v in bad_request.field_violations
            )
        elif packed.Is(precondition.DESCRIPTOR):
            packed.Unpack(precondition)
            preconditions.extend(
                PreconditionViolation(v.type, v.subject, v.description)
                for v in precondition.violations
            )
        elif packed.Is(retry.DESCRIPTOR):
            packed.Unpack(retry)
            retry_delay = retry.retry_delay.ToTimedelta().total_seconds()
    return ErrorDetails(
        reason=reason,
        domain=domain,
        metadata=metadata,
        field_violations=tuple(fields),
        precondition_violations=tuple(preconditions),
        retry_delay_seconds=retry_delay,
    )


def decode(error: grpc.RpcError) -> CustomsError:
    """``error`` as a :class:`CustomsError` with the details its status carries."""
    if isinstance(error, CustomsError):
        return error
    code = error.code() if hasattr(error, "code") else grpc.StatusCode.UNKNOWN
    message = error.details() if hasattr(error, "details") else str(error)
    status = rpc_status.from_call(error) if hasattr(error, "trailing_metadata") else None
    details = decode_status_details(status.details) if status is not None else ErrorDetails()
    return CustomsError(code, message or "", details)
