"""Contract conventions buf cannot check, read from the generated descriptors.

Each test lists every offending element so one run shows the whole fix.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable, Iterator
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, cast

import protovalidate
from buf.validate import validate_pb2
from google.protobuf import message_factory
from google.protobuf.descriptor import Descriptor, FieldDescriptor, MethodDescriptor

if TYPE_CHECKING:
    from google.protobuf.descriptor_pb2 import FieldOptions
    from google.protobuf.internal.extension_dict import _ExtensionFieldDescriptor

_PROTOS = Path(__file__).resolve().parents[2] / "protos"


def _modules() -> list[ModuleType]:
    """The generated ``_pb2`` module of every .proto in protos/ (stale code fails here)."""
    return [
        importlib.import_module(
            path.relative_to(_PROTOS).with_suffix("").as_posix().replace("/", ".") + "_pb2"
        )
        for path in sorted(_PROTOS.rglob("*.proto"))
    ]


def _methods() -> Iterator[MethodDescriptor]:
    for module in _modules():
        for service in module.DESCRIPTOR.services_by_name.values():
            yield from service.methods


def _messages(descriptors: Iterable[Descriptor]) -> Iterator[Descriptor]:
    for descriptor in descriptors:
        yield descriptor
        yield from _messages(descriptor.nested_types)


def _all_messages() -> Iterator[Descriptor]:
    for module in _modules():
        yield from _messages(module.DESCRIPTOR.message_types_by_name.values())


# The generated stub types extensions as plain FieldDescriptors.
_FIELD_RULES = cast(
    "_ExtensionFieldDescriptor[FieldOptions, validate_pb2.FieldRules]", validate_pb2.field
)


def _rules(field: FieldDescriptor) -> validate_pb2.FieldRules | None:
    options = field.GetOptions()
    if not options.HasExtension(_FIELD_RULES):
        return None
    return options.Extensions[_FIELD_RULES]


def test_every_request_class_is_importable_from_its_generated_module() -> None:
    missing = []
    for method in _methods():
        request = method.input_type
        module = importlib.import_module(
            request.file.name.removesuffix(".proto").replace("/", ".") + "_pb2"
        )
        if getattr(module, request.name, None) is None:
            missing.append(f"{method.full_name}: {request.full_name}")

    assert missing == []


def test_request_ids_carry_a_validation_rule() -> None:
    unvalidated = [
        f"{message.full_name}.request_id"
        for message in _all_messages()
        if message.name.endswith("Request")
        and "request_id" in message.fields_by_name
        and _rules(message.fields_by_name["request_id"]) is None
    ]

    assert unvalidated == []


def test_page_sizes_reject_negative_values() -> None:
    """A negative page_size is INVALID_ARGUMENT; 0 means the default and must pass."""
    wrong = []
    for message in _all_messages():
        field = message.fields_by_name.get("page_size")
        if field is None:
            continue
        rules = _rules(field)
        kind = rules.WhichOneof("type") if rules is not None else None
        numeric = getattr(rules, kind) if rules is not None and kind is not None else None
        if numeric is None or not numeric.HasField("gte") or numeric.gte != 0:
            wrong.append(f"{message.full_name}.page_size")

    assert wrong == []


def test_ingest_event_requests_start_with_a_uuid_event_id() -> None:
    wrong = []
    for method in _methods():
        if not (method.name.startswith("Ingest") and method.name.endswith("Event")):
            continue
        event_id = method.input_type.fields_by_number.get(1)
        rules = _rules(event_id) if event_id is not None else None
        if (
            event_id is None
            or event_id.name != "event_id"
            or event_id.type != FieldDescriptor.TYPE_STRING
            or rules is None
            or not rules.string.uuid
        ):
            wrong.append(method.full_name)

    assert wrong == []


def test_watch_streams_resume_from_a_revision() -> None:
    wrong = []
    for method in _methods():
        if not method.name.startswith("Watch"):
            continue
        since = method.input_type.fields_by_name.get("since_revision")
        revision = method.output_type.fields_by_name.get("revision")
        if (
            method.client_streaming
            or not method.server_streaming
            or since is None
            or since.type != FieldDescriptor.TYPE_INT64
            or revision is None
            or revision.type != FieldDescriptor.TYPE_INT64
        ):
            wrong.append(method.full_name)

    assert wrong == []


def test_every_validation_rule_compiles() -> None:
    """CEL rules are compiled on first use; a typo would otherwise surface in production."""
    broken = []
    for message in _all_messages():
        if message.GetOptions().map_entry:
            continue
        try:
            protovalidate.collect_violations(message_factory.GetMessageClass(message)())
        except protovalidate.CompilationError as error:
            broken.append(f"{message.full_name}: {error}")

    assert broken == []
