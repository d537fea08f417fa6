"""The scoring process: ``main`` reads the settings, ``bootstrap`` wires the application."""

from __future__ import annotations

import functools
from typing import Any

import structlog
from customs.scoring.v1 import scoring_service_pb2, scoring_service_pb2_grpc

from customs_kit.background import PeriodicTask
from customs_kit.db import Database
from customs_kit.migrations import run_migrations
from customs_kit.pagination import PageTokens
from customs_kit.peers import Peers
from customs_kit.server import (
    Application,
    BackgroundTask,
    ServiceRegistration,
    run_service,
    settings_or_exit,
)
from customs_kit.settings import ServiceSettings
from customs_kit.watch import OpenWatch, WatchApplier, WatchFollower
from scoring.entrypoints.capacity_watch import OfficeCapacityApplier, office_capacity_stream
from scoring.entrypoints.criteria_watch import StreamApplier, criteria_stream
from scoring.entrypoints.options import ScoringOptions
from scoring.entrypoints.servicer import ScoringServicer
from scoring.entrypoints.trader_watch import ProfileApplier, trader_profile_stream
from scoring.entrypoints.trainer import run_training
from scoring.service_layer.capacity import (
    CapacityLimits,
    CapacityPoliciesHolder,
    OfficeCapacityHolder,
    load_office_capacity,
)
from scoring.service_layer.random_rates import RandomInputs, RandomRatesHolder
from scoring.service_layer.risk_scoring import RiskModelHolder, load_journaled_model
from scoring.service_layer.rules import RulesHolder, load_journaled_rules
from scoring.service_layer.trader_profiles import TraderProfilesHolder, load_approved_traders
from scoring.service_layer.training import TrainerProcesses, fail_interrupted_trainings

SERVICE_NAME = "scoring"
DEFAULT_PORT = 50051
MIGRATIONS = "scoring:migrations"
#: The peers that receive scoring's events (the outbox destinations).
EVENT_DESTINATIONS = ("exam-reports", "compliance", "audit-referral", "criteria")

_log = structlog.get_logger(__name__)


async def bootstrap(settings: ServiceSettings, options: ScoringOptions) -> Application:
    """Builds the scoring application: database, rules, outbox relay, criteria watch.

    The rules journaled, the approved traders and the office capacity stored
    by an earlier run are loaded first, so a restarted process assesses at
    once with the last rules, statuses and capacity it received and resumes
    each stream from their revision.
    """
    if settings.run_migrations_on_start:
        run_migrations(settings.database_url, MIGRATIONS)
    database = Database(settings.database_url)
    peers = Peers(settings)
    await fail_interrupted_trainings(database)
    trainers = TrainerProcesses(database, settings.database_url, run_training)
    rules = RulesHolder()
    risk_models = RiskModelHolder()
    await load_journaled_model(database, risk_models)
    applier = StreamApplier(
        database, rules, await load_journaled_rules(database, rules) or 0, risk_models
    )
    for message in options.initial_rules:
        await applier.apply(message)
    capacity_policies = CapacityPoliciesHolder()
    await capacity_policies.reload(database)
    offices = OfficeCapacityHolder(required=options.watch_office_capacity)
    offices_revision = await load_office_capacity(database, offices)
    capacity_limits = CapacityLimits(capacity_policies, offices)
    background: list[BackgroundTask] = [
        peers.outbox_relay(database, EVENT_DESTINATIONS),
        # Rates and policies changed through another replica are reloaded from the journal.
        PeriodicTask(
            "capacity-policy-reload",
            options.capacity_policy_reload_seconds,
            functools.partial(capacity_policies.reload, database),
        ),
    ]
    random_inputs = RandomInputs(RandomRatesHolder(), TraderProfilesHolder())
    await random_inputs.rates.reload(database)
    traders_revision = await load_approved_traders(database, random_inputs.traders)
    background.append(
        PeriodicTask(
            "random-rates-reload",
            options.random_rates_reload_seconds,
            functools.partial(random_inputs.rates.reload, database),
        )
    )

    def follow(name: str, open_watch: OpenWatch[Any], stream: WatchApplier[Any]) -> BackgroundTask:
        return WatchFollower(
            name,
            open_watch,
            stream,
            peers.metadata,
            retry_base_seconds=options.watch_retry_base_seconds,
            retry_cap_seconds=options.watch_retry_cap_seconds,
        )

    if options.watch_trader_profiles:
        traders = ProfileApplier(database, random_inputs.traders, traders_revision)
        background.append(
            follow("trader-watch", trader_profile_stream(peers.channel("compliance")), traders)
        )
    if options.watch_criteria:
        background.append(
            follow("criteria-watch", criteria_stream(peers.channel("criteria")), applier)
        )
    if options.watch_office_capacity:
        capacity = OfficeCapacityApplier(database, offices, offices_revision)
        background.append(
            follow(
                "office-capacity-watch",
                office_capacity_stream(peers.channel("exam-reports")),
                capacity,
            )
        )

    async def until_ready() -> None:
        # Until criteria have arrived every assessment would be refused, and until
        # office capacity has, none could be kept within it: no traffic.
        await rules.wait_until_loaded()
        await offices.wait_until_loaded()

    servicer = ScoringServicer(
        database,
        rules,
        options.selection_seed,
        PageTokens(settings.page_token_secret),
        capacity_limits,
        random_inputs,
        trainers,
        risk_models,
        relodgement_window=options.relodgement_window,
    )
    return Application(
        registrations=[
            ServiceRegistration(
                servicer,
                scoring_service_pb2_grpc.add_ScoringServiceServicer_to_server,
                scoring_service_pb2.DESCRIPTOR.services_by_name["ScoringService"],
            )
        ],
        background=background,
        # Reversed at shutdown: trainers are stopped first, while the database is open.
        cleanups=[peers.close, database.dispose, trainers.close],
        until_ready=until_ready,
        database=database,
        resources={
            "database": database,
            "rules": rules,
            "capacity": capacity_limits,
            "random": random_inputs,
            "risk_models": risk_models,
        },
    )


def main() -> None:
    """Runs the scoring service until SIGTERM."""
    options = settings_or_exit(ScoringOptions.from_env)
    run_service(SERVICE_NAME, DEFAULT_PORT, functools.partial(bootstrap, options=options))


if __name__ == "__main__":
    main()
