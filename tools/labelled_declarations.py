"""Reads the public customs-declarations data set as labelled declarations for the risk model.

Every row of the data set was examined: ``Fraud`` is the infringement found,
``Critical Fraud`` its severity. The data set has no revenue column, so the
duty at stake is taken as ``Item Price * Tax Rate / 100`` (issue 11). Used by
the risk-model tests, ``make bench`` and anyone who trains on the data set.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path

from declarations_dataset import dataset_directory, declaration_message

from scoring.adapters.codec import declaration_from_proto
from scoring.domain.risk_model import LabelledDeclaration


def read_labelled_declarations(
    directory: Path | None = None, files: Sequence[str] = ("train.csv",)
) -> list[LabelledDeclaration]:
    """Every row of ``files`` (one declaration each), in file order, with its outcome.

    Raises ``FileNotFoundError`` naming the directory when a file is missing.
    """
    root = directory or dataset_directory()
    rows: list[LabelledDeclaration] = []
    for name in files:
        path = root / name
        if not path.is_file():
            raise FileNotFoundError(
                f"customs-declarations data set file {path} not found "
                "(set CUSTOMS_DECLARATIONS_DIR to its directory)"
            )
        with path.open(newline="", encoding="utf-8") as handle:
            for row in csv.DictReader(handle):
                rows.append(labelled_row(row))
    return rows


def labelled_row(row: dict[str, str]) -> LabelledDeclaration:
    """One data set row as a labelled declaration."""
    declaration = declaration_from_proto(declaration_message(row["Declaration ID"], [row]))
    return LabelledDeclaration(
        declaration=declaration,
        examined=True,
        infringement=row["Fraud"] == "1",
        severity=int(row["Critical Fraud"]),
        revenue=Decimal(row["Item Price"]) * Decimal(row["Tax Rate"]) / 100,
    )
