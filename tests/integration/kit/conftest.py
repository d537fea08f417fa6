"""Compiles the probe service used to test the chassis through a real server."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import grpc_tools
import pytest
from grpc_tools import protoc

_HERE = Path(__file__).parent
_REPO = _HERE.parents[2]


@pytest.fixture(scope="session")
def probe_modules(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[ModuleType, ModuleType]]:
    """The generated ``probe_pb2`` and ``probe_pb2_grpc`` modules."""
    out = tmp_path_factory.mktemp("probe")
    arguments = [
        "protoc",
        f"-I{_HERE / 'probe'}",
        f"-I{_REPO / 'third_party' / 'protovalidate'}",
        f"-I{Path(grpc_tools.__file__).parent / '_proto'}",
        f"--python_out={out}",
        f"--grpc_python_out={out}",
        str(_HERE / "probe" / "probe.proto"),
    ]
    if protoc.main(arguments) != 0:
        raise RuntimeError("probe.proto does not compile")
    sys.path.insert(0, str(out))
    try:
        yield importlib.import_module("probe_pb2"), importlib.import_module("probe_pb2_grpc")
    finally:
        sys.path.remove(str(out))
