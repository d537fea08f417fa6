"""Channels to the services: the bearer token on every call, retries and deadlines.

The service config follows gRPC's retry guidance: only ``UNAVAILABLE`` is
retried (the server never saw the call, or is starting — scoring answers
UNAVAILABLE until it holds its first criteria snapshot), with exponential
backoff. Unary calls get a deadline; streaming calls (watch streams, the bulk
assessment stream) run as long as they need. Failures surface as
:class:`~customs_client.errors.CustomsError`.

Against a platform that runs mutual TLS, ``CUSTOMS_TLS_CA_FILE`` names the CA
the services' certificates are signed by, and ``CUSTOMS_TLS_CERT_FILE`` with
``CUSTOMS_TLS_KEY_FILE`` the client's own certificate and key (see
:class:`ClientTls`).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import grpc
from customs.audit_referral.v1 import audit_referral_service_pb2, audit_referral_service_pb2_grpc
from customs.compliance.v1 import compliance_service_pb2, compliance_service_pb2_grpc
from customs.criteria.v1 import criteria_service_pb2, criteria_service_pb2_grpc
from customs.events.v1 import event_delivery_service_pb2_grpc
from customs.exam_reports.v1 import exam_reports_service_pb2, exam_reports_service_pb2_grpc
from customs.scoring.v1 import scoring_service_pb2, scoring_service_pb2_grpc
from google.protobuf.descriptor import ServiceDescriptor

from customs_client.config import ConfigurationError, load_token, service_address
from customs_client.errors import decode

#: Deadline of a unary call, seconds, when the caller gives none.
DEFAULT_TIMEOUT_SECONDS = 30.0
#: Attempts of a call that failed UNAVAILABLE, the first included (gRPC caps this at 5).
RETRY_ATTEMPTS = 5


@dataclass(frozen=True)
class _Service:
    descriptor: ServiceDescriptor
    stub: Callable[[grpc.Channel], Any]


_SERVICES: Mapping[str, _Service] = {
    "scoring": _Service(
        scoring_service_pb2.DESCRIPTOR.services_by_name["ScoringService"],
        scoring_service_pb2_grpc.ScoringServiceStub,
    ),
    "criteria": _Service(
        criteria_service_pb2.DESCRIPTOR.services_by_name["CriteriaService"],
        criteria_service_pb2_grpc.CriteriaServiceStub,
    ),
    "exam_reports": _Service(
        exam_reports_service_pb2.DESCRIPTOR.services_by_name["ExamReportsService"],
        exam_reports_service_pb2_grpc.ExamReportsServiceStub,
    ),
    "compliance": _Service(
        compliance_service_pb2.DESCRIPTOR.services_by_name["ComplianceService"],
        compliance_service_pb2_grpc.ComplianceServiceStub,
    ),
    "audit_referral": _Service(
        audit_referral_service_pb2.DESCRIPTOR.services_by_name["AuditReferralService"],
        audit_referral_service_pb2_grpc.AuditReferralServiceStub,
    ),
}


def service_config(descriptor: ServiceDescriptor, timeout_seconds: float) -> dict[str, Any]:
    """The gRPC service config of one service: retry UNAVAILABLE; a deadline on unary calls."""
    retry = {
        "maxAttempts": RETRY_ATTEMPTS,
        "initialBackoff": "0.2s",
        "maxBackoff": "5s",
        "backoffMultiplier": 2,
        "retryableStatusCodes": ["UNAVAILABLE"],
    }
    streaming = [
        {"service": descriptor.full_name, "method": method.name}
        for method in descriptor.methods
        if method.client_streaming or method.server_streaming
    ]
    configs: list[dict[str, Any]] = [
        {
            "name": [{"service": descriptor.full_name}],
            "retryPolicy": retry,
            "timeout": f"{timeout_seconds:g}s",
        }
    ]
    if streaming:
        configs.append({"name": streaming, "retryPolicy": retry})
    return {"methodConfig": configs}


class _TokenAndErrors(
    grpc.UnaryUnaryClientInterceptor,
    grpc.UnaryStreamClientInterceptor,
    grpc.StreamUnaryClientInterceptor,
    grpc.StreamStreamClientInterceptor,
):
    """Adds ``authorization: Bearer`` to every call and raises failures as CustomsError."""

    def __init__(self, token: str) -> None:
        self._header = ("authorization", f"Bearer {token}")

    def _details(self, details: grpc.ClientCallDetails) -> grpc.ClientCallDetails:
        metadata = [*(details.metadata or ()), self._header]
        return _CallDetails(
            details.method,
            details.timeout,
            metadata,
            details.credentials,
            getattr(details, "wait_for_ready", None),
            getattr(details, "compression", None),
        )

    def intercept_unary_unary(self, continuation: Any, details: Any, request: Any) -> Any:
        outcome = continuation(self._details(details), request)
        error = outcome.exception()
        if isinstance(error, grpc.RpcError):
            raise decode(error) from None
        return outcome

    def intercept_stream_unary(self, continuation: Any, details: Any, requests: Any) -> Any:
        outcome = continuation(self._details(details), requests)
        error = outcome.exception()
        if isinstance(error, grpc.RpcError):
            raise decode(error) from None
        return outcome

    def intercept_unary_stream(self, continuation: Any, details: Any, request: Any) -> Any:
        return _DecodedStream(continuation(self._details(details), request))

    def intercept_stream_stream(self, continuation: Any, details: Any, requests: Any) -> Any:
        return _DecodedStream(continuation(self._details(details), requests))


class _CallDetails(grpc.ClientCallDetails):
    def __init__(
        self,
        method: str,
        timeout: float | None,
        metadata: Any,
        credentials: Any,
        wait_for_ready: bool | None,
        compression: Any,
    ) -> None:
        self.method = method
        self.timeout = timeout
        self.metadata = metadata
        self.credentials = credentials
        self.wait_for_ready = wait_for_ready
        self.compression = compression


class _DecodedStream:
    """A response stream whose failure is raised as CustomsError; otherwise the call itself."""

    def __init__(self, call: Any) -> None:
        self._call = call

    def __iter__(self) -> Iterator[Any]:
        return self

    def __next__(self) -> Any:
        try:
            return next(self._call)
        except grpc.RpcError as error:
            raise decode(error) from None

    def __getattr__(self, name: str) -> Any:
        return getattr(self._call, name)


@dataclass(frozen=True)
class ClientTls:
    """TLS to the services: the CA to trust and, for mutual TLS, this client's certificate.

    ``ca_file`` None trusts the system's CAs (a platform behind a public
    certificate); ``cert_file`` and ``key_file`` go together.
    """

    ca_file: Path | None = None
    cert_file: Path | None = None
    key_file: Path | None = None

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> ClientTls | None:
        """``CUSTOMS_TLS_CA_FILE``, ``CUSTOMS_TLS_CERT_FILE``, ``CUSTOMS_TLS_KEY_FILE``; None unset.

        Raises ``ConfigurationError`` when only one of certificate and key is given.
        """
        source = os.environ if environ is None else environ
        ca, cert, key = (
            source.get(f"CUSTOMS_TLS_{name}_FILE", "") for name in ("CA", "CERT", "KEY")
        )
        if not (ca or cert or key):
            return None
        if bool(cert) != bool(key):
            raise ConfigurationError(
                "CUSTOMS_TLS_CERT_FILE and CUSTOMS_TLS_KEY_FILE go together; one is missing"
            )
        return cls(
            ca_file=Path(ca) if ca else None,
            cert_file=Path(cert) if cert else None,
            key_file=Path(key) if key else None,
        )

    def credentials(self) -> grpc.ChannelCredentials:
        """The channel credentials these files describe; ``ConfigurationError`` if unreadable."""

        def read(path: Path | None) -> bytes | None:
            try:
                return None if path is None else path.read_bytes()
            except OSError as error:
                raise ConfigurationError(f"cannot read {path} ({error.strerror})") from None

        return grpc.ssl_channel_credentials(
            root_certificates=read(self.ca_file),
            private_key=read(self.key_file),
            certificate_chain=read(self.cert_file),
        )


def open_channel(
    package: str,
    *,
    token: str | None = None,
    address: str | None = None,
    timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS,
    tls: ClientTls | None = None,
) -> grpc.Channel:
    """A channel to the service ``package`` (``"criteria"``) that carries the token.

    ``address`` defaults to ``CUSTOMS_<PACKAGE>_ADDR`` or `make run`'s port, the
    token to ``CUSTOMS_TOKEN`` or the developer token `make run` wrote, ``tls``
    to the ``CUSTOMS_TLS_*`` files (plaintext when none is set).
    """
    spec = _SERVICES[package]
    options = [
        ("grpc.enable_retries", 1),
        ("grpc.service_config", json.dumps(service_config(spec.descriptor, timeout_seconds))),
    ]
    target = address or service_address(package)
    tls = tls or ClientTls.from_env()
    channel = (
        grpc.insecure_channel(target, options=options)
        if tls is None
        else grpc.secure_channel(target, tls.credentials(), options=options)
    )
    return grpc.intercept_channel(channel, _TokenAndErrors(token or load_token()))


class CustomsClient:
    """The five services' stubs over token-carrying channels, opened on first use.

    >>> with CustomsClient() as client:
    ...     client.criteria.ListCriteria(ListCriteriaRequest())
    """

    def __init__(
        self,
        *,
        token: str | None = None,
        addresses: Mapping[str, str] | None = None,
        timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS,
        tls: ClientTls | None = None,
    ) -> None:
        self._token = token
        self._tls = tls
        self._addresses = dict(addresses or {})
        self._timeout = timeout_seconds
        self._channels: dict[str, grpc.Channel] = {}
        self._stubs: dict[str, Any] = {}

    def stub(self, package: str) -> Any:
        """The generated stub of ``package`` (``"exam_reports"``)."""
        if package not in self._stubs:
            if self._token is None:
                self._token = load_token()
            channel = open_channel(
                package,
                token=self._token,
                address=self._addresses.get(package),
                timeout_seconds=self._timeout,
                tls=self._tls,
            )
            self._channels[package] = channel
            self._stubs[package] = _SERVICES[package].stub(channel)
        return self._stubs[package]

    # The generated stubs carry no type information of their own; these properties name
    # the stub each service has, for readers and for editors that read the .pyi files.
    @property
    def scoring(self) -> scoring_service_pb2_grpc.ScoringServiceStub:
        """The scoring service: assessments, random rates, capacity policies."""
        return self.stub("scoring")  # type: ignore[no-any-return]

    @property
    def criteria(self) -> criteria_service_pb2_grpc.CriteriaServiceStub:
        """The criteria service: risk profiles, criteria, named lists, reports."""
        return self.stub("criteria")  # type: ignore[no-any-return]

    @property
    def exam_reports(self) -> exam_reports_service_pb2_grpc.ExamReportsServiceStub:
        """The exam_reports service: offices, officers, shifts, examinations, reports."""
        return self.stub("exam_reports")  # type: ignore[no-any-return]

    @property
    def compliance(self) -> compliance_service_pb2_grpc.ComplianceServiceStub:
        """The compliance service: traders, measurements, the approved-trader programme."""
        return self.stub("compliance")  # type: ignore[no-any-return]

    @property
    def audit_referral(self) -> audit_referral_service_pb2_grpc.AuditReferralServiceStub:
        """The audit_referral service: referrals and post-clearance audit cases."""
        return self.stub("audit_referral")  # type: ignore[no-any-return]

    def event_delivery(
        self, package: str
    ) -> event_delivery_service_pb2_grpc.EventDeliveryServiceStub:
        """The event delivery service ``package`` serves beside its own (reconciling...)."""
        self.stub(package)
        return event_delivery_service_pb2_grpc.EventDeliveryServiceStub(  # type: ignore[no-untyped-call]
            self._channels[package]
        )

    def close(self) -> None:
        """Closes every channel opened so far."""
        for channel in self._channels.values():
            channel.close()
        self._channels.clear()
        self._stubs.clear()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        _type: type[BaseException] | None,
        _value: BaseException | None,
        _traceback: TracebackType | None,
    ) -> None:
        self.close()
