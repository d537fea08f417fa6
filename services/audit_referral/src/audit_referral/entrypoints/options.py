"""Settings of the audit_referral service beyond the chassis's."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from customs_kit.checkpoints import public_keys_from_setting


@dataclass(frozen=True)
class AuditReferralOptions:
    """What ``bootstrap`` needs besides the chassis settings.

    ``checkpoint_keys`` are the public keys of the services whose history
    checkpoints are kept here, by service name: a checkpoint of another
    source, or one its key does not verify, is refused.
    """

    checkpoint_keys: Mapping[str, Ed25519PublicKey] = field(default_factory=dict)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> AuditReferralOptions:
        """Reads ``HISTORY_CHECKPOINT_KEY_FILES`` (``source=path,...``; default none).

        Raises ``SettingsError`` naming an entry that is not a readable Ed25519 public key.
        """
        env = os.environ if environ is None else environ
        return cls(
            checkpoint_keys=public_keys_from_setting(env.get("HISTORY_CHECKPOINT_KEY_FILES", ""))
        )
