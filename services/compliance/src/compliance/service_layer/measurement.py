"""Compliance measurements: computed once from the evidence received, then read."""

from __future__ import annotations

import uuid
from datetime import datetime

import structlog

from compliance.adapters.repositories import (
    MeasurementFilter,
    MeasurementRepository,
    RecordRepository,
    TraderRepository,
)
from compliance.domain.measurement import (
    MEASUREMENT_NAME_PREFIX,
    ComplianceDimension,
    ComplianceMeasurement,
    ComplianceRate,
    MeasurementScope,
    ToleranceAssessment,
    measure,
    new_measurement,
)
from compliance.domain.traders import trader_name
from compliance.service_layer.paging import (
    Page,
    page_of,
    page_request,
    stale_token,
    time_position,
)
from customs_kit.db import Database
from customs_kit.errors import NotFound
from customs_kit.pagination import PageTokens
from customs_kit.uow import UnitOfWork

_log = structlog.get_logger(__name__)

MEASUREMENT = "compliance measurement"
_TRADER_DIMENSIONS = frozenset(
    {ComplianceDimension.IMPORTER, ComplianceDimension.BROKER, ComplianceDimension.CARRIER}
)


async def create_measurement(
    uow: UnitOfWork, scope: MeasurementScope, creator: str, now: datetime
) -> ComplianceMeasurement:
    """Computes and stores a DRAFT measurement (inside the caller's idempotent unit of work)."""
    observations = await RecordRepository(uow.session).observations(scope.period)
    names: dict[str, str] = {}
    if scope.dimension in _TRADER_DIMENSIONS:
        trader_ids = {
            trader_id
            for o in observations
            for trader_id in (o.importer_id, o.broker_id, o.carrier_id)
            if trader_id
        }
        found = await TraderRepository(uow.session).display_names(trader_ids)
        names = {trader_name(trader_id): name for trader_id, name in found.items()}
    result = measure(scope, observations, names)
    measurement = new_measurement(uuid.uuid4().hex, scope, result, creator, now)
    await MeasurementRepository(uow.session).add(measurement, result.rates)
    _log.info(
        "compliance_measurement_created",
        measurement=measurement.name,
        sample_size=result.overall.sample_size,
        strata=measurement.strata_count,
    )
    return measurement


async def publish_measurement(
    uow: UnitOfWork, measurement_id: str, etag: str, now: datetime
) -> ComplianceMeasurement:
    """Publishes a DRAFT measurement (inside the caller's idempotent unit of work).

    Raises ``NotFound`` if it does not exist, ``Aborted`` if ``etag`` is stale
    and ``FailedPrecondition`` if it is published already.
    """
    measurements = MeasurementRepository(uow.session)
    found = await measurements.get(measurement_id)
    if found is None:
        raise NotFound(MEASUREMENT, f"{MEASUREMENT_NAME_PREFIX}{measurement_id}")
    found.check_etag(etag)
    published = found.publish(now)
    await measurements.save(published)
    _log.info(
        "compliance_measurement_published",
        measurement=published.name,
        tolerance_level=published.scope.tolerance_level,
        overall_rate=published.overall.rate,
    )
    return published


async def get_measurement(database: Database, measurement_id: str) -> ComplianceMeasurement:
    """One measurement; raises ``NotFound`` if there is none."""
    async with database.unit_of_work(read_only=True) as uow:
        found = await MeasurementRepository(uow.session).get(measurement_id)
    if found is None:
        raise NotFound(MEASUREMENT, f"{MEASUREMENT_NAME_PREFIX}{measurement_id}")
    return found


async def list_measurements(
    database: Database,
    tokens: PageTokens,
    where: MeasurementFilter,
    page_size: int,
    page_token: str,
) -> Page[ComplianceMeasurement]:
    """One page of measurements matching ``where``, newest first."""
    request = page_request(tokens, "complianceMeasurements", vars(where), page_size, page_token)
    async with database.unit_of_work(read_only=True) as uow:
        rows = await MeasurementRepository(uow.session).find(
            where, time_position(request.after), request.size + 1
        )
    return page_of(tokens, request, rows, lambda m: [m.create_time.isoformat(), m.measurement_id])


async def list_rates(
    database: Database,
    tokens: PageTokens,
    measurement_id: str,
    assessments: frozenset[ToleranceAssessment],
    page_size: int,
    page_token: str,
) -> Page[ComplianceRate]:
    """One page of a measurement's rates, least compliant first.

    Raises ``NotFound`` if the measurement does not exist.
    """
    request = page_request(
        tokens,
        "complianceRates",
        {"measurement": measurement_id, "assessments": sorted(assessments)},
        page_size,
        page_token,
    )
    after = None
    if request.after is not None:
        try:
            bound, stratum = request.after
            after = (float(bound), str(stratum))
        except (ValueError, TypeError):
            raise stale_token() from None
    async with database.unit_of_work(read_only=True) as uow:
        repository = MeasurementRepository(uow.session)
        if await repository.get(measurement_id) is None:
            raise NotFound(MEASUREMENT, f"{MEASUREMENT_NAME_PREFIX}{measurement_id}")
        rows = await repository.rates(measurement_id, assessments, after, request.size + 1)
    return page_of(tokens, request, rows, lambda rate: [rate.lower_bound, rate.stratum])
