"""Intelligence notes: information for the analysts, with or without an examination.

The appendix 1 form "may be used to forward intelligence of any type to the
CSMT, even if no physical examination was conducted" (for example a value
much lower than the importer's previous declarations). A note is immutable
once filed; files may be attached to it afterwards.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import Enum


class IntelligenceTopic(Enum):
    """The risk area a note is about, so it reaches the right risk profile."""

    VALUATION = "VALUATION"
    CLASSIFICATION = "CLASSIFICATION"
    ORIGIN = "ORIGIN"
    PROHIBITED_OR_RESTRICTED_GOODS = "PROHIBITED_OR_RESTRICTED_GOODS"
    INTELLECTUAL_PROPERTY = "INTELLECTUAL_PROPERTY"
    SMUGGLING = "SMUGGLING"
    CARRIER_OR_DRIVER = "CARRIER_OR_DRIVER"
    TRADER = "TRADER"
    OTHER = "OTHER"


@dataclass(frozen=True)
class IntelligenceNote:
    """A filed note; ``attachments`` are the IDs of the files uploaded to it since."""

    id: str
    office_id: str
    topic: IntelligenceTopic
    text: str
    declaration_numbers: tuple[str, ...]
    trader_numbers: tuple[str, ...]
    exam_report_id: str | None
    author_officer_id: str
    create_time: datetime
    attachments: tuple[str, ...] = ()


@dataclass(frozen=True)
class IntelligenceNoteFilter:
    """Which notes a list returns; every unset criterion matches everything."""

    office_id: str | None = None
    topic: IntelligenceTopic | None = None
    trader_number: str | None = None
    declaration_number: str | None = None
