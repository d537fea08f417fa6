"""Hypothesis strategies for any protobuf request: valid-looking, extreme and odd values.

Built from the message descriptor, so every RPC of every contract is covered
without a strategy per message: extreme integers and floats (NaN, infinities),
timestamps and durations outside their range, odd strings (empty, control and
right-to-left characters, very long, resource-name-like), enum numbers the
contract does not define, nested repeats, and raw bytes that are no message.
"""

from __future__ import annotations

import functools
from typing import Any

from google.protobuf import message, message_factory
from google.protobuf.descriptor import Descriptor, FieldDescriptor
from hypothesis import strategies as st

_MAX_DEPTH = 3
#: A repeat long enough to matter, short enough that generating it stays cheap.
_LONG_REPEAT = 25

_INT32 = st.one_of(
    st.sampled_from([0, 1, -1, 2**31 - 1, -(2**31)]), st.integers(-(2**31), 2**31 - 1)
)
_INT64 = st.one_of(
    st.sampled_from([0, 1, -1, 2**63 - 1, -(2**63), 2**53 + 1]),
    st.integers(-(2**63), 2**63 - 1),
)
_UINT32 = st.one_of(st.sampled_from([0, 1, 2**32 - 1]), st.integers(0, 2**32 - 1))
_UINT64 = st.one_of(st.sampled_from([0, 1, 2**64 - 1]), st.integers(0, 2**64 - 1))
_ODD_STRINGS = st.sampled_from(
    [
        "",
        " ",
        "\x00",
        "\u202eevil",
        "💥" * 50,
        "x" * 5_000,
        "' OR 1=1 --",
        "../../etc/passwd",
        "criteria/1",
        "criteria/-",
        "traders/IMP-001",
        "assessments/" + "9" * 40,
        "2025-01",
        "EUR",
        "NaN",
    ]
)
_STRINGS = st.one_of(
    _ODD_STRINGS,
    st.text(max_size=30),
    st.from_regex(r"\A[a-z][a-z-]{0,20}/[A-Za-z0-9._-]{1,20}\Z"),
    st.uuids().map(str),
)
_SCALARS: dict[int, st.SearchStrategy[Any]] = {
    FieldDescriptor.TYPE_INT32: _INT32,
    FieldDescriptor.TYPE_SINT32: _INT32,
    FieldDescriptor.TYPE_SFIXED32: _INT32,
    FieldDescriptor.TYPE_INT64: _INT64,
    FieldDescriptor.TYPE_SINT64: _INT64,
    FieldDescriptor.TYPE_SFIXED64: _INT64,
    FieldDescriptor.TYPE_UINT32: _UINT32,
    FieldDescriptor.TYPE_FIXED32: _UINT32,
    FieldDescriptor.TYPE_UINT64: _UINT64,
    FieldDescriptor.TYPE_FIXED64: _UINT64,
    FieldDescriptor.TYPE_DOUBLE: st.floats(allow_nan=True, allow_infinity=True),
    FieldDescriptor.TYPE_FLOAT: st.floats(width=32, allow_nan=True, allow_infinity=True),
    FieldDescriptor.TYPE_BOOL: st.booleans(),
    FieldDescriptor.TYPE_STRING: _STRINGS,
    FieldDescriptor.TYPE_BYTES: st.binary(max_size=64),
}
#: Seconds of a Timestamp: in range, at its ends, just outside and far outside.
_TIMESTAMP_SECONDS = st.one_of(
    st.integers(1_500_000_000, 1_900_000_000),
    st.sampled_from([-62_135_596_800, 253_402_300_799, -62_135_596_801, 253_402_300_800]),
    _INT64,
)
_NANOS = st.one_of(st.integers(0, 999_999_999), st.sampled_from([-1, 10**9]), _INT32)


def requests(descriptor: Descriptor) -> st.SearchStrategy[message.Message | bytes]:
    """Messages of ``descriptor``'s type, and now and then bytes that are none."""
    return st.one_of(
        _message(descriptor, 0),
        _message(descriptor, 0),
        _message(descriptor, 0),
        st.binary(min_size=1, max_size=128),
    )


@functools.cache
def _message(descriptor: Descriptor, depth: int) -> st.SearchStrategy[message.Message]:
    cls = message_factory.GetMessageClass(descriptor)
    if descriptor.full_name in ("google.protobuf.Timestamp", "google.protobuf.Duration"):
        seconds = _TIMESTAMP_SECONDS if descriptor.name == "Timestamp" else _INT64
        return st.builds(lambda s, n: cls(seconds=s, nanos=n), seconds, _NANOS)
    if depth >= _MAX_DEPTH:
        return st.just(cls())
    optional = {
        field.name: _field(field, depth)
        for field in descriptor.fields
        if field.message_type is None or depth + 1 < _MAX_DEPTH or not field.is_repeated
    }
    return st.fixed_dictionaries({}, optional=optional).map(
        functools.partial(_build, cls, descriptor)
    )


def _field(field: FieldDescriptor, depth: int) -> st.SearchStrategy[Any]:
    if _is_map(field):
        key = _value(field.message_type.fields_by_name["key"], depth + 1)
        value = _value(field.message_type.fields_by_name["value"], depth + 1)
        return st.dictionaries(key, value, max_size=3)
    single = _value(field, depth)
    if not field.is_repeated:
        return single
    short = st.lists(single, max_size=3)
    if depth > 0:
        return short
    # Long repeats of the request's own fields; nested ones stay short.
    return st.one_of(short, short, st.lists(single, min_size=_LONG_REPEAT, max_size=_LONG_REPEAT))


def _value(field: FieldDescriptor, depth: int) -> st.SearchStrategy[Any]:
    if field.message_type is not None:
        return _message(field.message_type, depth + 1)
    if field.enum_type is not None:
        known = [value.number for value in field.enum_type.values]
        return st.one_of(st.sampled_from(known), st.integers(-3, 99), _INT32)
    return _SCALARS[field.type]


def _is_map(field: FieldDescriptor) -> bool:
    return bool(
        field.is_repeated
        and field.message_type is not None
        and field.message_type.GetOptions().map_entry
    )


def _build(cls: type[message.Message], descriptor: Descriptor, values: dict[str, Any]) -> Any:
    built = cls()
    for name, value in values.items():
        field = descriptor.fields_by_name[name]
        target = getattr(built, name)
        if _is_map(field):
            is_message = field.message_type.fields_by_name["value"].message_type is not None
            for key, item in value.items():
                if is_message:
                    target[key].CopyFrom(item)
                else:
                    target[key] = item
        elif field.is_repeated:
            if field.message_type is not None:
                for item in value:
                    target.add().CopyFrom(item)
            else:
                target.extend(value)
        elif field.message_type is not None:
            target.CopyFrom(value)
        else:
            setattr(built, name, value)
    return built
