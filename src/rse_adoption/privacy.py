"""Pseudonymous person keys and the small-group rule (which counts of people are hidden).

A person's identifier (e-mail, user principal name, employee number) never reaches the
store: it is normalised (trimmed, lower-cased) and replaced by an integer taken from
HMAC-SHA-256 under a secret
kept in the data folder (created on first use, owner-only) or given by
`RSE_ADOPTION_SECRET`. Events and the directory use the same key, so they still join.

`hides` and `is_suppressed` say which counts and groups are too small to show; what must be
hidden besides so that none of them can be recomputed is the disclosure plan's
(suppression.Disclosure).
"""

from __future__ import annotations

import functools
import hashlib
import os
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pyarrow as pa

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
    normalised identifier, as a non-negative integer. (Computed from the secret's
    precomputed SHA-256 states, `_hmac_states`: the same digest as `hmac.digest`, in less
    than half its time.)"""
    inner, outer = _hmac_states(secret)
    i = inner()
    i.update(normalise_identifier(raw_identifier).encode("utf-8"))
    o = outer()
    o.update(i.digest())
    return int.from_bytes(o.digest()[:8], "big") >> (64 - KEY_BITS)


@functools.lru_cache(maxsize=8)
def _hmac_states(secret: bytes) -> tuple[Callable[[], Any], Callable[[], Any]]:
    """HMAC-SHA-256 (RFC 2104) under `secret`, as two functions giving copies of the
    SHA-256 states after the key's inner and outer pads: hashing a message into a copy of
    the first, then its digest into a copy of the second, gives hmac.digest(secret, message).
    `hmac.digest` derives the pads again for every message (1.2 µs against 0.5 µs)."""
    block = 64
    key = hashlib.sha256(secret).digest() if len(secret) > block else secret
    key = key.ljust(block, b"\0")
    inner = hashlib.sha256(bytes(b ^ 0x36 for b in key))
    outer = hashlib.sha256(bytes(b ^ 0x5C for b in key))
    return inner.copy, outer.copy


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

    def many(self, raw_identifiers: list[str], *, remember: bool = True) -> list[int]:
        """Keys of many identifiers at once, NO_KEY for blank ones (the hot path of ingest:
        one dict look-up each). `remember=False` computes the keys of identifiers not yet
        known without keeping them: for a file listing each person once (a period report
        of two million people would otherwise hold them all in memory)."""
        get = self._keys.get
        keys = [get(raw, NO_KEY) for raw in raw_identifiers]
        if NO_KEY not in keys:
            return keys
        fresh: dict[str, int] = {}  # identifiers keyed by this call (each once)
        for i, key in enumerate(keys):
            if key != NO_KEY:
                continue
            raw = raw_identifiers[i]
            key = fresh.get(raw, NO_KEY)
            if key == NO_KEY and raw not in fresh:
                key = fresh[raw] = person_key(self._secret, raw) if raw.strip() else NO_KEY
            keys[i] = key
        if remember:
            self._keys.update(fresh)
        return keys

    def keys_of_array(self, identifiers: pa.Array) -> pa.Array:
        """Keys of a column of identifiers (int64), NO_KEY for blank or null ones, computed
        without remembering them: for a period file, which lists each person once (finding
        the distinct ones first would cost more than the few repeats it saves). The same
        keys as `person_key`, faster (`KeyWorkers` computes them in other processes)."""
        normalised, blank = normalised_identifiers(identifiers)
        return _keys(_first_bytes(self._secret, normalised), blank)

    def workers(self, count: int) -> KeyWorkers:
        """`count` worker processes computing keys as `keys_of_array` does."""
        return KeyWorkers(self._secret, count)


def normalised_identifiers(
    identifiers: pa.Array, *, stripped: bool = False
) -> tuple[pa.Array, Any]:
    """(`normalise_identifier` of each identifier as UTF-8 bytes, a numpy mask of the blank
    or null ones). ASCII identifiers are lower-cased by Arrow; those with blanks at either
    end (Python's `strip` and Arrow's do not agree on every one) and the others, by
    `normalise_identifier`. `stripped`: the identifiers are already as `str.strip` leaves
    them (then only non-ASCII ones go through Python)."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    values = identifiers.fill_null("")
    plain = (
        pc.string_is_ascii(values) if stripped else pc.match_substring_regex(values, _PLAIN_ASCII)
    )
    normalised = pc.ascii_lower(values)
    if not pc.all(plain).as_py():
        texts = normalised.to_pylist()
        for i in np.flatnonzero(~plain.to_numpy(zero_copy_only=False)):
            texts[i] = normalise_identifier(values[int(i)].as_py())
        normalised = pa.array(texts, pa.string())
    blank = pc.equal(pc.binary_length(normalised), 0).to_numpy(zero_copy_only=False)
    return normalised.cast(pa.binary()), blank


def _keys(first_bytes: bytes, blank: Any) -> pa.Array:
    """Person keys from each HMAC's first eight bytes, NO_KEY where `blank`."""
    import numpy as np
    import pyarrow as pa

    first = np.frombuffer(first_bytes, dtype=">u8")
    keys = (first >> np.uint64(64 - KEY_BITS)).astype(np.int64)
    keys[blank] = NO_KEY
    return pa.array(keys, pa.int64())


def _frame(values: pa.Array) -> bytes:
    """A binary array as one request: count and size (little-endian int64), the offsets
    from zero (int64), the bytes."""
    import numpy as np

    offsets = np.frombuffer(values.buffers()[1], dtype=np.int32)
    offsets = offsets[values.offset : values.offset + len(values) + 1].astype(np.int64)
    data = values.buffers()[2]
    body = b"" if data is None else data.to_pybytes()[offsets[0] : offsets[-1]]
    offsets -= offsets[0]
    head = np.array([len(values), len(body)], dtype="<i8").tobytes()
    return head + offsets.astype("<i8").tobytes() + body


#: A key worker (`python -I -c KEY_WORKER`): reads the secret (4-byte length, bytes), then
#: requests (`_frame`), and answers each with the first eight bytes of every message's
#: HMAC-SHA-256, until its input ends. Standard library only: it starts in tens of ms.
KEY_WORKER = """
import hashlib, sys
r, w = sys.stdin.buffer, sys.stdout.buffer
def exact(n):
    b = r.read(n)
    if len(b) != n:
        raise SystemExit(0)
    return b
key = exact(int.from_bytes(exact(4), "little"))
key = (hashlib.sha256(key).digest() if len(key) > 64 else key).ljust(64, b"\\0")
inner = hashlib.sha256(bytes(b ^ 0x36 for b in key)).copy
outer = hashlib.sha256(bytes(b ^ 0x5C for b in key)).copy
while True:
    head = r.read(16)
    if len(head) < 16:
        break
    n, size = int.from_bytes(head[:8], "little"), int.from_bytes(head[8:], "little")
    offsets = memoryview(exact(8 * (n + 1))).cast("q")
    data = exact(size)
    out = []
    for k in range(n):
        i = inner()
        i.update(data[offsets[k]:offsets[k + 1]])
        o = outer()
        o.update(i.digest())
        out.append(o.digest()[:8])
    w.write(b"".join(out))
    w.flush()
"""


class KeyWorkers:
    """Person keys computed in `count` worker processes (plain child processes running
    KEY_WORKER, as the Slack reader's: nothing forked, nothing of `__main__` imported),
    one request in flight per worker, taken back in order: `submit` a column of
    identifiers, then call what it returns for their keys. HMAC-SHA-256 in CPython is
    most of a period file's cost (about 0.5 µs an identifier); two workers halve it while
    the ingesting process reads the next rows. With `count` 0, keys are computed here."""

    def __init__(self, secret: bytes, count: int) -> None:
        import collections
        import subprocess
        import sys

        self._secret = secret
        self._processes = [
            subprocess.Popen(
                [sys.executable, "-I", "-c", KEY_WORKER],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
            )
            for _ in range(count)
        ]
        self._busy: collections.deque[tuple[int, Any, int, Any]] = collections.deque()
        self._results: dict[int, pa.Array] = {}
        self._submitted = 0
        for process in self._processes:
            self._send(process, len(secret).to_bytes(4, "little") + secret)

    def _send(self, process: Any, data: bytes) -> None:
        try:
            process.stdin.write(data)
            process.stdin.flush()
        except OSError as exc:
            raise self._stopped(process, exc) from None

    def _stopped(self, process: Any, why: object) -> Exception:
        from .errors import EXIT_IO, RseError

        return RseError(
            f"a worker computing person keys stopped (exit status {process.poll()}: {why}); "
            "run again, or with RSE_ADOPTION_WORKERS=1 to compute them in one process",
            EXIT_IO,
        )

    def submit(self, identifiers: pa.Array, *, stripped: bool = False) -> Callable[[], pa.Array]:
        """Start computing the keys of `identifiers` (`stripped`: as in
        `normalised_identifiers`); the returned function gives them (int64, NO_KEY for
        blank or null identifiers). A worker takes a new request once the answer to its
        previous one was read (so that no pipe fills both ways)."""
        normalised, blank = normalised_identifiers(identifiers, stripped=stripped)
        if not self._processes:
            here = _keys(_first_bytes(self._secret, normalised), blank)
            return lambda: here
        number = self._submitted
        self._submitted += 1
        process = self._processes[number % len(self._processes)]
        while any(p is process for _, p, _, _ in self._busy):
            self._take()
        self._send(process, _frame(normalised))
        self._busy.append((number, process, len(normalised), blank))

        def keys() -> pa.Array:
            while number not in self._results:
                self._take()
            return self._results.pop(number)

        return keys

    def _take(self) -> None:
        """Read the oldest request's answer."""
        number, process, n, blank = self._busy.popleft()
        answer = process.stdout.read(8 * n)
        if len(answer) != 8 * n:
            raise self._stopped(process, "no answer")
        self._results[number] = _keys(answer, blank)

    def __enter__(self) -> KeyWorkers:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """End the workers (their input ends; one that lingers is killed)."""
        import contextlib
        import subprocess

        for process in self._processes:
            for pipe in (process.stdin, process.stdout):
                with contextlib.suppress(OSError):
                    pipe.close()  # type: ignore[union-attr]
        for process in self._processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self._processes = []


#: An identifier Arrow's ASCII lower-casing normalises as `normalise_identifier` does: ASCII,
#: printable and not blank at either end (Python's `strip` also removes \x1c-\x1f).
_PLAIN_ASCII = r"^[!-~]([ -~]*[!-~])?$"


def _first_bytes(secret: bytes, values: pa.Array) -> bytes:
    """The first eight bytes of HMAC-SHA-256 (RFC 2104) under `secret` of every value of a
    binary array, end to end. The HMAC resumes from the secret's precomputed inner and
    outer SHA-256 states instead of deriving them for every message (0.5 µs a message
    against 1.2 µs for `hmac.digest`, measured)."""
    inner, outer = _hmac_states(secret)
    out: list[bytes] = []
    append = out.append
    for message in values.to_pylist():
        i = inner()
        i.update(message)
        o = outer()
        o.update(i.digest())
        append(o.digest()[:8])
    return b"".join(out)


def is_suppressed(group_size: int | None, min_group_size: int) -> bool:
    """A group smaller than the privacy threshold is never shown."""
    return group_size is None or group_size < min_group_size


def hides(count: int | None, min_group_size: int) -> bool:
    """Primary suppression of one count of people: from 1 to min_group_size − 1 people is
    hidden; zero is shown (it singles no one out)."""
    return count is not None and 0 < count < min_group_size
