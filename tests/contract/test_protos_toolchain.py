"""The proto toolchain: the vendored validate.proto and the generated Python code."""

from __future__ import annotations

import importlib
import importlib.util
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import grpc_tools
import protovalidate
import pytest
from google.protobuf import descriptor_pb2
from grpc_tools import protoc

_REPO = Path(__file__).resolve().parents[2]
_VENDORED = _REPO / "third_party" / "protovalidate"
_WELL_KNOWN = Path(grpc_tools.__file__).parent / "_proto"


def _load_tool(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"_tool_{name}", _REPO / "tools" / f"{name}.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def validate_tool() -> ModuleType:
    return _load_tool("protovalidate_proto")


@pytest.fixture(scope="module")
def gen_tool() -> ModuleType:
    return _load_tool("gen_protos")


def _compile(proto: str, out: Path, *include: Path, descriptor_set: Path | None = None) -> None:
    args = [
        "protoc",
        *(f"--proto_path={path}" for path in include),
        f"--proto_path={_VENDORED}",
        f"--proto_path={_WELL_KNOWN}",
        f"--python_out={out}",
    ]
    if descriptor_set is not None:
        args.append(f"--descriptor_set_out={descriptor_set}")
    assert protoc.main([*args, proto]) == 0, f"{proto} does not compile"


def test_vendored_validate_proto_is_the_rendering_of_the_installed_wheel(
    validate_tool: ModuleType,
) -> None:
    expected = validate_tool.render(
        validate_tool.embedded_descriptor(), validate_tool.wheel_version()
    )

    vendored = (_VENDORED / "buf" / "validate" / "validate.proto").read_text(encoding="utf-8")

    assert vendored == expected, "regenerate it: .venv/bin/python tools/protovalidate_proto.py"


def test_vendored_validate_proto_compiles_to_the_wheel_descriptor(
    validate_tool: ModuleType, tmp_path: Path
) -> None:
    descriptor_set = tmp_path / "validate.pb"
    _compile("buf/validate/validate.proto", tmp_path, descriptor_set=descriptor_set)
    compiled = descriptor_pb2.FileDescriptorSet.FromString(descriptor_set.read_bytes()).file[0]

    embedded = validate_tool.embedded_descriptor()

    assert validate_tool.canonical_text(compiled) == validate_tool.canonical_text(embedded)


def _tree(root: Path, packages: tuple[str, ...]) -> dict[str, bytes]:
    return {
        path.relative_to(root).as_posix(): path.read_bytes()
        for package in packages
        for path in sorted((root / package).rglob("*"))
        if path.is_file() and "__pycache__" not in path.parts
    }


def test_generated_code_is_current(gen_tool: ModuleType, tmp_path: Path) -> None:
    gen_tool.generate(tmp_path)
    packages = gen_tool.GENERATED_PACKAGES

    fresh = _tree(tmp_path, packages)
    committed = _tree(gen_tool.OUTPUT_ROOT, packages)

    assert fresh, "generation produced nothing"
    assert committed == fresh, "generated code is stale: run `make proto`"


_PROBE = """\
syntax = "proto3";
package toolchain_probe.v1;
import "buf/validate/validate.proto";
message RenameRequest {
  string title = 1 [(buf.validate.field).string.min_len = 3];
}
"""


@pytest.fixture
def probe_module(tmp_path: Path) -> Iterator[ModuleType]:
    """A message generated against the repository's buf.validate code, like ours are."""
    source = tmp_path / "src"
    (source / "toolchain_probe" / "v1").mkdir(parents=True)
    (source / "toolchain_probe" / "v1" / "probe.proto").write_text(_PROBE)
    out = tmp_path / "gen"
    out.mkdir()
    _compile("toolchain_probe/v1/probe.proto", out, source)
    sys.path.insert(0, str(out))
    try:
        yield importlib.import_module("toolchain_probe.v1.probe_pb2")
    finally:
        sys.path.remove(str(out))
        for name in [name for name in sys.modules if name.startswith("toolchain_probe")]:
            del sys.modules[name]


def test_protovalidate_enforces_rules_of_generated_messages(probe_module: ModuleType) -> None:
    too_short = probe_module.RenameRequest(title="ab")

    violations = protovalidate.collect_violations(too_short)

    assert len(violations) == 1
    violation = violations[0].proto
    assert violation.field is not None
    assert [element.field_name for element in violation.field.elements] == ["title"]
    assert violation.rule_id == "string.min_len"
    assert protovalidate.collect_violations(probe_module.RenameRequest(title="abc")) == []
