"""Crash safety, proven: SIGKILL each service mid-stream, restart PostgreSQL under load.

All five services run as processes on PostgreSQL. A declaration system lodges
a bulk stream (``AssessDeclarations``) and resends what was not answered when
the stream breaks or a declaration is answered UNAVAILABLE; meanwhile each
service in turn is killed with SIGKILL and started again on the same database
and port. Officers then report on some examinations while criteria and
compliance, who receive the outcomes, are killed as well. Once the outboxes
have drained, every effect is counted in the services' databases: each
decision assessed once, each YELLOW/RED decision has one examination task,
each decision one compliance record, each BLUE decision one audit referral,
each approved report's outcome is in criteria and compliance once.

CI runs a 2,000-declaration stream with all five kills in it;
``make chaos`` sets CHAOS_DECLARATIONS=10000 and CHAOS_STREAM_PER_KILL=1 (one
10,000-declaration stream per killed service) and prints the figures.
"""

from __future__ import annotations

import os
import threading
import time
import traceback
from collections.abc import Iterator, Sequence

import pytest
from chaos_support import (
    Databases,
    Effects,
    Lodgement,
    Office,
    activate_criteria,
    effects_of,
    examine_and_approve,
    lodge_in_bulk,
    open_office,
    task_of,
)
from private_postgres import PrivatePostgres
from process_platforms import platform_of_processes, restart_service
from run_platform import SERVICES, Platform

from customs_kit.testing.services import SigningKeys

# Starting five services and setting up an office takes most of the time on a
# busy machine; the default per-test timeout is for tests that do neither.
pytestmark = [pytest.mark.postgres, pytest.mark.e2e, pytest.mark.timeout(1800)]

SIZE = int(os.environ.get("CHAOS_DECLARATIONS", "2000"))
STREAM_PER_KILL = os.environ.get("CHAOS_STREAM_PER_KILL") == "1"
#: Approved reports whose outcomes must reach criteria and compliance.
REPORTS = 4


@pytest.fixture(scope="module")
def office(
    test_keys: SigningKeys,
    tmp_path_factory: pytest.TempPathFactory,
    postgres_server: PrivatePostgres,
) -> Iterator[Office]:
    """The platform on the chaos tests' PostgreSQL, an office open and criteria active.

    Shared by both trials: each lodges declarations of its own and counts only those.
    """
    with platform_of_processes(
        test_keys,
        tmp_path_factory.mktemp("chaos-platform"),
        postgres_server=postgres_server.url("postgres"),
        # Five services migrating their databases at once, on a machine shared with
        # the rest of the suite.
        startup_timeout=240,
    ) as running:
        working = Office(running, test_keys)
        open_office(working)
        activate_criteria(working)
        yield working
        working.close()


class Killer(threading.Thread):
    """Kills (and restarts) each victim once the lodger has ``at[i]`` answers."""

    def __init__(self, platform: Platform, victims: Sequence[str], at: Sequence[int]) -> None:
        super().__init__(daemon=True)
        self._platform = platform
        self._plan = list(zip(victims, at, strict=True))
        self._answers = 0
        self._progress = threading.Condition()
        self.recovery: dict[str, float] = {}
        self.error: BaseException | None = None

    def answered(self, count: int) -> None:
        with self._progress:
            self._answers = count
            self._progress.notify_all()

    def run(self) -> None:
        try:
            for victim, threshold in self._plan:
                with self._progress:
                    self._progress.wait_for(lambda t=threshold: self._answers >= t)
                self.recovery[victim] = restart_service(self._platform, victim)
        except BaseException as error:  # reported by the test's thread
            traceback.print_exc()
            self.error = error


def lodge_while_killing(office: Office, prefix: str, victims: Sequence[str]) -> Lodgement:
    numbers = [f"CHAOS-{prefix}-{i:06d}" for i in range(SIZE)]
    at = [SIZE * (k + 1) // (len(victims) + 1) for k in range(len(victims))]
    killer = Killer(office.platform, victims, at)
    killer.start()
    lodged = lodge_in_bulk(office, numbers, on_answer=killer.answered, failed=lambda: killer.error)
    # The last restart can still be under way when the last declaration is answered.
    killer.join(timeout=600)
    assert killer.error is None, killer.error
    assert set(killer.recovery) == set(victims), "a kill did not happen"
    lodged.recovery = killer.recovery
    assert set(lodged.channels) == set(numbers), "a declaration was never decided"
    return lodged


def report_while_killing(office: Office, channels: dict[str, str]) -> list[str]:
    """Approves REPORTS reports, killing the outcomes' receivers halfway; their numbers."""
    red = sorted(n for n, c in channels.items() if c == "CHANNEL_RED")[:REPORTS]
    for index, number in enumerate(red):
        if index == REPORTS // 2:
            for receiver in ("criteria", "compliance"):
                restart_service(office.platform, receiver)
        examine_and_approve(office, task_of(office, number))
    return red


def print_figures(
    title: str, lodged: Lodgement, effects: Effects, recovery: dict[str, float]
) -> None:
    print(f"\n{title}: {len(lodged.channels)} declarations decided")
    print(f"  stream breaks {lodged.breaks}, answered again as already assessed {lodged.resent}")
    for kind in effects.lost:
        print(f"  {kind:<22} lost {effects.lost[kind]}  duplicated {effects.duplicated[kind]}")
    for service, seconds in recovery.items():
        print(f"  {service:<15} SERVING again {seconds:.1f} s after SIGKILL")


def test_killing_each_service_mid_stream_loses_and_duplicates_nothing(office: Office) -> None:
    victims = [service.package for service in SERVICES]
    plans = [[victim] for victim in victims] if STREAM_PER_KILL else [victims]
    channels: dict[str, str] = {}
    recovery: dict[str, float] = {}
    lodgements = []
    for number, plan in enumerate(plans):
        lodged = lodge_while_killing(office, f"{number:02d}", plan)
        channels.update(lodged.channels)
        recovery.update(lodged.recovery)
        lodgements.append(lodged)
    reported = report_while_killing(office, channels)

    databases = Databases(office.platform)
    try:
        effects = effects_of(databases, channels, reported)
        dead_letters = databases.dead_letters()
    finally:
        databases.dispose()
    total = Lodgement(
        channels=channels,
        resent=sum(x.resent for x in lodgements),
        breaks=sum(x.breaks for x in lodgements),
    )
    print_figures("SIGKILL of each service", total, effects, recovery)
    assert set(channels.values()) >= {"CHANNEL_RED", "CHANNEL_YELLOW", "CHANNEL_BLUE"}
    assert effects.lost == dict.fromkeys(effects.lost, 0), effects
    assert effects.duplicated == dict.fromkeys(effects.duplicated, 0), effects
    assert dead_letters == 0


def test_restarting_postgresql_under_load_needs_no_manual_action(
    office: Office, postgres_server: PrivatePostgres
) -> None:
    size = max(SIZE // 2, 200)
    numbers = [f"CHAOS-PG-{i:06d}" for i in range(size)]
    restarted = threading.Event()
    outage: dict[str, float] = {}

    def restart_when_halfway(count: int) -> None:
        if count >= size // 2 and not restarted.is_set():
            restarted.set()
            began = time.monotonic()
            postgres_server.stop("fast")
            time.sleep(3)
            postgres_server.start()
            outage["seconds"] = time.monotonic() - began

    lodged = lodge_in_bulk(office, numbers, on_answer=restart_when_halfway)
    assert restarted.is_set()
    databases = Databases(office.platform)
    try:
        effects = effects_of(databases, lodged.channels, [])
        dead_letters = databases.dead_letters()
    finally:
        databases.dispose()
    print_figures(f"PostgreSQL stopped for {outage['seconds']:.1f} s", lodged, effects, {})
    assert set(lodged.channels) == set(numbers)
    assert effects.lost == dict.fromkeys(effects.lost, 0), effects
    assert effects.duplicated == dict.fromkeys(effects.duplicated, 0), effects
    assert dead_letters == 0
