"""A CSV in the public data set's columns becomes Declaration messages, or is refused whole."""

from __future__ import annotations

from pathlib import Path

import pytest

from customs_client.declarations import (
    DECLARATION_COLUMNS,
    DatasetError,
    read_declarations_csv,
    read_history_csv,
)

_ROW = {
    "Declaration ID": "97061800",
    "Date": "2020-01-01",
    "Office ID": "30",
    "Process Type": "B",
    "Import Type": "11",
    "Import Use": "21",
    "Payment Type": "11",
    "Mode of Transport": "10",
    "Declarant ID": "ZZR1LT6",
    "Importer ID": "QLRUBN9",
    "Seller ID": "0VKY2BR",
    "Courier ID": "",
    "HS6 Code": "440890",
    "Country of Departure": "BE",
    "Country of Origin": "BE",
    "Tax Rate": "0.0",
    "Tax Type": "FEU1",
    "Country of Origin Indicator": "G",
    "Net Mass": "108.0",
    "Item Price": "372254.4",
}


def write_csv(path: Path, rows: list[dict[str, str]], columns: list[str] | None = None) -> Path:
    header = columns or list(rows[0])
    lines = [",".join(header)] + [",".join(row.get(c, "") for c in header) for row in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_rows_of_one_declaration_become_its_items_and_outcome_columns_are_ignored(
    tmp_path: Path,
) -> None:
    second_item = {**_ROW, "HS6 Code": "240220", "Item Price": "1000.5", "Fraud": "1"}
    other = {**_ROW, "Declaration ID": "85945189", "Courier ID": "C1"}
    columns = [*DECLARATION_COLUMNS, "Fraud", "Critical Fraud"]
    path = write_csv(tmp_path / "d.csv", [_ROW, other, second_item], columns)

    declarations = read_declarations_csv(path)

    assert [d.declaration_number for d in declarations] == ["97061800", "85945189"]
    first = declarations[0]
    assert [item.hs_code for item in first.items] == ["440890", "240220"]
    assert [item.item_number for item in first.items] == [1, 2]
    assert (first.items[1].customs_value.units, first.items[1].customs_value.nanos) == (
        1000,
        500_000_000,
    )
    assert first.office_code == "30"
    assert not first.HasField("courier")
    assert declarations[1].courier.id == "C1"


def test_a_missing_column_is_refused_naming_it(tmp_path: Path) -> None:
    columns = [c for c in DECLARATION_COLUMNS if c != "Item Price"]
    path = write_csv(tmp_path / "d.csv", [_ROW], columns)

    with pytest.raises(DatasetError, match="missing column 'Item Price'"):
        read_declarations_csv(path)


@pytest.mark.parametrize("column", ["Item Price", "Net Mass", "Tax Rate"])
def test_a_non_numeric_value_is_refused_naming_its_line_and_column(
    tmp_path: Path, column: str
) -> None:
    path = write_csv(tmp_path / "d.csv", [_ROW, {**_ROW, column: "n/a"}])

    with pytest.raises(DatasetError, match=f"line 3: column '{column}' is not a number: 'n/a'"):
        read_declarations_csv(path)


def test_a_date_that_is_not_a_date_is_refused(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "d.csv", [{**_ROW, "Date": "01/02/2021"}])

    with pytest.raises(DatasetError, match="line 2: column 'Date' is not a date"):
        read_declarations_csv(path)


def test_history_takes_each_declarations_worst_item_as_its_outcome(tmp_path: Path) -> None:
    columns = [*DECLARATION_COLUMNS, "Fraud", "Critical Fraud"]
    clean = {**_ROW, "Declaration ID": "1", "Fraud": "0", "Critical Fraud": "0"}
    fraud = {
        **_ROW,
        "Declaration ID": "2",
        "Fraud": "1",
        "Critical Fraud": "1",
        "Item Price": "1000",
        "Tax Rate": "8.0",
    }
    critical = {**fraud, "Critical Fraud": "2", "Item Price": "500", "Tax Rate": "10"}
    path = write_csv(tmp_path / "h.csv", [clean, fraud, critical], columns)

    history = {d.declaration_number: outcome for d, outcome in read_history_csv(path)}

    assert history["1"].examined
    assert not history["1"].infringement_found
    assert not history["1"].HasField("revenue_found")
    assert history["2"].infringement_found
    assert history["2"].severity == 2
    assert (history["2"].revenue_found.units, history["2"].revenue_found.nanos) == (130, 0)


def test_history_needs_the_outcome_columns_with_their_values(tmp_path: Path) -> None:
    without = write_csv(tmp_path / "a.csv", [_ROW], list(DECLARATION_COLUMNS))
    wrong = write_csv(
        tmp_path / "b.csv",
        [{**_ROW, "Fraud": "yes", "Critical Fraud": "0"}],
        [*DECLARATION_COLUMNS, "Fraud", "Critical Fraud"],
    )

    with pytest.raises(DatasetError, match="missing columns 'Fraud', 'Critical Fraud'"):
        read_history_csv(without)
    with pytest.raises(DatasetError, match="line 2: column 'Fraud' is not 0 or 1: 'yes'"):
        read_history_csv(wrong)
