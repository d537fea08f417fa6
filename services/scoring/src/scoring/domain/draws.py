"""Keyed deterministic draws: reproducible for audit, unpredictable without the seed.

A criterion that selects 30 % of its hits must not select the same
declaration differently when it is replayed, and a trader must not be able
to lodge until a declaration falls outside the 30 %. Each draw is therefore
HMAC-SHA256 of the secret seed over the identity of what is drawn (rule,
revision, declaration number, version, item), mapped to a number in [0, 1):
the same inputs always give the same draw, and without the seed the draws
look uniformly random.
"""

from __future__ import annotations

import hashlib
import hmac

_MIN_SEED_LENGTH = 16
# Characters that none of the identifiers below may contain, so that two
# different identities can never serialise to the same message.
_SEPARATOR = "\x1f"
_MANTISSA_BITS = 53
#: SHA-256's block size, the length of HMAC's padded key.
_BLOCK = 64


class SelectionSeed:
    """The secret key of every selection draw. Its ``repr`` never shows the secret."""

    def __init__(self, secret: bytes) -> None:
        if len(secret) < _MIN_SEED_LENGTH:
            raise ValueError(f"the selection seed needs at least {_MIN_SEED_LENGTH} bytes")
        # HMAC-SHA256 (RFC 2104) with its two padded key blocks hashed once:
        # copying them costs half of a new HMAC, and an assessment draws once
        # per hit, up to hundreds of times.
        key = hashlib.sha256(secret).digest() if len(secret) > _BLOCK else secret
        key = key.ljust(_BLOCK, b"\0")
        self._inner = hashlib.sha256(bytes(byte ^ 0x36 for byte in key))
        self._outer = hashlib.sha256(bytes(byte ^ 0x5C for byte in key))
        # Identifies the seed in decision records without disclosing it: an
        # HMAC of a fixed label cannot be inverted to the key.
        self.seed_id = hmac.new(secret, b"customs.scoring/seed-id", hashlib.sha256).hexdigest()[:16]

    def __repr__(self) -> str:
        return f"SelectionSeed(seed_id={self.seed_id!r})"

    def criterion_draw(
        self,
        criterion: str,
        criterion_revision: int,
        declaration_number: str,
        version: int,
        item_number: int,
    ) -> float:
        """The draw in [0, 1) of one criterion hit; selected when below percent / 100."""
        # The message _draw would join, written out: this runs once per hit.
        return self._draw_message(
            f"criterion{_SEPARATOR}{criterion}{_SEPARATOR}{criterion_revision}{_SEPARATOR}"
            f"{declaration_number}{_SEPARATOR}{version}{_SEPARATOR}{item_number}".encode()
        )

    def random_draw(self, kind: str, declaration_number: str, version: int) -> float:
        """The draw in [0, 1) of one random compliance examination of ``kind``, scheme 1.

        It depends on neither the rates nor the criteria, so that random
        selection stays independent of them and a replay at the recorded
        rates gives the same draw. Keyed on the declaration's version, so a
        re-lodged version re-rolled it: kept only to replay decisions taken
        under scheme 1 (see :meth:`consignment_random_draw`).
        """
        return self._draw("random", kind, declaration_number, version)

    def consignment_random_draw(self, kind: str, consignment: str) -> float:
        """The draw in [0, 1) of one random compliance examination of ``kind``, scheme 2.

        Keyed on the consignment (``consignments.consignment_key``), so every
        version and every re-lodgement of the same goods gets the same draw.
        """
        return self._draw("random-consignment", kind, consignment)

    def _draw(self, purpose: str, *parts: object) -> float:
        return self._draw_message(
            _SEPARATOR.join([purpose, *(str(part) for part in parts)]).encode()
        )

    def _draw_message(self, message: bytes) -> float:
        inner = self._inner.copy()
        inner.update(message)
        outer = self._outer.copy()
        outer.update(inner.digest())
        digest = outer.digest()
        # The top 53 bits divided by 2**53 are exact in a float and never reach 1.0.
        top = int.from_bytes(digest[:8], "big") >> (64 - _MANTISSA_BITS)
        return top / float(1 << _MANTISSA_BITS)
