"""Where the client finds the services and the token."""

from __future__ import annotations

from pathlib import Path

import pytest

from customs_client.config import ConfigurationError, load_token, service_address


def test_addresses_default_to_make_runs_ports_and_follow_the_variables() -> None:
    assert service_address("scoring", {}) == "127.0.0.1:50051"
    assert service_address("audit_referral", {}) == "127.0.0.1:50055"
    environ = {"CUSTOMS_EXAM_REPORTS_ADDR": "exam:9000"}
    assert service_address("exam_reports", environ) == "exam:9000"


def test_the_token_comes_from_the_variable_before_make_runs_file(tmp_path: Path) -> None:
    (tmp_path / ".run").mkdir()
    (tmp_path / ".run" / "developer.token").write_text("from-file\n")

    assert load_token({"CUSTOMS_TOKEN": "from-env"}, tmp_path) == "from-env"
    assert load_token({}, tmp_path) == "from-file"


def test_without_a_token_the_error_says_how_to_get_one(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="set CUSTOMS_TOKEN"):
        load_token({}, tmp_path)
