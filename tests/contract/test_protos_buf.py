"""buf guards the contracts: lint (STANDARD + COMMENTS) and FILE-level breaking checks."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

_REPO = Path(__file__).resolve().parents[2]
_BUF = _REPO / "node_modules" / ".bin" / "buf"

_DOCUMENTED_PROBE = """\
// probe.proto exists only to exercise the buf configuration.
syntax = "proto3";

package customs.probe.v1;

import "buf/validate/validate.proto";

// Probe is a documented message.
message Probe {
  // title is a documented field.
  {field_type} title = 1 [(buf.validate.field).required = true];
}
"""


def _buf() -> Path:
    if not _BUF.exists():
        if os.environ.get("CI"):
            pytest.fail("buf is not installed: `make install` runs `npm ci`")
        pytest.skip("buf is not installed; run `make install`")
    return _BUF


def _run_buf(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(_buf()), *args], cwd=cwd, capture_output=True, text=True, timeout=60, check=False
    )


def _workspace(root: Path, probe: str) -> Path:
    """A copy of the repository's buf setup whose protos/ holds only ``probe``."""
    root.mkdir()
    shutil.copy(_REPO / "buf.yaml", root / "buf.yaml")
    shutil.copytree(_REPO / "third_party", root / "third_party")
    probe_dir = root / "protos" / "customs" / "probe" / "v1"
    probe_dir.mkdir(parents=True)
    (probe_dir / "probe.proto").write_text(probe)
    return root


def test_repository_protos_pass_buf_lint() -> None:
    result = _run_buf("lint", cwd=_REPO)

    assert result.returncode == 0, result.stdout + result.stderr


def test_buf_lint_rejects_an_undocumented_message(tmp_path: Path) -> None:
    undocumented = _DOCUMENTED_PROBE.replace("// Probe is a documented message.\n", "").replace(
        "{field_type}", "string"
    )
    workspace = _workspace(tmp_path / "ws", undocumented)

    result = _run_buf("lint", cwd=workspace)

    assert result.returncode != 0
    assert 'Message "Probe" should have a non-empty comment' in result.stdout


def test_buf_breaking_rejects_a_changed_field_type(tmp_path: Path) -> None:
    before = _workspace(tmp_path / "before", _DOCUMENTED_PROBE.replace("{field_type}", "string"))
    after = _workspace(tmp_path / "after", _DOCUMENTED_PROBE.replace("{field_type}", "bytes"))
    assert _run_buf("lint", cwd=before).returncode == 0

    result = _run_buf("breaking", str(after), "--against", str(before), cwd=tmp_path)

    assert result.returncode != 0
    assert 'changed type from "string" to "bytes"' in result.stdout
