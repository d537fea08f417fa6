"""The demo: a customs office's reference data, criteria and risk model, then a quarter replayed.

Everything goes through the platform's public API: the setup through the
``customs`` command line's own commands (bulk imports, four-eyes approvals),
the replay through ``CustomsClient`` (the bulk assessment stream, then each
simulated officer's tasks, reports and a supervisor's approvals). Findings
follow the data set's ``Fraud`` / ``Critical Fraud`` labels, so what the
committee sees at the end (hit rates, lift, compliance) is what the data holds.

The caller (``tools/demo.py``) starts or finds the platform and mints the
identities; this module only talks to it.
"""

from __future__ import annotations

import contextlib
import csv
import functools
import json
import os
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from datetime import time as dt_time
from pathlib import Path
from typing import Any

import grpc
from customs.audit_referral.v1 import audit_referral_service_pb2 as referral_api
from customs.compliance.v1 import compliance_service_pb2 as compliance_api
from customs.compliance.v1 import measurement_pb2
from customs.criteria.v1 import criteria_service_pb2 as criteria_api
from customs.exam_reports.v1 import exam_report_pb2, examination_pb2
from customs.exam_reports.v1 import exam_reports_service_pb2 as exam_api
from customs.scoring.v1 import assessment_pb2, declaration_pb2, risk_model_pb2
from customs.scoring.v1 import scoring_service_pb2 as scoring_api
from google.protobuf.timestamp_pb2 import Timestamp
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from typer.main import get_command

from customs_client import oversight
from customs_client.channels import CustomsClient
from customs_client.cli import app
from customs_client.cli.common import enum_label, enum_of, new_request_id, request_id_for
from customs_client.declarations import read_history_csv
from customs_client.errors import CustomsError
from customs_client.pagination import paginate

_CHANNEL = enum_of(assessment_pb2.Assessment, "channel")
#: The identities the demo acts as: who drafts, who approves, who supervises examinations.
ROLES = ("analyst", "approver", "supervisor")
#: How long the replay waits for a day's examination tasks to reach exam_reports.
TASK_WAIT_SECONDS = 20.0
#: How long the summary waits for the examinations' outcomes to be counted by criteria.
OUTCOME_WAIT_SECONDS = 30.0
#: The score from which the model sends a declaration to examination: its scores on
#: the data set are bimodal, and 0.95 selects about the top tenth of declarations,
#: where 0.5 sent a sixth (with criteria and random draws, four declarations in ten
#: were examined, far from an office's practice and the demo's slowest part).
MODEL_THRESHOLD = "0.95"
#: Officers examining at the same time (each a thread with its own channel).
OFFICER_POOL = 6


@dataclass(frozen=True)
class DemoOptions:
    """What the demo loads and where it writes."""

    dataset: Path
    out_dir: Path
    tokens: Mapping[str, str]
    #: Makes an inspector's token for ``subject``; officers are named per office.
    mint_inspector: Callable[[str], str]
    addresses: Mapping[str, str]
    days: int = 90
    history_rows: int = 0


@dataclass
class Summary:
    """What the replay counted on its side: decisions per channel and month, tasks, findings."""

    channels: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    #: Decisions that call for an examination (RED or YELLOW).
    selected: int = 0
    examined: int = 0
    discrepancies: int = 0
    days: list[str] = field(default_factory=list)
    tasks_per_office_day: Counter[tuple[str, str]] = field(default_factory=Counter)


def run(options: DemoOptions, console: Console) -> Summary:
    """Sets the office up, trains the model, replays the days and writes the report."""
    setup = options.out_dir / "setup"
    setup.mkdir(parents=True, exist_ok=True)
    started = datetime.now(UTC) - timedelta(minutes=1)
    history = _rows(options.dataset / "train.csv", options.history_rows, setup / "history.csv")
    offices = sorted({row["Office ID"] for row in _read(options.dataset / "valid.csv")})
    with _phase(console, "reference data"):
        _reference_data(options, setup, offices)
    with _phase(console, "2020 as history with its outcomes (impact analyses replay it)"):
        _must(
            options.out_dir / CLI_LOG, options.tokens["analyst"], "history", "import", str(history)
        )
    with _phase(console, "criteria (drafted by the analyst, approved by a second person)"):
        _criteria(options, setup)
    with _phase(console, "risk model trained on the history, approved by a second person"):
        _model(options, console)
    with _phase(console, "replay: first quarter of 2021, day by day"):
        summary = _replay(options, offices, console)
    with _phase(console, "what the committee looks at"):
        _report(options, summary, started, console)
    return summary


@contextlib.contextmanager
def _phase(console: Console, title: str) -> Iterator[None]:
    """A titled step of the demo, followed by how long it took (where the minutes go)."""
    console.rule(title)
    began = time.monotonic()
    yield
    console.print(f"  ({time.monotonic() - began:.0f} s)", style="dim")


#: Where the setup commands' own output goes (their errors still reach stderr).
CLI_LOG = "setup/customs.log"


def cli(token: str, *arguments: str, log: Path | None = None) -> int:
    """Runs one ``customs`` command in-process as ``token``; returns its exit code.

    Its output is appended to ``log`` when given, so progress bars stay readable.
    """
    previous = os.environ.get("CUSTOMS_TOKEN")
    os.environ["CUSTOMS_TOKEN"] = token
    try:
        with contextlib.ExitStack() as stack:
            if log is not None:
                handle = stack.enter_context(log.open("a", encoding="utf-8"))
                handle.write(f"$ customs {' '.join(arguments)}\n")
                stack.enter_context(contextlib.redirect_stdout(handle))
            code = _command().main(list(arguments), prog_name="customs", standalone_mode=False)
    finally:
        if previous is None:
            os.environ.pop("CUSTOMS_TOKEN", None)
        else:
            os.environ["CUSTOMS_TOKEN"] = previous
    return int(code or 0)


@functools.cache
def _command() -> Any:
    """The command line's click command, built once: typer rebuilds the whole tree of
    commands on every call otherwise, which cost the demo half a minute."""
    return get_command(app)


def _must(log: Path, token: str, *arguments: str) -> None:
    code = cli(token, *arguments, log=log)
    if code:
        raise RuntimeError(f"customs {' '.join(arguments)} exited with {code}; see {log}")


def _read(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def _rows(source: Path, limit: int, target: Path) -> Path:
    """``source``, or about ``limit`` of its item rows, evenly spread over its dates,
    written to ``target`` (the training holds out the latest months, so the slice
    must span the year)."""
    if not limit:
        return source
    with source.open(encoding="utf-8") as handle:
        header, *rows = handle.readlines()
    stride = max(1, len(rows) // limit)
    target.write_text(header + "".join(rows[::stride][:limit]), encoding="utf-8")
    return target


def _reference_data(options: DemoOptions, setup: Path, offices: Sequence[str]) -> None:
    """Offices with capacity and time zones, one inspector per office, a supervisor, shifts."""
    log = options.out_dir / CLI_LOG
    analyst = options.tokens["analyst"]
    lines = ["offices:"]
    for office in offices:
        lines += [
            f'  - id: "{office}"',
            f"    display_name: Customs office {office}",
            "    time_zone: Asia/Seoul",
            "    facilities:",
            "      - id: shed-1",
            "        display_name: Examination shed",
            "        daily_capacities:",
            "          - {channel: RED, examination_level: ENFORCEMENT, examinations_per_day: 40}",
            "          - {channel: YELLOW, examinations_per_day: 80}",
        ]
    (setup / "offices.yaml").write_text("\n".join(lines) + "\n")
    officers = ["id,display_name,badge_number,office,role,subject"]
    officers += [
        f"insp-{o},Inspector of {o},B-{o},{o},INSPECTOR,{inspector_subject(o)}" for o in offices
    ]
    officers.append(
        f"sup-1,Supervisor,B-S1,{offices[0]},SUPERVISOR,{_subject(options, 'supervisor')}"
    )
    (setup / "officers.csv").write_text("\n".join(officers) + "\n")
    # Tasks go to officers on shift when they are created: the replay runs now.
    now = datetime.now(UTC).replace(microsecond=0)
    start, end = (now - timedelta(hours=1)).isoformat(), (now + timedelta(hours=22)).isoformat()
    shifts = ["officer,start_time,end_time"] + [f"insp-{o},{start},{end}" for o in offices]
    (setup / "shifts.csv").write_text("\n".join(shifts).replace("+00:00", "Z") + "\n")
    for group in ("offices", "officers", "shifts"):
        _must(
            log,
            analyst,
            group,
            "import",
            str(setup / f"{group}.{'yaml' if group == 'offices' else 'csv'}"),
        )
    rate = "physical_examination_percent: 5\ndocument_review_percent: 5\n"
    (setup / "rate.yaml").write_text(rate + "physical_examination_level: ENFORCEMENT\n")
    _must(
        log,
        options.tokens["approver"],
        "rates",
        "set",
        str(setup / "rate.yaml"),
        "--reason",
        "random compliance measurement: 5 % of every procedure",
    )
    (setup / "policy.yaml").write_text(
        "rules: [{selected_channel: RED, utilisation_percent: 90, min_priority: 50,"
        " downgrade_to: YELLOW,"
        " documents_to_check: [{document_type_code: INV, description: Commercial invoice}]}]\n"
        "downgrade_random_examinations: false\n"
    )
    for office in offices:
        _must(
            log, options.tokens["approver"], "capacity", "set", office, str(setup / "policy.yaml")
        )


def inspector_subject(office: str) -> str:
    """The token subject of the inspector of ``office``."""
    return f"inspector-{office}"


def _subject(options: DemoOptions, role: str) -> str:
    return f"demo-{role}"


#: The handbook's criteria: id, profile, title, predicate (YAML), channel, level, percent,
#: mandatory.
CRITERIA = (
    (
        "tobacco",
        "excise",
        "Cigarettes and tobacco (HS 24)",
        "hs_code_prefix: {prefixes: ['24']}",
        "RED",
        "ENFORCEMENT",
        100,
        True,
    ),
    (
        "textiles-cn",
        "origin",
        "Apparel from CN (HS 61, 62)",
        "code_in: {element: CODE_ELEMENT_ITEM_ORIGIN_COUNTRY, values: [CN]}",
        "YELLOW",
        "",
        5,
        False,
    ),
    (
        "low-value",
        "valuation",
        "Undervaluation: under 1,000 KRW per kg",
        "numeric_range: {element: NUMERIC_ELEMENT_ITEM_VALUE_PER_KG, max: 1000,"
        " currency_code: KRW}",
        "RED",
        "COMMERCIAL_SAMPLE",
        5,
        False,
    ),
    (
        "electronics",
        "valuation",
        "Electronics (HS 85) by post",
        "hs_code_prefix: {prefixes: ['85']}",
        "YELLOW",
        "",
        10,
        False,
    ),
)


def _criteria(options: DemoOptions, setup: Path) -> None:
    log = options.out_dir / CLI_LOG
    analyst, approver = options.tokens["analyst"], options.tokens["approver"]
    for profile in sorted({c[1] for c in CRITERIA}):
        path = setup / f"profile-{profile}.yaml"
        path.write_text(
            f"title: {profile.capitalize()} risks\nrisk_area: RISK_AREA_REVENUE\n"
            f"rationale: Results of last year's examinations point at {profile} fraud.\n"
            "sources:\n  - kind: SOURCE_KIND_EXAMINATION_RESULTS\n"
            "    description: Examination results of 2020\n"
            f"indicators: [{profile}]\n"
            "intended_treatment: {channel: CHANNEL_RED,"
            " examination_level: EXAMINATION_LEVEL_COMMERCIAL_SAMPLE}\n"
            f'owner: {_subject(options, "analyst")}\nnext_review_date: "2027-06-30"\n'
        )
        _must(log, analyst, "profiles", "draft", str(path), "--id", profile)
    for name, profile, title, predicate, channel, level, percent, mandatory in CRITERIA:
        treatment = f"channel: CHANNEL_{channel}"
        if level:
            treatment += f", examination_level: EXAMINATION_LEVEL_{level}"
        else:
            treatment += ", documents_to_check: [{document_type_code: INV, description: Invoice}]"
        path = setup / f"criterion-{name}.yaml"
        path.write_text(
            f"risk_profile: riskProfiles/{profile}\ntitle: {json.dumps(title)}\n"
            f"description: {json.dumps(title + ', as the handbook describes the risk.')}\n"
            "validity_start_time: 2020-01-01T00:00:00Z\n"
            f"rule:\n  condition:\n    predicate:\n      {predicate}\n"
            f"  treatment: {{{treatment}}}\n  selection_percent: {percent}\n"
            f"  mandatory: {str(mandatory).lower()}\n"
            "  approved_traders: APPROVED_TRADER_SCOPE_INCLUDED\n  priority: 60\n"
            "  examiner_instructions: Check the goods against the invoice and the declaration.\n"
        )
        _must(log, analyst, "criteria", "draft", str(path), "--id", name)
        _must(log, analyst, "criteria", "submit", name)
        _must(log, analyst, "criteria", "impact", name)
        _must(log, approver, "criteria", "approve", name)


def _model(options: DemoOptions, console: Console) -> None:
    log = options.out_dir / CLI_LOG
    analyst, approver = options.tokens["analyst"], options.tokens["approver"]
    with CustomsClient(token=analyst, addresses=options.addresses) as client:
        training = _train(client, console)
    if training.state != risk_model_pb2.RISK_MODEL_TRAINING_STATE_SUCCEEDED:
        why = (
            f"{training.error_reason}: {training.error_message}"
            if training.error_reason
            else f"no progress for {TRAINING_STALL_SECONDS:.0f} s at {training.stage}"
        )
        console.print(
            f"the risk model did not train ({why}); the replay runs on criteria and random draws",
            markup=False,
        )
        return
    # The trained version reaches criteria (which governs it) through scoring's outbox.
    deadline = time.monotonic() + TASK_WAIT_SECONDS
    with CustomsClient(token=analyst, addresses=options.addresses) as client:
        versions: list[Any] = []
        while not versions and time.monotonic() < deadline:
            time.sleep(0.5)
            versions = list(
                paginate(client.criteria.ListRiskModels, criteria_api.ListRiskModelsRequest())
            )
    if not versions:
        console.print("the trained model did not reach criteria; the replay runs without it")
        return
    newest = max(versions, key=lambda m: m.create_time.ToDatetime())
    _must(
        log,
        analyst,
        "model",
        "submit",
        newest.name,
        "--threshold",
        MODEL_THRESHOLD,
        "--reason",
        "first model trained on 2020's examination outcomes",
    )
    _must(log, approver, "model", "approve", newest.name)


#: How long a training may show no progress before the demo goes on without it.
TRAINING_STALL_SECONDS = 300.0
_TRANSIENT = (
    grpc.StatusCode.INTERNAL,
    grpc.StatusCode.UNAVAILABLE,
    grpc.StatusCode.DEADLINE_EXCEEDED,
)


def _train(client: CustomsClient, console: Console) -> Any:
    """Starts a training and follows it to its end.

    Unlike `customs model train --wait` it keeps polling through a failed poll:
    on SQLite the training's own writes can make a read fail for a moment, and
    the training goes on regardless. A training whose progress has not moved
    for ``TRAINING_STALL_SECONDS`` is given up (returned still RUNNING): on a
    busy SQLite the training task itself can die on a locked database, and the
    replay is still worth seeing on criteria and random draws.
    """
    training = client.scoring.TrainRiskModel(
        scoring_api.TrainRiskModelRequest(request_id=new_request_id())
    ).training
    with Progress(
        TextColumn("training"), BarColumn(), TextColumn("{task.description}"), console=console
    ) as progress:
        bar = progress.add_task(training.stage, total=100)
        seen, moved = (training.stage, training.progress_percent), time.monotonic()
        while training.state == risk_model_pb2.RISK_MODEL_TRAINING_STATE_RUNNING:
            if time.monotonic() - moved > TRAINING_STALL_SECONDS:
                break
            time.sleep(1.0)
            try:
                training = client.scoring.GetRiskModelTraining(
                    scoring_api.GetRiskModelTrainingRequest(name=training.name)
                ).training
            except CustomsError as error:
                # A poll that times out while the training keeps scoring busy is
                # only a late answer; the next poll asks again.
                if error.code() not in _TRANSIENT:
                    raise
                continue
            progress.update(bar, completed=training.progress_percent, description=training.stage)
            if (training.stage, training.progress_percent) != seen:
                seen, moved = (training.stage, training.progress_percent), time.monotonic()
    return training


def _replay(options: DemoOptions, offices: Sequence[str], console: Console) -> Summary:
    records = read_history_csv(options.dataset / "valid.csv")
    by_day: dict[date, list[tuple[declaration_pb2.Declaration, risk_model_pb2.HistoryOutcome]]]
    by_day = defaultdict(list)
    for declaration, outcome in records:
        by_day[declaration.lodgement_time.ToDatetime().date()].append((declaration, outcome))
    days = sorted(by_day)[: options.days]
    if len(days) < len(by_day):
        console.print(f"replaying {len(days)} of {len(by_day)} days (--days {options.days})")
    outcomes = {
        d.declaration_number: Replayed(o, d.lodgement_time.ToDatetime(tzinfo=UTC))
        for day in days
        for d, o in by_day[day]
    }
    summary = Summary()
    inspectors = {
        o: CustomsClient(
            token=options.mint_inspector(inspector_subject(o)), addresses=options.addresses
        )
        for o in offices
    }
    supervisor = CustomsClient(token=options.tokens["supervisor"], addresses=options.addresses)
    scoring = CustomsClient(token=options.tokens["analyst"], addresses=options.addresses).scoring
    with (
        Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
        ) as progress,
        ThreadPoolExecutor(OFFICER_POOL) as pool,
    ):
        day_bar = progress.add_task("days", total=len(days))
        stopping = threading.Event()
        try:
            for day in days:
                summary.days.append(day.isoformat())
                selected = _assess(scoring, [d for d, _ in by_day[day]], summary, day)
                exam_bar = progress.add_task(f"  examinations {day}", total=sum(selected.values()))
                _examine_day(
                    inspectors,
                    supervisor,
                    outcomes,
                    selected,
                    summary,
                    pool,
                    day,
                    functools.partial(progress.advance, exam_bar),
                    stopping,
                )
                progress.remove_task(exam_bar)
                progress.advance(day_bar)
        except BaseException:
            # Ctrl-C: the officers stop after the call they are in, so the pool
            # closes promptly and the caller can stop the platform it started.
            stopping.set()
            raise
    return summary


def _assess(
    scoring: Any, declarations: Sequence[declaration_pb2.Declaration], summary: Summary, day: date
) -> Counter[str]:
    """Assesses the day's declarations in one bulk stream; returns, per office, how many
    decisions call for an examination."""
    requests: Iterator[scoring_api.AssessDeclarationsRequest] = (
        scoring_api.AssessDeclarationsRequest(declaration=d) for d in declarations
    )
    selected: Counter[str] = Counter()
    for answer in scoring.AssessDeclarations(requests):
        if answer.WhichOneof("result") != "assessment":
            continue
        channel = enum_label(_CHANNEL, answer.assessment.channel)
        summary.channels[day.strftime("%Y-%m")][channel] += 1
        if channel in ("RED", "YELLOW"):
            selected[answer.assessment.declaration.office_code] += 1
    summary.selected += sum(selected.values())
    return selected


def _examine_day(
    inspectors: Mapping[str, CustomsClient],
    supervisor: CustomsClient,
    outcomes: Mapping[str, Replayed],
    selected: Counter[str],
    summary: Summary,
    pool: ThreadPoolExecutor,
    day: date,
    advance: Callable[[], None],
    stopping: threading.Event,
) -> None:
    """The inspectors of the offices with tasks work in parallel until each has examined as
    many as its office's decisions called for (or the tasks stop arriving)."""
    deadline = time.monotonic() + TASK_WAIT_SECONDS
    jobs = {
        office: pool.submit(
            _examine_office,
            inspectors[office],
            supervisor,
            outcomes,
            day,
            advance,
            wanted,
            deadline,
            stopping,
        )
        for office, wanted in selected.items()
        if office in inspectors
    }
    for office, job in jobs.items():
        count, found = job.result()
        summary.examined += count
        summary.discrepancies += found
        summary.tasks_per_office_day[(office, day.isoformat())] += count


def _examine_office(
    client: CustomsClient,
    supervisor: CustomsClient,
    outcomes: Mapping[str, Replayed],
    day: date,
    advance: Callable[[], None],
    wanted: int,
    deadline: float,
    stopping: threading.Event,
) -> tuple[int, int]:
    """One inspector's day: the open tasks as they arrive (through exam_reports' inbox)."""
    count = found = 0
    while count < wanted and time.monotonic() < deadline and not stopping.is_set():
        examined, discrepancies = _examine_open(client, supervisor, outcomes, day, advance)
        count += examined
        found += discrepancies
        if count < wanted and not examined:
            stopping.wait(0.2)
    return count, found


#: The tasks an officer works on: a task started before a call failed is taken up again.
_OPEN = (examination_pb2.EXAMINATION_STATE_ASSIGNED, examination_pb2.EXAMINATION_STATE_IN_PROGRESS)
#: When, after its lodgement, the goods of a replayed declaration are examined and the
#: report signed: examinations are dated on the day replayed, whenever the demo runs.
EXAMINED_AFTER = timedelta(hours=2)
SIGNED_AFTER = timedelta(hours=2, minutes=20)


@dataclass(frozen=True)
class Replayed:
    """What the data set says of a replayed declaration: its outcome and lodgement."""

    outcome: risk_model_pb2.HistoryOutcome
    lodged: datetime


def _examine_open(
    client: CustomsClient,
    supervisor: CustomsClient,
    outcomes: Mapping[str, Replayed],
    day: date,
    advance: Callable[[], None],
) -> tuple[int, int]:
    """One round of an officer's open tasks; stops early when the platform is busy (the
    next round takes the task up again: starting and submitting are idempotent)."""
    count = found = 0
    tasks = list(
        paginate(client.exam_reports.ListMyExaminations, exam_api.ListMyExaminationsRequest())
    )
    for task in tasks:
        if task.state not in _OPEN:
            continue
        replayed = outcomes.get(
            task.declaration_number,
            Replayed(risk_model_pb2.HistoryOutcome(), datetime.combine(day, dt_time(), UTC)),
        )
        try:
            _examine(client, supervisor, task, replayed)
        except CustomsError as error:
            if error.code() not in _TRANSIENT:
                raise
            break
        count += 1
        found += replayed.outcome.infringement_found
        advance()
    return count, found


def _examine(
    client: CustomsClient,
    supervisor: CustomsClient,
    task: examination_pb2.Examination,
    replayed: Replayed,
) -> None:
    """Starts the task, files its report dated on the day replayed, has it approved."""
    started = client.exam_reports.StartExamination(
        exam_api.StartExaminationRequest(name=task.name)
    ).examination
    report = examination_report(started, replayed.outcome, replayed.lodged.date())
    report.examination_time.CopyFrom(_stamp(replayed.lodged + EXAMINED_AFTER))
    submitted = client.exam_reports.SubmitExamReport(
        exam_api.SubmitExamReportRequest(
            exam_report_id=request_id_for("SubmitExamReport", report),
            exam_report=report,
            sign_time=_stamp(replayed.lodged + SIGNED_AFTER),
        )
    ).exam_report
    approval = exam_api.ApproveExamReportRequest(
        name=submitted.name,
        etag=submitted.etag,
        request_id=request_id_for("ApproveExamReport", submitted.name),
    )
    # A submitted report is no longer an open task: its approval is retried here,
    # with one request id, so a busy moment approves it once.
    for attempt in range(_APPROVAL_ATTEMPTS):
        try:
            supervisor.exam_reports.ApproveExamReport(approval)
            return
        except CustomsError as error:
            if error.code() not in _TRANSIENT or attempt == _APPROVAL_ATTEMPTS - 1:
                raise
            time.sleep(1.0)


_APPROVAL_ATTEMPTS = 5


def examination_report(
    task: examination_pb2.Examination, outcome: risk_model_pb2.HistoryOutcome, day: date
) -> exam_report_pb2.ExamReport:
    """The report an officer files for ``task``: a discrepancy exactly when the data set has one."""
    from customs_client.cli.examinations import prefill

    report = exam_report_pb2.ExamReport(
        intelligence_information="none found", discrepancy_found=outcome.infringement_found
    )
    prefill(report, task)
    if not outcome.infringement_found:
        return report
    severity = "critical " if outcome.severity > 1 else ""
    report.discrepancy_detail = (
        f"Goods not as declared: {severity}infringement found on examination."
    )
    report.discrepancies.append(
        exam_report_pb2.Discrepancy(
            type=exam_report_pb2.DISCREPANCY_TYPE_DESCRIPTION,
            item_number=1,
            description="The goods found differ from the declared description",
        )
    )
    report.penalty_recommended = True
    report.merchandise_seized = outcome.severity > 1
    if report.merchandise_seized:
        report.seizure_case_number = f"SZ-{day.year}/{task.declaration_number}"
    report.carrier.CopyFrom(
        exam_report_pb2.CarrierData(display_name="Harbour Haulage", address="1 Port Road, Incheon")
    )
    report.driver.CopyFrom(
        exam_report_pb2.DriverData(
            full_name="Kim Min-jun",
            date_of_birth="1980-04-02",
            nationality="KR",
            identity_document=exam_report_pb2.IdentityDocument(
                type=exam_report_pb2.IDENTITY_DOCUMENT_TYPE_PASSPORT, number="M12345678"
            ),
        )
    )
    return report


def _outcomes_counted(figures: oversight.OversightFigures) -> int:
    """Examination outcomes criteria has counted: the criteria's and the random arm's."""
    random_arm = figures.random_baseline.observations if figures.random_baseline else 0
    return random_arm + sum(row.observations for row in figures.criteria)


def _report(options: DemoOptions, summary: Summary, started: datetime, console: Console) -> None:
    """Prints the committee's figures of the days replayed and writes the oversight report
    (text, CSV and charts) of each month replayed, and the quarter's charts, into out."""
    out = options.out_dir
    first = date.fromisoformat(summary.days[0])
    after = date.fromisoformat(summary.days[-1]) + timedelta(days=1)
    begin = datetime.combine(first, dt_time(), UTC)
    end = datetime.combine(after, dt_time(), UTC)
    ended = datetime.now(UTC)
    client = CustomsClient(token=options.tokens["approver"], addresses=options.addresses)
    _measure_compliance(options, first, after - timedelta(days=1))
    # Capacity is used on the days the tasks were opened: the days the demo ran.
    figures = oversight.gather(
        client, begin, end, by_month=True, capacity_days=(started.date(), ended.date())
    )
    # The last days' outcomes reach criteria through exam_reports' outbox a moment
    # after their reports were approved; on a busy machine, later than the replay ends.
    deadline = time.monotonic() + OUTCOME_WAIT_SECONDS
    while _outcomes_counted(figures) < summary.examined and time.monotonic() < deadline:
        time.sleep(1.0)
        figures = oversight.gather(
            client, begin, end, by_month=True, capacity_days=(started.date(), ended.date())
        )
    console.print(f"[bold]Declarations per channel per month[/bold] ({first} to {after})")
    channels = ("GREEN", "YELLOW", "RED", "BLUE")
    console.print(f"  {'month':<8}" + "".join(f"{c:>8}" for c in channels))
    for month, counts in sorted(figures.channels.items()):
        console.print(f"  {month:<8}" + "".join(f"{counts[c]:>8}" for c in channels))
    console.print(f"  examined {summary.examined}, discrepancies found {summary.discrepancies}")
    console.print("[bold]Criteria: hit rate (95 % interval), lift over random[/bold]")
    baseline = figures.random_baseline
    for row in figures.criteria:
        lift = f"{row.rate / baseline.rate:.2f}" if baseline and baseline.rate else "n/a"
        console.print(
            f"  {row.label:<28} {row.observations:>5} examined  hit rate {row.rate:6.1%} "
            f"[{row.lower:.1%}, {row.upper:.1%}]  lift {lift}"
        )
    if baseline is not None:
        console.print(
            f"  {'random examinations':<28} {baseline.observations:>5} examined  "
            f"discrepancy rate {baseline.rate:6.1%} [{baseline.lower:.1%}, {baseline.upper:.1%}]"
        )
    console.print("[bold]Risk model on the random arm[/bold]")
    model = figures.model
    if model is None or not model.risk_model:
        console.print("  no active model")
    elif not model.random_flagged:
        console.print(
            f"  {model.risk_model}: none of the {model.random_examined} random examinations "
            f"of the {model.scored} declarations it scored was flagged; precision not measured"
        )
    else:
        console.print(
            f"  {model.risk_model}: precision {model.precision:.1%} "
            f"[{model.precision_lower:.1%}, {model.precision_upper:.1%}] "
            f"({model.random_flagged_hits} of {model.random_flagged} flagged random "
            f"examinations found a discrepancy; {model.random_examined} random examinations), "
            f"validation {model.validation_precision:.1%}, "
            f"PSI {model.population_stability_index:.3f}"
        )
    console.print("[bold]Compliance rates by segment[/bold] (random examinations)")
    segments = sorted(figures.segments, key=lambda r: -r.observations)
    for row in segments[:_SEGMENTS_PRINTED]:
        console.print(
            f"  {row.label:<28} {row.rate:6.1%} [{row.lower:.1%}, {row.upper:.1%}]  "
            f"n={row.observations}"
        )
    if len(segments) > _SEGMENTS_PRINTED:
        console.print(f"  ... and {len(segments) - _SEGMENTS_PRINTED} more in the chart")
    if not segments:
        console.print("  no compliance measurement of these days")
    console.print("[bold]Referrals and audit cases[/bold]")
    referrals = _safe(
        console,
        lambda: list(
            paginate(client.audit_referral.ListReferrals, referral_api.ListReferralsRequest())
        ),
    )
    cases = _safe(
        console,
        lambda: list(
            paginate(client.audit_referral.ListAuditCases, referral_api.ListAuditCasesRequest())
        ),
    )
    console.print(f"  referrals {len(referrals or [])}, audit cases {len(cases or [])}")
    console.print("[bold]Officer integrity flags[/bold]")
    flagged = 0
    for office in sorted({o for o, _ in summary.tasks_per_office_day}):
        integrity = _safe(
            console,
            functools.partial(_integrity, client, office, first, after - timedelta(days=1)),
        )
        for officer in getattr(integrity, "officers", []):
            flags = [f.name for f, v in officer.ListFields() if f.name.endswith("flagged") and v]
            if flags:
                flagged += 1
                console.print(f"  {officer.officer}: {', '.join(flags)}")
    console.print(f"  {flagged} officers flagged")
    console.print("[bold]Recommendations[/bold]")
    recommendations = (
        _safe(
            console,
            lambda: list(
                paginate(
                    client.criteria.ListRecommendations, criteria_api.ListRecommendationsRequest()
                )
            ),
        )
        or []
    )
    for rec in recommendations:
        console.print(f"  {rec.criterion or rec.risk_model}: {rec.rationale}")
    if not recommendations:
        console.print("  none pending")
    console.rule("oversight report")
    for png, svg in oversight.draw(figures, out):
        console.print(f"  {png} and {svg.name} written")
    months = sorted({day[:7] for day in summary.days})
    for month in months:
        _must(
            out / CLI_LOG,
            options.tokens["approver"],
            "report",
            "oversight",
            "--month",
            month,
            "--out",
            str(out / month),
        )
        console.print(f"  {out / month}: the report of {month} as text, CSV and charts")
    client.close()


#: Segments printed in the summary; the chart shows them all.
_SEGMENTS_PRINTED = 12


def _measure_compliance(options: DemoOptions, first: date, last: date) -> None:
    """The compliance measurement of the days replayed by HS chapter, published: the rates
    the committee reads come from the random examinations of those days."""
    path = options.out_dir / "setup" / "measurement.yaml"
    path.write_text(
        f"title: Compliance of the declarations lodged {first} to {last}, by HS chapter\n"
        "dimension: HS_CHAPTER\n"
        "areas: [REVENUE, DOCUMENTARY]\n"
        "sources: [RANDOM_EXAMINATION]\n"
        f'start_date: "{first}"\nend_date: "{last}"\n'
        "tolerance_level: 0.9\nconfidence_level: 0.95\nmin_sample_size: 5\n"
    )
    log = options.out_dir / CLI_LOG
    analyst = options.tokens["analyst"]
    _must(log, analyst, "measurements", "create", str(path))
    with CustomsClient(token=analyst, addresses=options.addresses) as client:
        drafts = [
            m.name
            for m in paginate(
                client.compliance.ListComplianceMeasurements,
                compliance_api.ListComplianceMeasurementsRequest(),
            )
            if m.state == measurement_pb2.COMPLIANCE_MEASUREMENT_STATE_DRAFT
            and m.start_date == first.isoformat()
        ]
    for name in drafts:
        _must(log, options.tokens["approver"], "measurements", "publish", name)


def _integrity(client: CustomsClient, office: str, start: date, end: date) -> Any:
    request = exam_api.GetOfficerIntegrityReportRequest(
        office=f"offices/{office}", start_date=start.isoformat(), end_date=end.isoformat()
    )
    return client.exam_reports.GetOfficerIntegrityReport(request).officer_integrity_report


def _stamp(moment: datetime) -> Timestamp:
    stamp = Timestamp()
    stamp.FromDatetime(moment)
    return stamp


def _safe(console: Console, call: Callable[[], Any]) -> Any:
    try:
        return call()
    except CustomsError as error:
        console.print(f"  unavailable: {error}", markup=False, highlight=False)
        return None
