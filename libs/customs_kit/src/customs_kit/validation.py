"""Request validation: the chassis's range rules, then the contract's protovalidate rules.

protovalidate checks what a contract declares, but two kinds of input get
past it and used to reach service code or the rule engine as crashes:

* a ``google.protobuf.Timestamp`` or ``Duration`` outside the range the
  well-known types define (nanos beyond a second, years before 1 or after
  9999) converts to no ``datetime``/``timedelta`` and raised in every servicer
  that converts it. One rule here covers every such field of every request,
  so no contract has to repeat it;
* a CEL rule whose evaluation fails (``end_time - start_time`` overflows
  CEL's 64-bit nanosecond durations on far-apart timestamps) raised
  ``EvaluationError``. The request made the rule fail, so that is a violation
  of that rule, not a fault of the service.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Iterator

import protovalidate
from google.protobuf import message
from google.protobuf.descriptor import Descriptor, FieldDescriptor
from protobuf import Oneof
from protovalidate import FieldPathElementPb as FieldPathElement

from customs_kit.errors import FieldViolation

_TIMESTAMP = "google.protobuf.Timestamp"
_DURATION = "google.protobuf.Duration"
#: 0001-01-01T00:00:00Z and 9999-12-31T23:59:59Z, the range of a Timestamp.
_MIN_TIMESTAMP_SECONDS = -62_135_596_800
_MAX_TIMESTAMP_SECONDS = 253_402_300_799
#: About 10,000 years, the range of a Duration.
_MAX_DURATION_SECONDS = 315_576_000_000
_MAX_NANOS = 999_999_999
_EVALUATING = re.compile(r"error evaluating (?P<rule>\S+?):\s*(?P<cause>.*)", re.DOTALL)


def violations_of(request: message.Message) -> list[FieldViolation]:
    """Every violation of ``request``: field path and ``rule: message``.

    Out-of-range timestamps and durations are reported first and alone,
    since the contract's rules over them would compute nonsense.
    """
    out_of_range = list(_range_violations(request, ""))
    if out_of_range:
        return out_of_range
    try:
        found = protovalidate.collect_violations(request)
    except protovalidate.EvaluationError as error:
        return [_unevaluable(error)]
    return [
        FieldViolation(
            field=_field_path(violation.proto.field.elements if violation.proto.field else ()),
            description=f"{violation.proto.rule_id}: {violation.proto.message}",
        )
        for violation in found
    ]


def _unevaluable(error: protovalidate.EvaluationError) -> FieldViolation:
    matched = _EVALUATING.match(str(error))
    rule, cause = (matched["rule"], matched["cause"]) if matched else ("cel", str(error))
    # The library names the rule but not the message it is declared on; message
    # rules of the request itself are the ones that combine several fields.
    return FieldViolation(field="", description=f"{rule}: cannot be evaluated ({cause})")


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


@functools.cache
def _holds_time(descriptor: Descriptor) -> bool:
    """Whether a message of this type can contain a Timestamp or Duration anywhere."""
    return _reaches_time(descriptor, set())


def _reaches_time(descriptor: Descriptor, seen: set[str]) -> bool:
    if descriptor.full_name in (_TIMESTAMP, _DURATION):
        return True
    if descriptor.full_name in seen:
        return False
    seen.add(descriptor.full_name)
    return any(
        field.message_type is not None and _reaches_time(field.message_type, seen)
        for field in descriptor.fields
    )


def _range_violations(value: message.Message, prefix: str) -> Iterator[FieldViolation]:
    descriptor = value.DESCRIPTOR
    if not _holds_time(descriptor):
        return
    if descriptor.full_name == _TIMESTAMP:
        yield from _timestamp_violations(value, prefix)
        return
    if descriptor.full_name == _DURATION:
        yield from _duration_violations(value, prefix)
        return
    for field, content in value.ListFields():
        if field.message_type is None or not _holds_time(field.message_type):
            continue
        path = f"{prefix}.{field.name}" if prefix else field.name
        if _is_map(field):
            entry_value = field.message_type.fields_by_name["value"]
            if entry_value.message_type is not None:
                for key, item in content.items():
                    yield from _range_violations(item, f'{path}["{key}"]')
        elif field.is_repeated:
            for index, item in enumerate(content):
                yield from _range_violations(item, f"{path}[{index}]")
        else:
            yield from _range_violations(content, path)


def _is_map(field: FieldDescriptor) -> bool:
    return (
        field.is_repeated
        and field.message_type is not None
        and field.message_type.GetOptions().map_entry
    )


def _timestamp_violations(value: message.Message, path: str) -> Iterator[FieldViolation]:
    seconds: int = value.seconds  # type: ignore[attr-defined]
    nanos: int = value.nanos  # type: ignore[attr-defined]
    if not _MIN_TIMESTAMP_SECONDS <= seconds <= _MAX_TIMESTAMP_SECONDS:
        yield FieldViolation(
            path, "timestamp.range: must be between 0001-01-01T00:00:00Z and 9999-12-31T23:59:59Z"
        )
    if not 0 <= nanos <= _MAX_NANOS:
        yield FieldViolation(path, "timestamp.range: nanos must be between 0 and 999999999")


def _duration_violations(value: message.Message, path: str) -> Iterator[FieldViolation]:
    seconds: int = value.seconds  # type: ignore[attr-defined]
    nanos: int = value.nanos  # type: ignore[attr-defined]
    if abs(seconds) > _MAX_DURATION_SECONDS:
        yield FieldViolation(path, "duration.range: must be within 10,000 years either way")
    if abs(nanos) > _MAX_NANOS or (seconds > 0 > nanos) or (seconds < 0 < nanos):
        yield FieldViolation(
            path,
            "duration.range: nanos must be within a second and have the sign of seconds",
        )
