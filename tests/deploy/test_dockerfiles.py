"""The service images, checked statically (no Docker engine needed): what the
runtime stage runs, as whom, with what inside, and that the five Dockerfiles do
not drift apart.
"""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path, PurePosixPath

import pytest

_REPO = Path(__file__).resolve().parents[2]
_PACKAGES = ("scoring", "criteria", "exam_reports", "compliance", "audit_referral")
_BUILD_TOOLS = re.compile(
    r"\b(apt-get install|apt install|apk add|gcc|g\+\+|clang|make|build-essential|pip install"
    r"|uv pip)\b"
)

Instruction = tuple[str, str]


def _instructions(text: str) -> list[Instruction]:
    """(KEYWORD, arguments) of each instruction, continuation lines joined."""
    lines = [line for line in text.splitlines() if not line.lstrip().startswith("#")]
    joined = re.sub(r"\\\n", " ", "\n".join(lines))
    result = []
    for line in joined.splitlines():
        if line.strip():
            keyword, _, arguments = line.strip().partition(" ")
            result.append((keyword.upper(), " ".join(arguments.split())))
    return result


def _dockerfile(package: str) -> str:
    return (_REPO / "services" / package / "Dockerfile").read_text()


def _stages(package: str) -> list[list[Instruction]]:
    stages: list[list[Instruction]] = []
    for instruction in _instructions(_dockerfile(package)):
        if instruction[0] == "FROM":
            stages.append([])
        if stages:
            stages[-1].append(instruction)
    return stages


def _arguments(stage: list[Instruction], keyword: str) -> list[str]:
    return [arguments for found, arguments in stage if found == keyword]


def _console_script(package: str) -> str:
    project = tomllib.loads((_REPO / "services" / package / "pyproject.toml").read_text())
    scripts = project["project"]["scripts"]
    (name,) = [
        name for name, target in scripts.items() if target == f"{package}.entrypoints.server:main"
    ]
    return str(name)


def _service_port(package: str) -> int:
    """The port the Kubernetes Service of this package exposes."""
    manifest = (_REPO / "deploy" / "k8s" / "base" / package / "service.yaml").read_text()
    match = re.search(r"^\s+port: (\d+)$", manifest, re.MULTILINE)
    assert match is not None
    return int(match.group(1))


def test_the_five_dockerfiles_differ_only_in_their_service() -> None:
    def template(package: str) -> str:
        text = _dockerfile(package)
        for value, placeholder in (
            (_console_script(package), "<script>"),
            (package, "<package>"),
            (str(_service_port(package)), "<port>"),
        ):
            text = text.replace(value, placeholder)
        return text

    reference = template(_PACKAGES[0])
    assert "<script>" in reference
    assert "<port>" in reference
    for package in _PACKAGES[1:]:
        assert template(package) == reference, f"services/{package}/Dockerfile has drifted"


@pytest.mark.parametrize("package", _PACKAGES)
def test_image_starts_the_service_console_script_on_its_port(package: str) -> None:
    runtime = _stages(package)[-1]
    (entrypoint,) = _arguments(runtime, "ENTRYPOINT")
    command = json.loads(entrypoint)  # exec form: the server is PID 1 and gets SIGTERM
    assert len(command) == 1
    assert PurePosixPath(command[0]).name == _console_script(package)
    assert _arguments(runtime, "EXPOSE") == [str(_service_port(package))]
    assert _arguments(runtime, "STOPSIGNAL") == ["SIGTERM"]


@pytest.mark.parametrize("package", _PACKAGES)
def test_runtime_stage_runs_as_an_unprivileged_numeric_user(package: str) -> None:
    users = _arguments(_stages(package)[-1], "USER")
    assert users, "the image would run as root"
    # Numeric, so that Kubernetes can verify runAsNonRoot without /etc/passwd.
    assert re.fullmatch(r"[1-9]\d*(:\d+)?", users[-1]), users[-1]


@pytest.mark.parametrize("package", _PACKAGES)
def test_runtime_stage_holds_only_the_built_environment(package: str) -> None:
    builder, runtime = _stages(package)[0], _stages(package)[-1]
    for command in _arguments(runtime, "RUN"):
        assert not _BUILD_TOOLS.search(command), command
    assert _arguments(runtime, "COPY") == ["--from=builder /opt/venv /opt/venv"]
    # The copied virtualenv links to the builder's interpreter: both stages must share it.
    assert _arguments(runtime, "FROM")[0].split()[0] == _arguments(builder, "FROM")[0].split()[0]


@pytest.mark.parametrize("package", _PACKAGES)
def test_builder_installs_only_locked_or_local_packages(package: str) -> None:
    commands = _arguments(_stages(package)[0], "RUN")
    installs = [part for command in commands for part in command.split("&&") if " install " in part]
    assert installs
    for install in installs:
        assert "--no-index" in install, install
    position = {
        step: next(i for i, command in enumerate(commands) if step in command)
        for step in ("tools/gen_protos.py", "pip wheel")
    }
    assert position["tools/gen_protos.py"] < position["pip wheel"], "protos built after the wheels"


def test_build_context_sends_only_what_the_builds_copy() -> None:
    rules = [
        line.strip()
        for line in (_REPO / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert rules[0] == "*"
    included = {rule[1:].rstrip("/") for rule in rules if rule.startswith("!")}
    for package in _PACKAGES:
        for copy in _arguments(_stages(package)[0], "COPY"):
            source = copy.split()[0]
            assert PurePosixPath(source).parts[0] in included, source
    # Generated code is rebuilt from protos/ inside the image, never taken as found.
    assert {"libs/customs_protos/src/customs/", "libs/customs_protos/src/buf/"} <= set(rules)
