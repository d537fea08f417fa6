"""Generate the Python code of protos/ into libs/customs_protos/src (``make proto``).

Every ``.proto`` under protos/ and the vendored ``buf/validate/validate.proto`` get
``*_pb2.py``, ``*_pb2.pyi`` and ``*_pb2_grpc.py``. The packages are implicit namespace
packages (no ``__init__.py``), so ``customs`` can never shadow or be shadowed by another
distribution's ``__init__``. Code is generated into a staging directory first: a protoc
error leaves the previous output untouched and exits non-zero with protoc's message.

Usage: ``.venv/bin/python tools/gen_protos.py``
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

import grpc_tools
import structlog
from google.rpc import status_pb2
from grpc_tools import protoc

REPO_ROOT = Path(__file__).resolve().parent.parent
PROTO_ROOT = REPO_ROOT / "protos"
VENDORED_ROOT = REPO_ROOT / "third_party" / "protovalidate"
OUTPUT_ROOT = REPO_ROOT / "libs" / "customs_protos" / "src"
VENDORED_FILES = ("buf/validate/validate.proto",)
# Top-level packages written into OUTPUT_ROOT; everything else there (pyproject
# metadata, egg-info) belongs to the packaging and is left alone.
GENERATED_PACKAGES = ("customs", "buf")

_WELL_KNOWN_ROOT = Path(grpc_tools.__file__).resolve().parent / "_proto"
# googleapis-common-protos ships google/rpc/*.proto beside the generated modules.
_GOOGLEAPIS_ROOT = Path(status_pb2.__file__).resolve().parents[2]


class GenerationError(RuntimeError):
    """The protos could not be turned into the expected packages."""


def proto_files() -> list[str]:
    """Every .proto of protos/, relative to it, in a stable order."""
    return sorted(path.relative_to(PROTO_ROOT).as_posix() for path in PROTO_ROOT.rglob("*.proto"))


def generate(output: Path) -> None:
    """Run protoc once over all files, writing into the existing directory ``output``."""
    args = [
        "grpc_tools.protoc",
        f"--proto_path={PROTO_ROOT}",
        f"--proto_path={VENDORED_ROOT}",
        f"--proto_path={_WELL_KNOWN_ROOT}",
        f"--proto_path={_GOOGLEAPIS_ROOT}",
        f"--python_out={output}",
        f"--pyi_out={output}",
        f"--grpc_python_out={output}",
        "--fatal_warnings",
        *VENDORED_FILES,
        *proto_files(),
    ]
    if protoc.main(args) != 0:
        raise GenerationError("protoc failed; see the messages above")


def regenerate(output_root: Path) -> list[Path]:
    """Replace the generated packages in ``output_root``; return the files written."""
    output_root.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".gen-", dir=output_root) as staging_name:
        staging = Path(staging_name)
        generate(staging)
        unexpected = sorted({path.name for path in staging.iterdir()} - set(GENERATED_PACKAGES))
        if unexpected:
            # `make clean` and .gitignore only know these packages.
            raise GenerationError(f"protos outside {GENERATED_PACKAGES}: {unexpected}")
        for package in GENERATED_PACKAGES:
            target = output_root / package
            if target.exists():
                shutil.rmtree(target)
            if (staging / package).exists():
                (staging / package).rename(target)
    return sorted(
        path
        for package in GENERATED_PACKAGES
        for path in (output_root / package).rglob("*")
        if path.is_file()
    )


def main(argv: Sequence[str] | None = None) -> int:
    if argv:
        raise SystemExit(f"usage: {Path(__file__).name} (no arguments)")
    log = structlog.get_logger()
    try:
        written = regenerate(OUTPUT_ROOT)
    except GenerationError as error:
        log.error("proto_generation_failed", reason=str(error))
        return 1
    log.info("protos_generated", files=len(written), output=str(OUTPUT_ROOT))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
