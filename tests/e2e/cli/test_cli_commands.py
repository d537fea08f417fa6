"""Every `customs` command group through the five real services.

Each test runs the command line in-process (typer's runner) against the
platform the end-to-end fixtures started, with a token minted for the role
the command needs, and checks what the services then hold.
"""

from __future__ import annotations

import csv
import io
import json
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest
from cli_support import addresses, customs
from customs.audit_referral.v1 import audit_referral_service_pb2, referral_pb2
from customs.scoring.v1 import scoring_service_pb2
from e2e_support import eventually
from run_platform import Platform

from customs_client import CustomsClient
from customs_client.cli.assess import DECISIONS_HEADER
from customs_client.cli.reports import DISPARITY_COLUMNS
from customs_client.declarations import DECLARATION_COLUMNS
from customs_kit.auth import Role
from customs_kit.testing.services import SigningKeys

pytestmark = pytest.mark.e2e

_EXAMPLES = Path(__file__).resolve().parents[3] / "libs/customs_client/examples/first-declaration"
_HUMAN_ROLES = [role for role in Role if role is not Role.SERVICE]


def everyone(keys: SigningKeys, subject: str = "analyst-ana") -> str:
    """A token with every human role, as `make run` prints."""
    return keys.token(*_HUMAN_ROLES, subject=subject)


def rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def declaration_csv(path: Path, number: str, hs_code: str, price: str = "372254.4") -> Path:
    values = {
        "Declaration ID": number,
        "Date": "2021-04-01",
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
        "HS6 Code": hs_code,
        "Country of Departure": "BE",
        "Country of Origin": "BE",
        "Tax Rate": "8.0",
        "Tax Type": "A",
        "Country of Origin Indicator": "G",
        "Net Mass": "108.0",
        "Item Price": price,
        "Fraud": "1",
    }
    header = [*DECLARATION_COLUMNS, "Fraud"]
    path.write_text(",".join(header) + "\n" + ",".join(values[c] for c in header) + "\n")
    return path


def test_help_lists_every_command_group(platform: Platform, test_keys: SigningKeys) -> None:
    result = customs(platform, everyone(test_keys), "--help")

    assert result.exit_code == 0
    for group in (
        "assess",
        "criteria",
        "lists",
        "profiles",
        "examinations",
        "offices",
        "officers",
        "shifts",
        "rates",
        "capacity",
        "referrals",
        "audit-cases",
        "traders",
        "measurements",
        "sampling-plans",
        "interventions",
        "history",
        "model",
        "report",
    ):
        assert f"  {group} " in result.stdout
    overrides = customs(platform, everyone(test_keys), "examinations", "--help")
    assert "  overrides " in overrides.stdout


def test_a_refused_call_exits_1_printing_its_reason_and_field(
    platform: Platform, test_keys: SigningKeys, tmp_path: Path
) -> None:
    offices = tmp_path / "offices.yaml"
    offices.write_text('- {id: "77", display_name: Nowhere, time_zone: Mars/Olympus}\n')

    result = customs(platform, everyone(test_keys), "offices", "import", str(offices))

    assert result.exit_code == 1
    assert "INVALID_ARGUMENT" in result.stderr
    assert "field office.time_zone: 'Mars/Olympus' is not an IANA time zone" in result.stderr
    missing = customs(platform, everyone(test_keys), "criteria", "show", "no-such-criterion")
    assert missing.exit_code == 1
    assert "NOT_FOUND" in missing.stderr


def test_reference_data_imports_create_once_then_change_nothing(
    platform: Platform, test_keys: SigningKeys, tmp_path: Path
) -> None:
    operator = test_keys.token(Role.OPERATOR, Role.SUPERVISOR, subject="ops-olga")
    suffix = uuid.uuid4().hex[:6]
    offices = tmp_path / "offices.yaml"
    offices.write_text(
        f"offices:\n"
        f"  - id: imp-{suffix}\n"
        f"    display_name: Import test office\n"
        f"    time_zone: Europe/Brussels\n"
        f"    facilities:\n"
        f"      - id: shed\n"
        f"        display_name: Shed\n"
        f"        daily_capacities: [{{channel: RED, examination_level: ENFORCEMENT,"
        f" examinations_per_day: 3}}]\n"
    )
    officers = tmp_path / "officers.csv"
    officers.write_text(
        "id,display_name,badge_number,office,role,subject\n"
        f"o-{suffix},Olga,B-{suffix},imp-{suffix},INSPECTOR,olga-{suffix}\n"
    )
    shifts = tmp_path / "shifts.yaml"
    shifts.write_text(
        f"- {{officer: o-{suffix}, start_time: '2030-01-02T08:00:00Z',"
        f" end_time: '2030-01-02T16:00:00Z'}}\n"
    )

    first = [
        customs(platform, operator, group, "import", str(path))
        for group, path in (("offices", offices), ("officers", officers), ("shifts", shifts))
    ]
    again = [
        customs(platform, operator, group, "import", str(path))
        for group, path in (("offices", offices), ("officers", officers), ("shifts", shifts))
    ]

    assert [r.exit_code for r in first + again] == [0] * 6, [r.output for r in first + again]
    assert "offices: 1 created" in first[0].stdout
    assert "facilities: 1 created" in first[0].stdout
    assert "officers: 1 created" in first[1].stdout
    assert "shifts: 1 created" in first[2].stdout
    assert "0 created, 0 updated, 1 unchanged" in again[0].stdout
    assert "officers: 0 created, 0 updated, 1 unchanged" in again[1].stdout
    assert "shifts: 0 created, 0 updated, 1 unchanged" in again[2].stdout

    officers.write_text(officers.read_text().replace("Olga,", "Olga Petrova,"))
    changed = customs(platform, operator, "officers", "import", str(officers))
    assert "officers: 0 created, 1 updated, 0 unchanged" in changed.stdout
    listed = customs(
        platform, operator, "officers", "list", "--office", f"imp-{suffix}", "-o", "csv"
    )
    assert rows(listed.stdout) == [
        {
            "name": f"officers/o-{suffix}",
            "display_name": "Olga Petrova",
            "office": f"offices/imp-{suffix}",
            "role": "INSPECTOR",
            "subject": f"olga-{suffix}",
            "active": "true",
        }
    ]
    offices_json = json.loads(customs(platform, operator, "offices", "list", "-o", "json").stdout)
    assert {"name": f"offices/imp-{suffix}", "timeZone": "Europe/Brussels"}.items() <= next(
        o for o in offices_json if o["name"] == f"offices/imp-{suffix}"
    ).items()
    shift_rows = rows(
        customs(
            platform, operator, "shifts", "list", "--officer", f"o-{suffix}", "-o", "csv"
        ).stdout
    )
    assert [(r["office"], r["start_time"]) for r in shift_rows] == [
        (f"offices/imp-{suffix}", "2030-01-02T08:00:00Z")
    ]


def test_a_criterion_goes_from_draft_to_retired_with_four_eyes_and_an_intact_history(
    platform: Platform, test_keys: SigningKeys, tmp_path: Path
) -> None:
    analyst = test_keys.token(Role.ANALYST, subject="analyst-ana")
    supervisor = test_keys.token(Role.SUPERVISOR, Role.RMC, subject="supervisor-sam")
    suffix = uuid.uuid4().hex[:6]
    assert (
        customs(
            platform,
            analyst,
            "profiles",
            "draft",
            str(_EXAMPLES / "profile.yaml"),
            "--id",
            f"p-{suffix}",
        ).exit_code
        == 0
    )
    criterion = tmp_path / "criterion.yaml"
    criterion.write_text(
        (_EXAMPLES / "criterion.yaml")
        .read_text()
        .replace("riskProfiles/tobacco", f"riskProfiles/p-{suffix}")
        .replace('["2402"]', '["970110"]')
    )
    name = f"c-{suffix}"

    drafted = customs(platform, analyst, "criteria", "draft", str(criterion), "--id", name)
    redrafted = customs(platform, analyst, "criteria", "draft", str(criterion), "--id", name)
    submitted = customs(platform, analyst, "criteria", "submit", name)
    impact = customs(platform, analyst, "criteria", "impact", name, "--lookback-days", "7")
    own = customs(
        platform,
        test_keys.token(Role.ANALYST, Role.RMC, subject="analyst-ana"),
        "criteria",
        "approve",
        name,
    )
    approved = customs(platform, supervisor, "criteria", "approve", name)

    assert drafted.exit_code == redrafted.exit_code == submitted.exit_code == 0
    assert f"criteria/{name}/impactAnalyses/" in impact.stdout
    assert own.exit_code == 1
    assert "SELF_APPROVAL" in own.stderr
    assert approved.exit_code == 0, approved.output
    active = rows(
        customs(platform, analyst, "criteria", "list", "--state", "ACTIVE", "-o", "csv").stdout
    )
    assert {
        "name": f"criteria/{name}",
        "state": "ACTIVE",
        "channel": "RED",
        "author": "analyst-ana",
    }.items() <= next(r for r in active if r["name"] == f"criteria/{name}").items()

    for verb in ("suspend", "reactivate", "retire"):
        result = customs(platform, supervisor, "criteria", verb, name, "--reason", f"test {verb}")
        assert result.exit_code == 0, result.output
    shown = json.loads(customs(platform, analyst, "criteria", "show", name).stdout)
    assert shown["state"] == "CRITERION_STATE_RETIRED"
    history = rows(
        customs(platform, analyst, "criteria", "history", "list", name, "-o", "csv").stdout
    )
    assert [r["change"] for r in history] == [
        "CREATED",
        "SUBMITTED",
        "APPROVED",
        "SUSPENDED",
        "REACTIVATED",
        "RETIRED",
    ]
    assert [r["actor"] for r in history][:3] == ["analyst-ana", "analyst-ana", "supervisor-sam"]
    verified = customs(platform, supervisor, "criteria", "history", "verify")
    assert verified.exit_code == 0
    assert "history intact" in verified.stdout


def test_named_lists_are_drafted_listed_and_shown(
    platform: Platform, test_keys: SigningKeys, tmp_path: Path
) -> None:
    analyst = test_keys.token(Role.ANALYST, subject="analyst-ana")
    suffix = uuid.uuid4().hex[:6]
    named_list = tmp_path / "list.yaml"
    named_list.write_text(
        "title: Watched importers\nkind: COMPANIES\n"
        "entries: [{value: QLRUBN9, note: seizure 2025}]\n"
    )

    drafted = customs(platform, analyst, "lists", "draft", str(named_list), "--id", f"l-{suffix}")
    listed = rows(customs(platform, analyst, "lists", "list", "-o", "csv").stdout)
    shown = json.loads(customs(platform, analyst, "lists", "show", f"l-{suffix}").stdout)

    assert drafted.exit_code == 0, drafted.output
    assert {"name": f"namedLists/l-{suffix}", "kind": "COMPANIES"}.items() <= next(
        r for r in listed if r["name"] == f"namedLists/l-{suffix}"
    ).items()
    assert shown["entries"] == [{"value": "QLRUBN9", "note": "seizure 2025"}]


def test_assess_writes_one_decision_per_declaration(
    platform: Platform, test_keys: SigningKeys, tmp_path: Path
) -> None:
    token = test_keys.token(Role.DECLARATION_SYSTEM, subject="asycuda")
    number = str(70_000_000 + uuid.uuid4().int % 1_000_000)
    out = tmp_path / "decisions.csv"

    result = customs(
        platform,
        token,
        "assess",
        str(declaration_csv(tmp_path / "in.csv", number, "940350")),
        "--out",
        str(out),
    )

    assert result.exit_code == 0, result.output
    lines = out.read_text().splitlines()
    assert lines[0] == ",".join(DECISIONS_HEADER)
    decision = rows(out.read_text())
    assert len(decision) == 1
    assert decision[0]["Declaration ID"] == number
    assert decision[0]["channel"] in {"GREEN", "YELLOW", "RED", "BLUE"}
    assert decision[0]["score"] == ""


@pytest.mark.parametrize(
    ("broken", "message"),
    [
        ("missing-column", "missing column 'Item Price'"),
        ("non-numeric-price", "line 2: column 'Item Price' is not a number: 'ten'"),
    ],
)
def test_assess_refuses_a_broken_csv_and_sends_nothing(
    platform: Platform, test_keys: SigningKeys, tmp_path: Path, broken: str, message: str
) -> None:
    token = test_keys.token(Role.DECLARATION_SYSTEM, Role.ANALYST, subject="asycuda")
    number = str(71_000_000 + uuid.uuid4().int % 1_000_000)
    path = declaration_csv(
        tmp_path / "in.csv",
        number,
        "940350",
        price="ten" if broken == "non-numeric-price" else "1.0",
    )
    if broken == "missing-column":
        table = list(csv.reader(io.StringIO(path.read_text())))
        cut = table[0].index("Item Price")
        path.write_text("\n".join(",".join(r[:cut] + r[cut + 1 :]) for r in table) + "\n")

    result = customs(platform, token, "assess", str(path), "--out", str(tmp_path / "d.csv"))

    assert result.exit_code == 2
    assert message in result.stderr
    with CustomsClient(token=token, addresses=_client_addresses(platform)) as client:
        stored = client.scoring.ListAssessments(
            scoring_service_pb2.ListAssessmentsRequest(declaration_number=number)
        )
    assert list(stored.assessments) == []


def _client_addresses(platform: Platform) -> dict[str, str]:
    return {
        variable.removeprefix("CUSTOMS_").removesuffix("_ADDR").lower(): address
        for variable, address in addresses(platform).items()
    }


def test_random_rates_and_capacity_policies_are_set_and_listed(
    platform: Platform, test_keys: SigningKeys, tmp_path: Path
) -> None:
    rmc = test_keys.token(Role.RMC, Role.SUPERVISOR, Role.ANALYST, subject="rmc-rita")
    office = f"r{uuid.uuid4().hex[:6]}"
    rate = tmp_path / "rate.yaml"
    rate.write_text(
        f"office_code: {office}\nprocedure_code: B\ndocument_review_percent: 2.5\n"
        "physical_examination_percent: 1\nphysical_examination_level: ENFORCEMENT\n"
    )
    policy = tmp_path / "policy.yaml"
    policy.write_text(
        "rules: [{selected_channel: RED, utilisation_percent: 90, min_priority: 50,"
        " downgrade_to: YELLOW, documents_to_check: [{document_type_code: N380,"
        " description: Commercial invoice}]}]\ndowngrade_random_examinations: true\n"
    )

    set_rate = customs(platform, rmc, "rates", "set", str(rate), "--reason", "pilot")
    set_policy = customs(platform, rmc, "capacity", "set", office, str(policy))
    set_again = customs(platform, rmc, "capacity", "set", office, str(policy))

    assert set_rate.exit_code == set_policy.exit_code == set_again.exit_code == 0, (
        set_rate.output + set_policy.output + set_again.output
    )
    listed = rows(customs(platform, rmc, "rates", "list", "--office", office, "-o", "csv").stdout)
    assert [(r["office"], r["procedure"], r["document %"], r["level"]) for r in listed] == [
        (office, "B", "2.5", "ENFORCEMENT")
    ]
    shown = json.loads(customs(platform, rmc, "capacity", "show", office).stdout)
    assert shown["rules"][0]["downgradeTo"] == "CHANNEL_YELLOW"
    assert shown["revision"] == "2"
    policies = rows(customs(platform, rmc, "capacity", "list", "-o", "csv").stdout)
    assert f"capacityPolicies/{office}" in [p["name"] for p in policies]


def test_a_referral_is_listed_shown_and_declined(
    platform: Platform, test_keys: SigningKeys
) -> None:
    auditor = test_keys.token(Role.AUDITOR, Role.SUPERVISOR, subject="auditor-alf")
    trader = f"traders/T{uuid.uuid4().hex[:8]}"
    with CustomsClient(token=auditor, addresses=_client_addresses(platform)) as client:
        created = client.audit_referral.CreateReferral(
            audit_referral_service_pb2.CreateReferralRequest(
                request_id=str(uuid.uuid4()),
                referral=referral_pb2.Referral(
                    source=referral_pb2.REFERRAL_SOURCE_MANUAL,
                    trader=trader,
                    reason="Undervaluation pattern seen in three declarations.",
                    priority=referral_pb2.REFERRAL_PRIORITY_NORMAL,
                ),
            )
        ).referral

    listed = rows(
        customs(platform, auditor, "referrals", "list", "--state", "OPEN", "-o", "csv").stdout
    )
    shown = json.loads(customs(platform, auditor, "referrals", "show", created.name).stdout)
    declined = customs(
        platform,
        auditor,
        "referrals",
        "decline",
        created.name,
        "--reason",
        "Already under audit elsewhere.",
    )

    assert {"name": created.name, "trader": trader, "state": "OPEN"}.items() <= next(
        r for r in listed if r["name"] == created.name
    ).items()
    assert shown["trader"] == trader
    assert declined.exit_code == 0, declined.output
    after = json.loads(customs(platform, auditor, "referrals", "show", created.name).stdout)
    assert after["state"] == "REFERRAL_STATE_DECLINED"


def test_the_oversight_report_is_written_as_text_csv_and_charts(
    platform: Platform, test_keys: SigningKeys, tmp_path: Path
) -> None:
    rmc = test_keys.token(Role.RMC, subject="rmc-rita")

    result = customs(
        platform,
        rmc,
        "report",
        "oversight",
        "--month",
        "2026-11",
        "--out",
        str(tmp_path / "report"),
    )
    refused = customs(
        platform,
        rmc,
        "report",
        "oversight",
        "--month",
        "November",
        "--out",
        str(tmp_path / "report"),
    )

    assert result.exit_code == 0, result.output
    written = sorted(p.name for p in (tmp_path / "report").iterdir())
    charts = ("capacity_use", "channel_mix", "compliance_by_segment", "hit_rates", "model_ranking")
    assert [n for n in written if n.endswith((".png", ".svg"))] == [
        f"{chart}.{suffix}" for chart in charts for suffix in ("png", "svg")
    ]
    assert {Path(n).suffix for n in written} == {".csv", ".txt", ".png", ".svg"}
    assert all(p.stat().st_size > 0 for p in (tmp_path / "report").iterdir())
    assert refused.exit_code == 2
    assert "expected YYYY-MM" in refused.stderr


def test_a_returned_report_goes_back_to_its_officer(
    platform: Platform, test_keys: SigningKeys, tmp_path: Path
) -> None:
    suffix = uuid.uuid4().hex[:6]
    analyst = test_keys.token(*_HUMAN_ROLES, subject=f"insp-{suffix}")
    supervisor = test_keys.token(*_HUMAN_ROLES, subject=f"sup-{suffix}")
    office = f"ret-{suffix}"
    offices = tmp_path / "offices.yaml"
    offices.write_text(f"- {{id: {office}, display_name: Return test, time_zone: UTC}}\n")
    officers = tmp_path / "officers.csv"
    officers.write_text(
        "id,display_name,badge_number,office,role,subject\n"
        f"i-{suffix},Inspector,BI-{suffix},{office},INSPECTOR,insp-{suffix}\n"
        f"s-{suffix},Supervisor,BS-{suffix},{office},SUPERVISOR,sup-{suffix}\n"
    )
    shifts = tmp_path / "shifts.csv"
    today = datetime.now(UTC).date().isoformat()
    shifts.write_text(
        f"officer,start_time,end_time\ni-{suffix},{today}T00:00:00Z,{today}T23:59:59Z\n"
    )
    hs_code = "9301" + str(uuid.uuid4().int % 90 + 10)
    criterion = tmp_path / "criterion.yaml"
    criterion.write_text(
        (_EXAMPLES / "criterion.yaml")
        .read_text()
        .replace("riskProfiles/tobacco", f"riskProfiles/p{suffix}")
        .replace('["2402"]', f'["{hs_code}"]')
    )
    number = str(72_000_000 + uuid.uuid4().int % 1_000_000)
    declarations = declaration_csv(tmp_path / "in.csv", number, hs_code)
    declarations.write_text(declarations.read_text().replace(",30,B,", f",{office},B,"))
    steps = [
        (analyst, "offices", "import", str(offices)),
        (analyst, "officers", "import", str(officers)),
        (analyst, "shifts", "import", str(shifts)),
        (analyst, "profiles", "draft", str(_EXAMPLES / "profile.yaml"), "--id", f"p{suffix}"),
        (analyst, "criteria", "draft", str(criterion), "--id", f"r{suffix}"),
        (analyst, "criteria", "submit", f"r{suffix}"),
        (analyst, "criteria", "impact", f"r{suffix}"),
        (supervisor, "criteria", "approve", f"r{suffix}"),
    ]
    for token, *arguments in steps:
        result = customs(platform, token, *arguments)
        assert result.exit_code == 0, (arguments, result.output)

    def task() -> str | None:
        customs(platform, analyst, "assess", str(declarations), "--out", str(tmp_path / "d.csv"))
        found = rows(customs(platform, analyst, "examinations", "my-tasks", "-o", "csv").stdout)
        return next((r["name"] for r in found if r["declaration"] == number), None)

    # The criterion reaches scoring over its watch stream, the task exam_reports
    # through the outbox: both asynchronous. A repeated assessment is idempotent.
    name = eventually(task, timeout=60)
    for token, *arguments in [
        (analyst, "examinations", "start", name),
        (analyst, "examinations", "submit", name, str(_EXAMPLES / "report.yaml")),
        (
            supervisor,
            "examinations",
            "return",
            name,
            "--reason",
            "State the seal number in the intelligence box.",
            "--field",
            "intelligence_information",
        ),
    ]:
        result = customs(platform, token, *arguments)
        assert result.exit_code == 0, (arguments, result.output)

    own_return = customs(platform, analyst, "examinations", "approve", name)
    reports = rows(
        customs(
            platform, supervisor, "examinations", "reports", "--office", office, "-o", "csv"
        ).stdout
    )
    mine = rows(customs(platform, analyst, "examinations", "my-tasks", "-o", "csv").stdout)

    assert own_return.exit_code == 1
    assert "NOT_A_SUPERVISOR" in own_return.stderr
    assert [(r["declaration"], r["state"]) for r in reports] == [(number, "RETURNED")]
    assert [r["state"] for r in mine if r["name"] == name] == ["RETURNED"]


def test_traders_are_created_listed_shown_and_ranked(
    platform: Platform, test_keys: SigningKeys, tmp_path: Path
) -> None:
    token = everyone(test_keys, subject="compliance-carla")
    trader = f"T{uuid.uuid4().hex[:8]}"
    file = tmp_path / "trader.yaml"
    file.write_text("display_name: Acme Imports NV\nroles: [IMPORTER]\ncountry: BE\n")

    created = customs(platform, token, "traders", "create", str(file), "--id", trader)
    again = customs(platform, token, "traders", "create", str(file), "--id", trader)
    listed = json.loads(
        customs(platform, token, "traders", "list", "--name-prefix", "Acme", "-o", "json").stdout
    )
    shown = json.loads(customs(platform, token, "traders", "show", trader).stdout)
    ranked = customs(
        platform, token, "traders", "rankings", "--metric", "DECLARATION_COUNT", "-o", "csv"
    )
    commodities = customs(platform, token, "traders", "commodity-rankings", "-o", "table")
    wrong = customs(platform, token, "traders", "rankings", "--metric", "BEAUTY")

    assert created.exit_code == 0, created.output
    assert f"traders/{trader} created" in created.stdout
    assert again.exit_code == 0, again.output
    assert [t["name"] for t in listed].count(f"traders/{trader}") == 1
    assert (shown["displayName"], shown["roles"]) == ("Acme Imports NV", ["TRADER_ROLE_IMPORTER"])
    assert ranked.exit_code == 0, ranked.output
    assert rows(ranked.stdout) == [] or "rank" in rows(ranked.stdout)[0]
    assert ranked.stdout.startswith("rank,trader,display name")
    assert commodities.exit_code == 0, commodities.output
    assert wrong.exit_code == 2
    assert "--metric BEAUTY: not one of" in wrong.stderr


def test_a_compliance_measurement_is_created_published_and_its_rates_listed(
    platform: Platform, test_keys: SigningKeys, tmp_path: Path
) -> None:
    analyst = everyone(test_keys, subject="analyst-measure")
    approver = everyone(test_keys, subject="approver-measure")
    title = f"Importers, first quarter {uuid.uuid4().hex[:6]}"
    file = tmp_path / "measurement.yaml"
    file.write_text(
        f"title: {title}\ndimension: IMPORTER\nareas: [REVENUE]\n"
        "sources: [RANDOM_EXAMINATION]\nstart_date: '2021-01-01'\nend_date: '2021-03-31'\n"
        "tolerance_level: 0.9\nconfidence_level: 0.95\nmin_sample_size: 5\n"
    )

    created = customs(platform, analyst, "measurements", "create", str(file))
    listed = rows(customs(platform, analyst, "measurements", "list", "-o", "csv").stdout)
    name = next(r["name"] for r in listed if r["title"] == title)
    published = customs(platform, approver, "measurements", "publish", name)
    shown = json.loads(customs(platform, analyst, "measurements", "show", name).stdout)
    rates = customs(platform, analyst, "measurements", "rates", name, "-o", "json")

    assert created.exit_code == 0, created.output
    assert published.exit_code == 0, published.output
    assert f"{name} published" in published.stdout
    assert shown["state"] == "COMPLIANCE_MEASUREMENT_STATE_PUBLISHED"
    assert rates.exit_code == 0, rates.output
    assert isinstance(json.loads(rates.stdout), list)


def test_a_sampling_plan_is_refused_without_population_then_created_listed_and_shown(
    platform: Platform, test_keys: SigningKeys, tmp_path: Path
) -> None:
    token = everyone(test_keys, subject="analyst-sampling")
    title = f"Plan {uuid.uuid4().hex[:6]}"

    def plan(first: str, last: str) -> Path:
        file = tmp_path / f"plan-{first}.yaml"
        file.write_text(
            f"title: {title}\ndimension: OFFICE\nbase_start_date: '{first}'\n"
            f"base_end_date: '{last}'\nconfidence_level: 0.95\nprior_compliance_rate: 0.8\n"
            "margin_of_error: 0.05\n"
        )
        return file

    empty = customs(
        platform, token, "sampling-plans", "create", str(plan("2001-01-01", "2001-01-31"))
    )
    number = str(71_000_000 + uuid.uuid4().int % 1_000_000)
    declarations = declaration_csv(tmp_path / "in.csv", number, "940350")
    lodger = test_keys.token(Role.DECLARATION_SYSTEM, subject="asycuda")
    customs(platform, lodger, "assess", str(declarations), "--out", str(tmp_path / "out.csv"))
    # Compliance learns the lodgement from scoring's event, a moment later.
    created = eventually(
        lambda: (
            r
            if (
                r := customs(
                    platform,
                    token,
                    "sampling-plans",
                    "create",
                    str(plan("2021-04-01", "2021-04-01")),
                )
            ).exit_code
            == 0
            else None
        ),
        timeout=30,
    )
    listed = rows(customs(platform, token, "sampling-plans", "list", "-o", "csv").stdout)
    name = next(r["name"] for r in listed if r["title"] == title)
    shown = json.loads(customs(platform, token, "sampling-plans", "show", name).stdout)

    assert empty.exit_code == 1
    assert "EMPTY_POPULATION" in empty.stderr
    assert "sampling_plan.base_start_date" in empty.stderr
    assert f"{name} created" in created.stdout
    assert int(shown["plannedSampleSize"]) > 0


def test_an_intervention_is_opened_listed_shown_and_cancelled(
    platform: Platform, test_keys: SigningKeys, tmp_path: Path
) -> None:
    token = everyone(test_keys, subject="compliance-ivo")
    trader = f"T{uuid.uuid4().hex[:8]}"
    (tmp_path / "trader.yaml").write_text("display_name: Shirts BV\nroles: [IMPORTER]\n")
    customs(platform, token, "traders", "create", str(tmp_path / "trader.yaml"), "--id", trader)
    file = tmp_path / "intervention.yaml"
    file.write_text(
        f"trader: traders/{trader}\ntrader_role: IMPORTER\ntrigger: MANUAL\n"
        "areas: [DOCUMENTARY]\n"
        "error_pattern: Knitted shirts declared as woven in most March declarations.\n"
        "evidence: [examReports/R1]\n"
    )

    opened = customs(platform, token, "interventions", "create", str(file))
    listed = json.loads(
        customs(platform, token, "interventions", "list", "--trader", trader, "-o", "json").stdout
    )
    [intervention] = listed
    shown = json.loads(
        customs(platform, token, "interventions", "show", intervention["name"]).stdout
    )
    effect = customs(platform, token, "interventions", "effect", intervention["name"])
    cancelled = customs(
        platform,
        token,
        "interventions",
        "cancel",
        intervention["name"],
        "--reason",
        "The trader closed its import business.",
    )

    assert opened.exit_code == 0, opened.output
    assert shown["trader"] == f"traders/{trader}"
    assert effect.exit_code == 1
    assert "INTERVENTION_NOT_CLOSED" in effect.stderr
    assert cancelled.exit_code == 0, cancelled.output
    assert f"{intervention['name']} cancelled" in cancelled.stdout


def test_an_audit_case_is_opened_listed_and_shown(
    platform: Platform, test_keys: SigningKeys, tmp_path: Path
) -> None:
    auditor = test_keys.token(Role.AUDITOR, Role.SUPERVISOR, subject="auditor-ada")
    trader = f"T{uuid.uuid4().hex[:8]}"
    file = tmp_path / "case.yaml"
    file.write_text(
        f"trader: traders/{trader}\ntrader_display_name: Textiles Ltd\n"
        "selection_basis: SPECIFIC_DECLARATION\n"
        "scope: Valuation of the 2024 imports from the licensor, royalties included.\n"
        "audit_period_start_date: '2024-01-01'\naudit_period_end_date: '2024-12-31'\n"
        "announced: true\nnotice_time: '2025-03-10T00:00:00Z'\n"
        "planned_start_date: '2025-04-01'\nlead_auditor: aud-1\nteam: [aud-2]\n"
    )

    opened = customs(platform, auditor, "audit-cases", "create", str(file))
    listed = rows(
        customs(platform, auditor, "audit-cases", "list", "--trader", trader, "-o", "csv").stdout
    )
    [case] = listed
    shown = json.loads(customs(platform, auditor, "audit-cases", "show", case["name"]).stdout)

    assert opened.exit_code == 0, opened.output
    assert f"{case['name']} opened" in opened.stdout
    assert case["trader"] == f"traders/{trader}"
    assert shown["scope"].startswith("Valuation of the 2024 imports")


def test_overrides_are_listed_and_a_broken_request_is_refused_naming_the_field(
    platform: Platform, test_keys: SigningKeys, tmp_path: Path
) -> None:
    token = everyone(test_keys, subject="insp-over")
    file = tmp_path / "override.yaml"
    file.write_text("declaration_number: D-1\nreason: short\n")

    listed = customs(platform, token, "examinations", "overrides", "list", "-o", "json")
    refused = customs(platform, token, "examinations", "overrides", "request", str(file))

    assert listed.exit_code == 0, listed.output
    assert isinstance(json.loads(listed.stdout), list)
    assert refused.exit_code == 1
    assert "INVALID_ARGUMENT" in refused.stderr
    assert "field override." in refused.stderr


def test_the_disparity_report_and_the_oversight_section_come_from_scoring_decisions(
    platform: Platform, test_keys: SigningKeys, tmp_path: Path
) -> None:
    asycuda = test_keys.token(Role.DECLARATION_SYSTEM, subject="asycuda")
    analyst = test_keys.token(Role.ANALYST, Role.RMC, subject="analyst-ana")
    # A month no other test lodges in, so the counts are this test's own.
    lodged = tmp_path / "june.csv"
    declaration_csv(lodged, str(80_000_000 + uuid.uuid4().int % 1_000_000), "940350")
    header, row = lodged.read_text().splitlines()
    numbers = [str(81_000_000 + uuid.uuid4().int % 1_000_000 + n) for n in range(3)]
    lines = [
        row.replace(row.split(",")[0], n, 1).replace("2021-04-01", "2019-06-03") for n in numbers
    ]
    lodged.write_text("\n".join([header, *lines]) + "\n")
    assessed = customs(platform, asycuda, "assess", str(lodged), "--out", str(tmp_path / "d.csv"))
    out = tmp_path / "disparity.csv"

    result = customs(
        platform,
        analyst,
        "report",
        "disparity",
        "--month",
        "2019-06",
        "--out",
        str(out),
        "--charts",
        str(tmp_path / "charts"),
    )
    oversight = customs(
        platform, analyst, "report", "oversight", "--month", "2019-06", "--out", str(tmp_path / "o")
    )

    assert assessed.exit_code == 0, assessed.output
    assert result.exit_code == 0, result.output
    assert "2019-06: 3 declarations, 0 random-examination outcomes, 0 flagged" in result.output
    written = rows(out.read_text())
    assert list(written[0]) == list(DISPARITY_COLUMNS)
    whole = [r for r in written if r["selector"] == "selection" and r["dimension"] == "office"]
    assert [(r["segment"], r["declarations"], r["tested"]) for r in whole] == [("30", "3", "false")]
    assert (tmp_path / "charts" / "disparity.png").is_file()
    assert oversight.exit_code == 0, oversight.output
    (text,) = (tmp_path / "o").glob("*.txt")
    section = text.read_text().split("6. Disparity")[1]
    assert "3 declarations, 0 random-examination outcomes" in section
