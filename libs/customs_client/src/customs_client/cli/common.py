"""What every command shares: the client, output formats, files, errors, request ids."""

from __future__ import annotations

import csv
import datetime as dt
import enum
import json
import re
import sys
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import typer
import yaml
from google.protobuf import json_format
from google.protobuf.message import Message
from rich.console import Console
from rich.table import Table

from customs_client.channels import CustomsClient
from customs_client.pagination import paginate

_M = TypeVar("_M", bound=Message)

#: Where tables and results go; errors and progress go to stderr.
console = Console(soft_wrap=True)
error_console = Console(stderr=True, soft_wrap=True)
# Content-derived request ids: re-running an import sends the same id for the
# same record, so the server answers the first result instead of a conflict.
_REQUEST_NAMESPACE = uuid.UUID("5b0c7b4e-4a57-4c43-9d0e-8f0f1c1d2c3a")


class Output(enum.StrEnum):
    """How a listing is printed."""

    table = "table"
    json = "json"
    csv = "csv"


OUTPUT_OPTION = typer.Option(Output.table, "--output", "-o", help="table, json or csv.")


class InputError(Exception):
    """A file or an argument the command cannot use; nothing was sent."""


def client(ctx: typer.Context) -> CustomsClient:
    """The client of this invocation, opened on first use and closed when the command ends."""
    root = ctx.find_root()
    if not isinstance(root.obj, CustomsClient):
        root.obj = CustomsClient()
        root.call_on_close(root.obj.close)
    return root.obj


@dataclass(frozen=True)
class Column:
    """One column of a listing: its header and how to read it from an item."""

    header: str
    value: Callable[[Any], object]


def field(path: str, header: str | None = None) -> Column:
    """A column showing the (dotted) field ``path`` of each item."""

    *parents, last = path.split(".")

    def read(item: Any) -> object:
        parent: Any = item
        for part in parents:
            parent = getattr(parent, part)
        return display(getattr(parent, last), parent, last)

    return Column(header or path, read)


def display(value: Any, item: Any = None, path: str = "") -> object:
    """A field value as a person reads it: enum names without their prefix, lists joined."""
    if item is not None and path:
        descriptor = item.DESCRIPTOR.fields_by_name.get(path)
        if descriptor is not None and descriptor.enum_type is not None:
            if descriptor.is_repeated:
                return ", ".join(enum_label(descriptor.enum_type, v) for v in value)
            return enum_label(descriptor.enum_type, value)
    if isinstance(value, Message):
        if value.DESCRIPTOR.full_name == "google.protobuf.Timestamp":
            return value.ToJsonString() if value.seconds or value.nanos else ""  # type: ignore[attr-defined]
        return json_format.MessageToJson(value, indent=None)
    if isinstance(value, (list, tuple)) or hasattr(value, "extend"):
        return ", ".join(str(display(v)) for v in value)
    return value


def enum_of(message_type: Any, field_name: str) -> Any:
    """The enum type of ``message_type``'s field ``field_name``."""
    return message_type.DESCRIPTOR.fields_by_name[field_name].enum_type


def enum_number(enum_type: Any, label: str, option: str) -> int:
    """The number of the value ``label`` (``RED`` or ``CHANNEL_RED``); InputError if none."""
    for value in enum_type.values:
        if label.upper() in (value.name, enum_label(enum_type, value.number)):
            return int(value.number)
    choices = ", ".join(enum_label(enum_type, v.number) for v in enum_type.values if v.number)
    raise InputError(f"{option} {label}: not one of {choices}")


def enum_label(enum_type: Any, number: int) -> str:
    """The value's name without its type's prefix (``CHANNEL_RED`` → ``RED``); "" if unset."""
    value = enum_type.values_by_number.get(number)
    if value is None:
        return str(number)
    prefix = re.sub(r"(?<!^)(?=[A-Z])", "_", enum_type.name).upper() + "_"
    label = value.name.removeprefix(prefix)
    return "" if label == "UNSPECIFIED" else label


def print_listing(items: Iterable[Message], columns: Sequence[Column], output: Output) -> None:
    """Prints ``items`` as a table, a JSON array (whole messages) or CSV (the columns)."""
    if output is Output.json:
        console.print_json(
            json.dumps([json_format.MessageToDict(item) for item in items], ensure_ascii=False)
        )
        return
    if output is Output.csv:
        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow([column.header for column in columns])
        for item in items:
            writer.writerow([_text(column.value(item), csv_file=True) for column in columns])
        sys.stdout.flush()
        return
    table = Table()
    for column in columns:
        # Resource names are what a person copies into the next command: never cut them.
        table.add_column(column.header, overflow="fold")
    for item in items:
        table.add_row(*(_text(column.value(item)) for column in columns))
    console.print(table)


def _text(value: object, *, csv_file: bool = False) -> str:
    if isinstance(value, bool):
        if csv_file:
            return "true" if value else "false"
        return "yes" if value else "no"
    return "" if value is None else str(value)


def print_message(message: Message) -> None:
    """Prints one resource in full, as the JSON of its proto mapping."""
    console.print_json(json_format.MessageToJson(message, ensure_ascii=False))


def resource(collection: str, value: str) -> str:
    """``value`` as a resource name of ``collection`` (``criteria/x`` from ``x`` or itself)."""
    return value if value.startswith(f"{collection}/") else f"{collection}/{value}"


def read_document(path: Path) -> Any:
    """The content of a YAML or JSON file (JSON is YAML), dates as ISO 8601 strings."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise InputError(f"{path}: {error.strerror}") from None
    try:
        return _plain(yaml.safe_load(text))
    except yaml.YAMLError as error:
        raise InputError(f"{path}: not YAML or JSON: {error}") from None


def read_records(path: Path, key: str) -> list[dict[str, Any]]:
    """The records of a CSV file (one per row) or a YAML/JSON list (or ``{key: [...]}``)."""
    if path.suffix.lower() == ".csv":
        try:
            with path.open(newline="", encoding="utf-8") as handle:
                return [
                    {k: v for k, v in row.items() if v not in ("", None)}
                    for row in csv.DictReader(handle)
                ]
        except OSError as error:
            raise InputError(f"{path}: {error.strerror}") from None
    document = read_document(path)
    if isinstance(document, Mapping) and key in document:
        document = document[key]
    if not isinstance(document, list) or not all(isinstance(r, Mapping) for r in document):
        raise InputError(f"{path}: expected a list of {key} (or a mapping with {key}: [...])")
    return [dict(record) for record in document]


def _plain(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        moment = value if value.tzinfo else value.replace(tzinfo=dt.UTC)
        return moment.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def parse_message(data: Any, message_type: type[_M], where: str) -> _M:
    """``data`` (the proto JSON mapping: camelCase or field names) as a ``message_type``."""
    if not isinstance(data, Mapping):
        raise InputError(f"{where}: expected a mapping of {message_type.DESCRIPTOR.name} fields")
    try:
        return json_format.ParseDict(
            with_full_enum_names(data, message_type.DESCRIPTOR), message_type()
        )
    except json_format.ParseError as error:
        raise InputError(f"{where}: {error}") from None


def with_full_enum_names(data: Any, descriptor: Any) -> Any:
    """``data`` with enum values written short (``RED``) given in full (``CHANNEL_RED``)."""
    if not isinstance(data, Mapping):
        return data
    result = dict(data)
    for key, value in data.items():
        field_descriptor = descriptor.fields_by_name.get(key) or next(
            (f for f in descriptor.fields if f.json_name == key), None
        )
        if field_descriptor is None:
            continue
        values = value if isinstance(value, list) else [value]
        if field_descriptor.enum_type is not None:
            values = [_full_enum_name(field_descriptor.enum_type, v) for v in values]
        elif field_descriptor.message_type is not None:
            values = [with_full_enum_names(v, field_descriptor.message_type) for v in values]
        result[key] = values if isinstance(value, list) else values[0]
    return result


def _full_enum_name(enum_type: Any, value: Any) -> Any:
    if not isinstance(value, str) or value in enum_type.values_by_name:
        return value
    for candidate in enum_type.values:
        if enum_label(enum_type, candidate.number) == value.upper():
            return candidate.name
    return value


def load_message(path: Path, message_type: type[_M]) -> _M:
    """The ``message_type`` written as YAML or JSON in ``path``."""
    return parse_message(read_document(path), message_type, str(path))


def request_id_for(*parts: object) -> str:
    """A request id fixed by ``parts``: the same record sent twice is one request."""
    text = json.dumps([_key(part) for part in parts], sort_keys=True, default=str)
    return str(uuid.uuid5(_REQUEST_NAMESPACE, text))


def _key(part: object) -> object:
    if isinstance(part, Message):
        return json_format.MessageToDict(part)
    return part


def new_request_id() -> str:
    """A fresh request id: each run of a verb is a new intent."""
    return str(uuid.uuid4())


def done(message: str) -> None:
    """Prints what a command did."""
    console.print(message, highlight=False)


def _method(ctx: typer.Context, rpc: str) -> Callable[[Any], Any]:
    service, method = rpc.split(".")
    return getattr(getattr(client(ctx), service), method)  # type: ignore[no-any-return]


def resource_of(response: Message) -> Any:
    """The one resource a Get, Create or state-changing response carries."""
    fields = [
        f for f in response.DESCRIPTOR.fields if f.message_type is not None and not f.is_repeated
    ]
    if len(fields) != 1:
        raise TypeError(f"{response.DESCRIPTOR.full_name} carries {len(fields)} resources")
    return getattr(response, fields[0].name)


def call(ctx: typer.Context, rpc: str, request: Message) -> Any:
    """The resource ``rpc`` (``service.Method``, e.g. ``compliance.GetTrader``) answers with.

    Every command goes through here or :func:`listing`: the invocation's client,
    one place where a response becomes what the command prints; a refusal
    propagates to the root group, which prints its reason and fields.
    """
    return resource_of(_method(ctx, rpc)(request))


def listing(
    ctx: typer.Context, rpc: str, request: Message, columns: Sequence[Column], output: Output
) -> None:
    """Prints every item of the paginated listing ``rpc(request)`` as ``output``."""
    print_listing(paginate(_method(ctx, rpc), request), columns, output)


def show(ctx: typer.Context, rpc: str, request: Message) -> None:
    """Prints the resource ``rpc(request)`` answers with, in full."""
    print_message(call(ctx, rpc, request))


def act(ctx: typer.Context, rpc: str, request: Message, what: str) -> Any:
    """Calls ``rpc``, prints ``<name> <what>`` of the resource it answers with, returns it."""
    changed = call(ctx, rpc, request)
    done(f"{changed.name} {what}")
    return changed
