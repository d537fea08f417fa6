"""Write protovalidate's ``buf/validate/validate.proto`` from the protovalidate wheel.

The rules in our protos import ``buf/validate/validate.proto``. It is normally fetched
from the buf registry, which our builds cannot reach, and no package ships it as text;
the protovalidate wheel embeds its compiled ``FileDescriptorProto``. This script turns
that descriptor back into equivalent proto2 source (comments are not in the descriptor,
so they are lost), and a contract test compiles the result and compares it with the
embedded descriptor.

Usage: ``.venv/bin/python tools/protovalidate_proto.py [--output PATH]``
"""

from __future__ import annotations

import argparse
import importlib.metadata
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

import structlog
from google.protobuf import (
    descriptor_pb2,
    descriptor_pool,
    duration_pb2,
    field_mask_pb2,
    message_factory,
    text_encoding,
    text_format,
    timestamp_pb2,
)
from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import Message

REPO_ROOT = Path(__file__).resolve().parent.parent
VENDORED_PATH = REPO_ROOT / "third_party" / "protovalidate" / "buf" / "validate" / "validate.proto"

# validate.proto imports these; they are loaded into a private pool so that option
# extensions (`(buf.validate.predefined)`) can be decoded instead of staying unknown bytes.
_WELL_KNOWN_FILES = {
    module.DESCRIPTOR.name: module.DESCRIPTOR
    for module in (descriptor_pb2, duration_pb2, field_mask_pb2, timestamp_pb2)
}

_FDP = descriptor_pb2.FieldDescriptorProto
_SCALAR_TYPES = {
    _FDP.TYPE_DOUBLE: "double",
    _FDP.TYPE_FLOAT: "float",
    _FDP.TYPE_INT64: "int64",
    _FDP.TYPE_UINT64: "uint64",
    _FDP.TYPE_INT32: "int32",
    _FDP.TYPE_FIXED64: "fixed64",
    _FDP.TYPE_FIXED32: "fixed32",
    _FDP.TYPE_BOOL: "bool",
    _FDP.TYPE_STRING: "string",
    _FDP.TYPE_BYTES: "bytes",
    _FDP.TYPE_UINT32: "uint32",
    _FDP.TYPE_SFIXED32: "sfixed32",
    _FDP.TYPE_SFIXED64: "sfixed64",
    _FDP.TYPE_SINT32: "sint32",
    _FDP.TYPE_SINT64: "sint64",
}
_LABELS = {
    _FDP.LABEL_OPTIONAL: "optional",
    _FDP.LABEL_REQUIRED: "required",
    _FDP.LABEL_REPEATED: "repeated",
}
# Field numbers above this are written as `max` in extension ranges.
_MAX_FIELD_NUMBER = 536_870_911
_INDENT = "  "
_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t"}

_HEADER = """\
// Copyright 2023-2026 Buf Technologies, Inc.
//
// Licensed under the Apache License, Version 2.0 (the "License");
// you may not use this file except in compliance with the License.
// You may obtain a copy of the License at
//
//     http://www.apache.org/licenses/LICENSE-2.0
//
// Unless required by applicable law or agreed to in writing, software
// distributed under the License is distributed on an "AS IS" BASIS,
// WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
// See the License for the specific language governing permissions and
// limitations under the License.

// GENERATED - DO NOT EDIT. Reconstructed from the descriptor embedded in the
// protovalidate Python wheel version {version}
// (protovalidate._gen.buf.validate.validate_pb). Upstream comments are not part of
// that descriptor; see the bufbuild/protovalidate project for the documented source.
// Regenerate after upgrading protovalidate: .venv/bin/python tools/protovalidate_proto.py
"""


class UnsupportedDescriptorError(ValueError):
    """The descriptor uses a construct this renderer does not write.

    validate.proto needs none of them; failing beats writing a file that compiles
    to something else.
    """


def wheel_version() -> str:
    return importlib.metadata.version("protovalidate")


def embedded_descriptor() -> descriptor_pb2.FileDescriptorProto:
    """Return the FileDescriptorProto of buf/validate/validate.proto inside the wheel."""
    # The runtime package exposes the descriptor through its protobuf-py copy; the bytes
    # are the same wire format that google.protobuf reads.
    from protovalidate._gen.buf.validate import validate_pb

    return descriptor_pb2.FileDescriptorProto.FromString(validate_pb.desc().proto.to_binary())


def option_pool(file: descriptor_pb2.FileDescriptorProto) -> descriptor_pool.DescriptorPool:
    """Return a private pool holding ``file`` and its imports, to decode custom options."""
    pool = descriptor_pool.DescriptorPool()
    for dependency in file.dependency:
        if dependency not in _WELL_KNOWN_FILES:
            raise UnsupportedDescriptorError(f"import {dependency!r} is not a known file")
        proto = descriptor_pb2.FileDescriptorProto()
        _WELL_KNOWN_FILES[dependency].CopyToProto(proto)
        pool.Add(proto)
    pool.Add(file)
    return pool


def canonical_text(file: descriptor_pb2.FileDescriptorProto) -> str:
    """Text of ``file`` with custom options decoded, for comparing two compilations.

    ``json_name`` and source info depend on how the compiler was invoked, not on the
    schema, so they are cleared.
    """
    stripped = descriptor_pb2.FileDescriptorProto()
    stripped.CopyFrom(file)
    stripped.ClearField("source_code_info")
    for field in _all_fields(stripped):
        field.ClearField("json_name")
    pool = option_pool(file)
    decoded_class = message_factory.GetMessageClass(
        pool.FindMessageTypeByName("google.protobuf.FileDescriptorProto")
    )
    decoded = decoded_class.FromString(stripped.SerializeToString())
    return text_format.MessageToString(decoded, as_utf8=True)


def _all_fields(
    file: descriptor_pb2.FileDescriptorProto,
) -> Iterator[descriptor_pb2.FieldDescriptorProto]:
    yield from file.extension
    stack = list(file.message_type)
    while stack:
        message = stack.pop()
        yield from message.field
        yield from message.extension
        stack.extend(message.nested_type)


class _Renderer:
    def __init__(self, file: descriptor_pb2.FileDescriptorProto) -> None:
        if file.syntax not in ("", "proto2"):
            raise UnsupportedDescriptorError(f"syntax {file.syntax!r}")
        if file.service:
            raise UnsupportedDescriptorError("services")
        self._file = file
        self._pool = option_pool(file)
        self._symbols = self._collect_symbols()
        self._lines: list[str] = []

    def _collect_symbols(self) -> set[str]:
        """Every name a relative reference inside the file could resolve to."""
        symbols: set[str] = set()
        parts = self._file.package.split(".") if self._file.package else []
        symbols.update(".".join(parts[: i + 1]) for i in range(len(parts)))

        def add_enum(scope: str, enum: descriptor_pb2.EnumDescriptorProto) -> None:
            symbols.add(f"{scope}.{enum.name}")
            # Enum values are siblings of their enum, as in C++.
            symbols.update(f"{scope}.{value.name}" for value in enum.value)

        def add_message(scope: str, message: descriptor_pb2.DescriptorProto) -> None:
            name = f"{scope}.{message.name}"
            symbols.add(name)
            symbols.update(f"{name}.{field.name}" for field in message.field)
            symbols.update(f"{name}.{field.name}" for field in message.extension)
            symbols.update(f"{name}.{oneof.name}" for oneof in message.oneof_decl)
            for enum in message.enum_type:
                add_enum(name, enum)
            for nested in message.nested_type:
                add_message(name, nested)

        package = self._file.package
        symbols.update(f"{package}.{extension.name}" for extension in self._file.extension)
        for enum in self._file.enum_type:
            add_enum(package, enum)
        for message in self._file.message_type:
            add_message(package, message)
        return {symbol.lstrip(".") for symbol in symbols}

    def _resolve(self, name: str, scope: str) -> str | None:
        """Mimic protoc: the first component binds to the innermost scope defining it."""
        first, _, rest = name.partition(".")
        scopes = scope.split(".") if scope else []
        for depth in range(len(scopes), -1, -1):
            candidate = ".".join([*scopes[:depth], first])
            if candidate in self._symbols or depth == 0:
                return f"{candidate}.{rest}" if rest else candidate
        return None

    def _reference(self, full_name: str, scope: str) -> str:
        """Shortest spelling of ``full_name`` (leading dot) that resolves to it from ``scope``."""
        target = full_name.lstrip(".")
        parts = target.split(".")
        for start in range(len(parts) - 1, -1, -1):
            candidate = ".".join(parts[start:])
            if self._resolve(candidate, scope) == target:
                return candidate
        return full_name

    def render(self, version: str) -> str:
        file = self._file
        self._lines = [_HEADER.format(version=version), 'syntax = "proto2";', ""]
        if file.package:
            self._emit(0, f"package {file.package};")
            self._emit(0, "")
        public = set(file.public_dependency)
        weak = set(file.weak_dependency)
        for index, dependency in enumerate(file.dependency):
            modifier = "public " if index in public else "weak " if index in weak else ""
            self._emit(0, f'import {modifier}"{dependency}";')
        self._emit(0, "")
        self._statement_options(0, file.options, "google.protobuf.FileOptions", file.package)
        self._emit(0, "")
        for message in file.message_type:
            self._message(0, message, file.package)
        for enum in file.enum_type:
            self._enum(0, enum, file.package)
        self._extensions(0, file.extension, file.package)
        while self._lines[-1] == "":
            self._lines.pop()
        return "\n".join(self._lines) + "\n"

    def _emit(self, depth: int, line: str) -> None:
        if line == "" and self._lines and self._lines[-1] == "":
            return
        self._lines.append(_INDENT * depth + line if line else "")

    def _decode(self, options: Message, type_name: str) -> Message:
        decoded_class = message_factory.GetMessageClass(self._pool.FindMessageTypeByName(type_name))
        return decoded_class.FromString(options.SerializeToString())

    def _option_assignments(self, options: Message, type_name: str, scope: str) -> list[str]:
        """``name = value`` for each option; custom options use protoc's `(ext).field` paths."""
        assignments: list[str] = []
        for field, value in self._decode(options, type_name).ListFields():
            name = field.name
            if field.is_extension:
                name = f"({self._reference('.' + field.full_name, scope)})"
            values = value if field.is_repeated else [value]
            for item in values:
                if field.message_type is None or not field.is_extension:
                    assignments.append(f"{name} = {_value_literal(field, item)}")
                    continue
                # `(ext).sub = x` per sub-field, repeated sub-fields once per element,
                # the way validate.proto upstream spells its rules.
                sub_fields = item.ListFields()
                if not sub_fields:
                    assignments.append(f"{name} = {{}}")
                for sub_field, sub_value in sub_fields:
                    sub_items = sub_value if sub_field.is_repeated else [sub_value]
                    assignments.extend(
                        f"{name}.{sub_field.name} = {_value_literal(sub_field, sub_item)}"
                        for sub_item in sub_items
                    )
        return assignments

    def _statement_options(self, depth: int, options: Message, type_name: str, scope: str) -> None:
        for assignment in self._option_assignments(options, type_name, scope):
            self._emit_block(depth, f"option {assignment};")

    def _emit_block(self, depth: int, text: str) -> None:
        for line in text.split("\n"):
            self._emit(depth, line)

    def _bracketed(
        self,
        depth: int,
        head: str,
        pseudo: Sequence[str],
        options: Message,
        type_name: str,
        scope: str,
    ) -> None:
        """Write ``head [opt, ...];`` with one option per line once there are several."""
        assignments = [*pseudo, *self._option_assignments(options, type_name, scope)]
        if not assignments:
            self._emit(depth, f"{head};")
        elif len(assignments) == 1:
            self._emit_block(depth, f"{head} [{assignments[0]}];")
        else:
            self._emit(depth, f"{head} [")
            for index, assignment in enumerate(assignments):
                separator = "," if index < len(assignments) - 1 else ""
                self._emit_block(depth + 1, assignment + separator)
            self._emit(depth, "];")

    def _message(self, depth: int, message: descriptor_pb2.DescriptorProto, scope: str) -> None:
        name = f"{scope}.{message.name}" if scope else message.name
        self._emit(depth, f"message {message.name} {{")
        inner = depth + 1
        self._statement_options(inner, message.options, "google.protobuf.MessageOptions", name)
        rendered_oneofs: set[int] = set()
        fields = list(message.field)
        for position, field in enumerate(fields):
            if not field.HasField("oneof_index"):
                self._field(inner, field, name, with_label=True)
                continue
            index = field.oneof_index
            if index in rendered_oneofs:
                continue
            members = [f for f in fields if f.HasField("oneof_index") and f.oneof_index == index]
            if fields[position : position + len(members)] != members:
                raise UnsupportedDescriptorError(f"oneof fields of {name} are not contiguous")
            rendered_oneofs.add(index)
            oneof = message.oneof_decl[index]
            self._emit(inner, f"oneof {oneof.name} {{")
            self._statement_options(inner + 1, oneof.options, "google.protobuf.OneofOptions", name)
            for member in members:
                self._field(inner + 1, member, name, with_label=False)
            self._emit(inner, "}")
        if len(rendered_oneofs) != len(message.oneof_decl):
            raise UnsupportedDescriptorError(f"empty oneof in {name}")
        for enum in message.enum_type:
            self._enum(inner, enum, name)
        for nested in message.nested_type:
            if nested.options.map_entry:
                raise UnsupportedDescriptorError(f"map field in {name}")
            self._message(inner, nested, name)
        self._extensions(inner, message.extension, name)
        for extension_range in message.extension_range:
            numbers = _range_text(extension_range.start, extension_range.end - 1)
            self._bracketed(
                inner,
                f"extensions {numbers}",
                [],
                extension_range.options,
                "google.protobuf.ExtensionRangeOptions",
                name,
            )
        self._reserved(
            inner, ((r.start, r.end - 1) for r in message.reserved_range), message.reserved_name
        )
        self._emit(depth, "}")
        self._emit(depth, "")

    def _reserved(
        self, depth: int, ranges: Iterable[tuple[int, int]], names: Sequence[str]
    ) -> None:
        numbers = [_range_text(start, end) for start, end in ranges]
        if numbers:
            self._emit(depth, f"reserved {', '.join(numbers)};")
        if names:
            self._emit(depth, f"reserved {', '.join(_quote(name) for name in names)};")

    def _field(
        self,
        depth: int,
        field: descriptor_pb2.FieldDescriptorProto,
        scope: str,
        *,
        with_label: bool,
    ) -> None:
        if field.type == _FDP.TYPE_GROUP:
            raise UnsupportedDescriptorError(f"group {scope}.{field.name}")
        if field.HasField("default_value"):
            raise UnsupportedDescriptorError(f"default value on {scope}.{field.name}")
        if field.type in (_FDP.TYPE_MESSAGE, _FDP.TYPE_ENUM):
            type_text = self._reference(field.type_name, scope)
        else:
            type_text = _SCALAR_TYPES[field.type]
        label = f"{_LABELS[field.label]} " if with_label else ""
        pseudo = []
        if field.HasField("json_name") and field.json_name != _default_json_name(field.name):
            pseudo.append(f"json_name = {_quote(field.json_name)}")
        self._bracketed(
            depth,
            f"{label}{type_text} {field.name} = {field.number}",
            pseudo,
            field.options,
            "google.protobuf.FieldOptions",
            scope,
        )

    def _extensions(
        self, depth: int, extensions: Sequence[descriptor_pb2.FieldDescriptorProto], scope: str
    ) -> None:
        by_extendee: dict[str, list[descriptor_pb2.FieldDescriptorProto]] = {}
        for extension in extensions:
            by_extendee.setdefault(extension.extendee, []).append(extension)
        for extendee, members in by_extendee.items():
            self._emit(depth, f"extend {self._reference(extendee, scope)} {{")
            for member in members:
                self._field(depth + 1, member, scope, with_label=True)
            self._emit(depth, "}")
            self._emit(depth, "")

    def _enum(self, depth: int, enum: descriptor_pb2.EnumDescriptorProto, scope: str) -> None:
        name = f"{scope}.{enum.name}" if scope else enum.name
        self._emit(depth, f"enum {enum.name} {{")
        self._statement_options(depth + 1, enum.options, "google.protobuf.EnumOptions", name)
        for value in enum.value:
            self._bracketed(
                depth + 1,
                f"{value.name} = {value.number}",
                [],
                value.options,
                "google.protobuf.EnumValueOptions",
                scope,
            )
        # Enum reserved ranges are inclusive, unlike message ones.
        self._reserved(
            depth + 1, ((r.start, r.end) for r in enum.reserved_range), enum.reserved_name
        )
        self._emit(depth, "}")
        self._emit(depth, "")


def _range_text(start: int, end: int) -> str:
    if end >= _MAX_FIELD_NUMBER:
        return f"{start} to max"
    return str(start) if start == end else f"{start} to {end}"


def _quote(text: str) -> str:
    return '"' + "".join(_escape_char(char) for char in text) + '"'


def _escape_char(char: str) -> str:
    if char in _ESCAPES:
        return _ESCAPES[char]
    if ord(char) < 0x20 or ord(char) == 0x7F:
        return f"\\{ord(char):03o}"
    return char


def _readable(escaped: str) -> str:
    # CEL expressions are full of single quotes; inside double-quoted literals they
    # need no escape, and leaving them bare keeps the rules legible.
    return escaped.replace("\\'", "'")


def _value_literal(field: FieldDescriptor, value: object) -> str:
    if isinstance(value, Message):
        body = _readable(text_format.MessageToString(value, as_utf8=True, indent=len(_INDENT)))
        if not body:
            return "{}"
        return "{\n" + body.rstrip("\n") + "\n}"
    if field.enum_type is not None:
        assert isinstance(value, int)
        return field.enum_type.values_by_number[value].name
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return _quote(value)
    if isinstance(value, bytes):
        return '"' + text_encoding.CEscape(value, as_utf8=False) + '"'
    if isinstance(value, float):
        return _float_literal(value)
    return str(value)


def _float_literal(value: float) -> str:
    if value != value:
        return "nan"
    if value in (float("inf"), float("-inf")):
        return "inf" if value > 0 else "-inf"
    return repr(value)


def _default_json_name(name: str) -> str:
    parts = name.split("_")
    return parts[0] + "".join(part[:1].upper() + part[1:] for part in parts[1:])


def render(file: descriptor_pb2.FileDescriptorProto, version: str) -> str:
    """Return proto2 source that compiles to ``file`` (modulo json_name and source info)."""
    return _Renderer(file).render(version)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--output", type=Path, default=VENDORED_PATH)
    args = parser.parse_args(argv)
    output: Path = args.output
    output.parent.mkdir(parents=True, exist_ok=True)
    version = wheel_version()
    output.write_text(render(embedded_descriptor(), version), encoding="utf-8")
    structlog.get_logger().info("validate_proto_written", path=str(output), protovalidate=version)


if __name__ == "__main__":
    main()
