"""The treatments scoring decides and this service carries out, and capacity downgrades."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class Channel(Enum):
    """The lane a declaration was routed to; only YELLOW and RED reach this service."""

    GREEN = "GREEN"
    YELLOW = "YELLOW"
    RED = "RED"
    BLUE = "BLUE"


class ExaminationLevel(Enum):
    """The intensity of a physical (RED) examination; NONE for a document review."""

    NONE = "NONE"
    COMMERCIAL_SAMPLE = "COMMERCIAL_SAMPLE"
    ENFORCEMENT = "ENFORCEMENT"
    FULL = "FULL"


@dataclass(frozen=True)
class ExaminationType:
    """A kind of examination an office has capacity for: a channel and, for RED, a level."""

    channel: Channel
    level: ExaminationLevel

    def __post_init__(self) -> None:
        if self.channel not in (Channel.YELLOW, Channel.RED):
            raise ValueError(f"{self.channel.name} is not an examination channel")
        if (self.channel is Channel.RED) != (self.level is not ExaminationLevel.NONE):
            raise ValueError("a RED examination needs a level and a YELLOW one has none")

    @property
    def sort_key(self) -> tuple[int, int]:
        """Document reviews first, then physical examinations by rising intensity."""
        return (_CHANNEL_ORDER.index(self.channel), _LEVEL_ORDER.index(self.level))


@dataclass(frozen=True)
class CapacityDowngrade:
    """A selection scoring downgraded for lack of capacity, as the decision recorded it.

    ``criterion`` is empty for a random draw (``random_selection``). A
    document review downgraded from a physical examination is still the
    criterion's selection: the task names the criterion and keeps this record
    so the officer and supervisors see what was asked for and why it is not
    carried out.
    """

    criterion: str
    item_number: int
    random_selection: bool
    from_channel: Channel
    from_examination_level: ExaminationLevel
    to_channel: Channel
    capacity_policy: str
    utilisation_percent: float


_CHANNEL_ORDER = (Channel.GREEN, Channel.YELLOW, Channel.RED, Channel.BLUE)
_LEVEL_ORDER = (
    ExaminationLevel.NONE,
    ExaminationLevel.COMMERCIAL_SAMPLE,
    ExaminationLevel.ENFORCEMENT,
    ExaminationLevel.FULL,
)
