"""Reads the public customs-declarations data set as scoring Declaration messages.

The data set (one CSV row per goods item) stays outside the repository, at
``../shared/data/customs-declarations/`` beside the repository root unless
``CUSTOMS_DECLARATIONS_DIR`` names another directory. How its columns become a
``Declaration`` lives in ``customs_client.declarations``, which the ``customs``
command line shares; this module only finds the files.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator, Sequence
from pathlib import Path

from customs.scoring.v1 import declaration_pb2

from customs_client.declarations import declaration_message, declarations_of, read_rows

# declaration_message is the one mapping of rows to a Declaration; the risk model's
# labelled reader (labelled_declarations.py) takes it from here.
__all__ = ["FILES", "dataset_directory", "declaration_message", "read_declarations"]

#: The data set's files, in date order (2020, then the first quarter of 2021).
FILES = ("train.csv", "valid.csv")


def dataset_directory() -> Path:
    """``CUSTOMS_DECLARATIONS_DIR``, else ``../shared/data/customs-declarations`` of the repo."""
    configured = os.environ.get("CUSTOMS_DECLARATIONS_DIR", "")
    if configured:
        return Path(configured)
    repository = Path(__file__).resolve().parents[1]
    return repository.parent / "shared" / "data" / "customs-declarations"


def read_declarations(
    directory: Path | None = None, files: Sequence[str] = FILES
) -> Iterator[declaration_pb2.Declaration]:
    """Every declaration of ``files``, in order of first appearance.

    Raises ``FileNotFoundError`` naming the directory when a file is missing.
    """
    root = directory or dataset_directory()
    paths = [root / name for name in files]
    for path in paths:
        if not path.is_file():
            raise FileNotFoundError(
                f"customs-declarations data set file {path} not found "
                "(set CUSTOMS_DECLARATIONS_DIR to its directory)"
            )
    yield from declarations_of(itertools.chain.from_iterable(read_rows(path) for path in paths))
