"""The consignment a declaration covers: what a re-lodgement keeps in common with the first.

A trader who tests the routing lodges the same goods again, as a new version
of the declaration or as a new declaration, and changes what the criteria
read. What does not change is the consignment: the transport document (bill
of lading, air waybill) or, without one, the containers. Draws keyed on it
cannot be re-rolled by re-lodging.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from scoring.domain.assessment import ChannelFloor, Decision, ExaminerInstruction
from scoring.domain.declaration import Declaration
from scoring.domain.rules import Channel, ExaminationLevel


def consignment_key(declaration: Declaration) -> str:
    """The consignment's identity: the transport document, else a container, else the number.

    A declaration with neither transport document nor container is its own
    consignment: its versions share the key, other declarations do not.
    """
    document = declaration.transport_document
    if document is not None and document.number:
        return f"document:{document.type_code}:{document.number.strip().upper()}"
    if declaration.container_numbers:
        return f"container:{min(number.upper() for number in declaration.container_numbers)}"
    return f"declaration:{declaration.declaration_number}"


#: How long after a decision a re-lodgement of its consignment keeps its channel, by default.
DEFAULT_RELODGEMENT_WINDOW = timedelta(days=7)


@dataclass(frozen=True)
class PriorDecision:
    """A stored decision that a new lodgement may be a re-lodgement of."""

    assessment: str
    declaration_number: str
    version: int
    consignment: str
    declarant_id: str
    importer_id: str
    lodgement_time: datetime
    channel: Channel
    examination_level: ExaminationLevel


def is_relodgement(declaration: Declaration, prior: PriorDecision) -> bool:
    """A new version of the same declaration, or a new declaration of the same consignment
    by the same declarant or importer."""
    if prior.declaration_number == declaration.declaration_number:
        return prior.version < declaration.version
    same_party = prior.importer_id == declaration.importer.id or (
        declaration.declarant is not None and prior.declarant_id == declaration.declarant.id
    )
    return (
        same_party
        and prior.consignment == consignment_key(declaration)
        and not prior.consignment.startswith("declaration:")
    )


def channel_floor(
    declaration: Declaration, priors: Iterable[PriorDecision], window: timedelta
) -> ChannelFloor | None:
    """The highest decision on the consignment lodged within ``window`` before this one.

    None when there is none, or when the highest is GREEN (nothing to keep).
    """
    candidates = [
        prior
        for prior in priors
        if is_relodgement(declaration, prior)
        and declaration.lodgement_time - window <= prior.lodgement_time
    ]
    if not candidates:
        return None
    # On a tie the earliest: the decision that set the channel, not one that kept it.
    highest = max(
        candidates,
        key=lambda p: (
            p.channel.precedence,
            p.examination_level.rank,
            -p.lodgement_time.timestamp(),
        ),
    )
    if highest.channel is Channel.GREEN:
        return None
    return ChannelFloor(
        highest.assessment,
        highest.declaration_number,
        highest.version,
        highest.channel,
        highest.examination_level,
    )


def keep_channel(decision: Decision, floor: ChannelFloor | None) -> Decision:
    """``decision`` at least at ``floor``'s channel (and level), with an instruction saying why.

    The floor is recorded with the decision even when the decision is already
    as high, so that a replay and the probing list see the link.
    """
    if floor is None:
        return decision
    lower = (decision.channel.precedence, decision.examination_level.rank) < (
        floor.channel.precedence,
        floor.examination_level.rank,
    )
    if not lower:
        return replace(decision, channel_floor=floor)
    instruction = ExaminerInstruction(
        0,
        f"Re-lodgement of a consignment routed {floor.channel.name} as declaration "
        f"{floor.declaration_number} version {floor.version}: examine it as that decision "
        "required.",
    )
    return replace(
        decision,
        channel=floor.channel,
        examination_level=floor.examination_level,
        examiner_instructions=(*decision.examiner_instructions, instruction),
        channel_floor=floor,
    )
