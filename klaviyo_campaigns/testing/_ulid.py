"""ULIDs: 26-character, time-ordered identifiers, as Klaviyo uses for campaign resources."""

from __future__ import annotations

import os

_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford's base 32


def new_ulid(timestamp_ms: int, randomness: bytes | None = None) -> str:
    """Return a ULID for ``timestamp_ms`` (48 bits of time, then 80 random bits)."""
    rand = randomness if randomness is not None else os.urandom(10)
    value = ((timestamp_ms & (2**48 - 1)) << 80) | int.from_bytes(rand[:10], "big")
    chars = []
    for _ in range(26):
        chars.append(_ALPHABET[value & 31])
        value >>= 5
    return "".join(reversed(chars))
