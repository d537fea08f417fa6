"""Re-lodging a consignment cannot lower its channel, and cannot re-roll its random draw."""

from __future__ import annotations

from datetime import timedelta

from customs.common.v1 import selectivity_pb2
from customs.scoring.v1 import (
    declaration_pb2,
    random_examination_rate_pb2,
    scoring_service_pb2,
    scoring_service_pb2_grpc,
)
from scoring_support import LODGED, declaration, item, query

from customs_kit.auth import Role
from customs_kit.testing.services import RunningService, SigningKeys

Stub = scoring_service_pb2_grpc.ScoringServiceStub
RED, GREEN = selectivity_pb2.CHANNEL_RED, selectivity_pb2.CHANNEL_GREEN
BILL = declaration_pb2.TransportDocument(type_code="705", number="MSCU1234567")


async def _assess(stub: Stub, keys: SigningKeys, message: declaration_pb2.Declaration) -> object:
    response = await stub.AssessDeclaration(
        scoring_service_pb2.AssessDeclarationRequest(declaration=message),
        metadata=keys.metadata(Role.DECLARATION_SYSTEM),
    )
    return response.assessment


async def test_a_prober_changing_the_hs_code_keeps_the_red_channel_of_the_consignment(
    scoring: RunningService, test_keys: SigningKeys, database_url: str
) -> None:
    stub = Stub(scoring.channel)
    cigarettes = item(1, hs_code="240220")
    wood = item(1, hs_code="440890")

    red = await _assess(
        stub, test_keys, declaration("30/2026/P0001", cigarettes, transport_document=BILL)
    )
    # The same declaration amended with another HS code an hour later...
    amended = await _assess(
        stub,
        test_keys,
        declaration(
            "30/2026/P0001",
            wood,
            version=2,
            lodged=LODGED + timedelta(hours=1),
            transport_document=BILL,
        ),
    )
    # ...and a new declaration of the same bill of lading by the same importer.
    relodged = await _assess(
        stub,
        test_keys,
        declaration(
            "30/2026/P0002", wood, lodged=LODGED + timedelta(hours=2), transport_document=BILL
        ),
    )
    # Another importer and declarant's goods on another bill are not concerned.
    other = await _assess(
        stub,
        test_keys,
        declaration(
            "30/2026/P0003",
            wood,
            lodged=LODGED + timedelta(hours=2),
            transport_document=declaration_pb2.TransportDocument(
                type_code="705", number="MSCU7654321"
            ),
        ),
    )
    # Past the window (seven days by default) the consignment's decision no longer binds.
    later = await _assess(
        stub,
        test_keys,
        declaration(
            "30/2026/P0004", wood, lodged=LODGED + timedelta(days=8), transport_document=BILL
        ),
    )
    explained = await stub.ExplainAssessment(
        scoring_service_pb2.ExplainAssessmentRequest(name=relodged.name),
        metadata=test_keys.metadata(Role.AUDITOR),
    )

    assert red.channel == RED
    for kept in (amended, relodged):
        assert kept.channel == RED
        assert kept.examination_level == red.examination_level
        assert kept.channel_floor.assessment == red.name
        assert (kept.channel_floor.declaration_number, kept.channel_floor.version) == (
            "30/2026/P0001",
            1,
        )
        assert any("Re-lodgement" in i.text for i in kept.examiner_instructions)
    assert other.channel == GREEN
    assert not other.HasField("channel_floor")
    assert later.channel == GREEN
    assert explained.explanation.replay_identical, list(explained.explanation.replay_differences)
    assert any("keeps its channel" in step for step in explained.explanation.steps)
    rows = await query(
        database_url,
        "SELECT consignment FROM assessments WHERE declaration_number = :n",
        n="30/2026/P0002",
    )
    assert rows == [("document:705:MSCU1234567",)]


async def test_re_lodging_cannot_re_roll_a_random_examination(
    scoring: RunningService, test_keys: SigningKeys
) -> None:
    stub = Stub(scoring.channel)
    await stub.SetRandomExaminationRate(
        scoring_service_pb2.SetRandomExaminationRateRequest(
            random_examination_rate=random_examination_rate_pb2.RandomExaminationRate(
                document_review_percent=50
            ),
            reason="compliance measurement",
        ),
        metadata=test_keys.metadata(Role.RMC, subject="rita"),
    )
    # Declarations without a transport document: each its own consignment.
    first = [
        await _assess(
            stub, test_keys, declaration(f"30/2026/R{n:04d}", lodged=LODGED + timedelta(minutes=n))
        )
        for n in range(12)
    ]
    # Each re-lodged as version 2 after the window, so no channel is kept: only the draw counts.
    again = [
        await _assess(
            stub,
            test_keys,
            declaration(
                f"30/2026/R{n:04d}", version=2, lodged=LODGED + timedelta(days=9, minutes=n)
            ),
        )
        for n in range(12)
    ]

    assert {a.randomly_selected for a in first} == {True, False}
    assert [a.randomly_selected for a in again] == [a.randomly_selected for a in first]
    assert {a.replay.random_draw_scheme for a in first} == {2}
