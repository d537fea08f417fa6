"""Past declarations with what their examination found: the labels the risk model learns from.

Two sources label a declaration: the declaration system's archive, imported
once (:class:`HistoryRecord`), and the examination reports and audit findings
that come back for declarations scoring assessed itself (:class:`Outcome`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from customs_kit.errors import AlreadyExists


@dataclass(frozen=True)
class Outcome:
    """What an examination of a declaration found.

    ``revenue_found`` is the extra duty found in national currency, ``None``
    when unknown; ``randomly_selected`` is ``None`` when the archive does not
    say whether the examination was a random one.
    """

    examined: bool
    infringement_found: bool
    severity: int = 0
    revenue_found: float | None = None
    randomly_selected: bool | None = None


@dataclass(frozen=True)
class HistoryRecord:
    """One archived declaration version and its outcome; ``content`` is its wire form.

    The declaration is kept in its wire form only: the import stores it as
    received and training decodes it, so the import does not pay for a
    decoding it never uses.
    """

    declaration_number: str
    version: int
    lodgement_time: datetime
    content: bytes
    outcome: Outcome

    @property
    def key(self) -> tuple[str, int]:
        """The declaration number and version, the import's idempotency key."""
        return (self.declaration_number, self.version)


@dataclass(frozen=True)
class ImportCounts:
    """What an import did: messages received, declarations stored, those already held."""

    received: int = 0
    imported: int = 0
    already_imported: int = 0


class HistoryConflict(AlreadyExists):
    """A declaration version is already held with other content or another outcome."""

    def __init__(self, record: HistoryRecord, position: int, imported_before: int) -> None:
        number, version = record.key
        super().__init__(
            "history declaration",
            f"{number} version {version}",
            reason="HISTORY_DECLARATION_CONFLICT",
        )
        self.message = (
            f"declaration {number} version {version} (message {position} of the stream) is "
            f"already held with different content or outcome; the import stopped there and "
            f"nothing of its batch was written ({imported_before} declarations were imported "
            f"before it)"
        )
        self.metadata = {
            "declaration_number": number,
            "version": str(version),
            "position": str(position),
        }
