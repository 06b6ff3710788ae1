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


def _keys(first_bytes: Any, blank: Any, *, stride: int = 8) -> pa.Array:
    """Person keys from each HMAC's first eight bytes (every `stride` bytes of
    `first_bytes`: 32 for whole digests), NO_KEY where `blank`."""
    import numpy as np
    import pyarrow as pa

    first = np.frombuffer(first_bytes, dtype=">u8")[:: stride // 8]
    keys = (first >> np.uint64(64 - KEY_BITS)).astype(np.int64)
    keys[blank] = NO_KEY
    return pa.array(keys, pa.int64())


#: Bytes of an HMAC-SHA-256 digest, as a key worker answers each message.
_DIGEST = 32


def _frame(values: pa.Array) -> list[Any]:
    """A binary array as one request, in parts to write one after the other (nothing
    copied into one object): count, size and layout (little-endian int64), then either
    the values each followed by a NUL byte (layout 1: the worker splits them at C speed)
    or, when a value holds a NUL, the offsets from zero (int64) and the bytes (layout 0)."""
    import numpy as np

    separated = _separated(values)
    if separated is not None:
        head = np.array([len(values), len(separated), 1], dtype="<i8").tobytes()
        return [head, separated]
    offsets = np.frombuffer(values.buffers()[1], dtype=np.int32)
    offsets = offsets[values.offset : values.offset + len(values) + 1].astype(np.int64)
    data = values.buffers()[2]
    body = b"" if data is None else data.to_pybytes()[offsets[0] : offsets[-1]]
    offsets -= offsets[0]
    head = np.array([len(values), len(body), 0], dtype="<i8").tobytes()
    return [head, offsets.astype("<i8").tobytes(), body]


def _separated(values: pa.Array) -> memoryview | None:
    """The values of a binary array each followed by a NUL byte, as a view of one buffer
    (Arrow joins them: no Python object per value, no copy), or None when a value holds a
    NUL."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    if not len(values):
        return memoryview(b"")
    if pc.any(pc.match_substring(values, "\0")).as_py():
        return None
    joined = pc.binary_join_element_wise(values, pa.scalar(b""), pa.scalar(b"\0"))
    offsets = np.frombuffer(joined.buffers()[1], dtype=np.int32)
    offsets = offsets[joined.offset : joined.offset + len(joined) + 1]
    return memoryview(joined.buffers()[2])[offsets[0] : offsets[-1]]


#: A key worker (`python -I -c KEY_WORKER`): reads the secret (4-byte length, bytes), then
#: requests (`_frame`), and answers each with the HMAC-SHA-256 (32 bytes) of every
#: message, until its input ends. Standard library only: it starts in tens of ms. (The
#: loop is the cheapest found in CPython: messages split from one bytes object, whole
#: digests appended to one bytearray, in a function — its names are locals, not the
#: module's dictionary: 0.51 µs a message against 0.60 for slices by offsets, a list of
#: 8-byte prefixes and the loop at module level, measured on 100,000 messages.)
KEY_WORKER = """
import gc, hashlib, sys
gc.disable()  # nothing here makes a cycle; collections would scan every message
r, w = sys.stdin.buffer, sys.stdout.buffer
def exact(n):
    b = r.read(n)
    if len(b) != n:
        raise SystemExit(0)
    return b
def digests(messages, inner, outer):
    out = bytearray()
    put = out.extend
    for m in messages:
        i = inner()
        i.update(m)
        o = outer()
        o.update(i.digest())
        put(o.digest())
    return out
key = exact(int.from_bytes(exact(4), "little"))
key = (hashlib.sha256(key).digest() if len(key) > 64 else key).ljust(64, b"\\0")
inner = hashlib.sha256(bytes(b ^ 0x36 for b in key)).copy
outer = hashlib.sha256(bytes(b ^ 0x5C for b in key)).copy
while True:
    head = r.read(24)
    if len(head) < 24:
        break
    n, size, layout = (int.from_bytes(head[i:i + 8], "little") for i in (0, 8, 16))
    if layout:
        messages = exact(size).split(b"\\0")
        del messages[n:]
    else:
        offsets = memoryview(exact(8 * (n + 1))).cast("q")
        data = exact(size)
        messages = [data[offsets[k]:offsets[k + 1]] for k in range(n)]
    w.write(digests(messages, inner, outer))
    w.flush()
"""


class KeyWorkers:
    """Person keys computed in `count` worker processes (plain child processes running
    KEY_WORKER, as the Slack reader's: nothing forked, nothing of `__main__` imported):
    `submit` a column of identifiers, then call what it returns for their keys. Each
    worker has a thread of this process that writes its requests and reads its answers
    as soon as they come (the pipes' reads and writes release the GIL), so a worker
    starts its next request while the ingesting process converts the next rows, and
    neither waits on a full pipe. HMAC-SHA-256 in CPython is most of a period file's cost
    (about 0.5 µs an identifier); two workers halve it. With `count` 0, keys are computed
    here."""

    def __init__(self, secret: bytes, count: int) -> None:
        import subprocess
        import sys
        from concurrent.futures import ThreadPoolExecutor

        self._secret = secret
        self._processes = [
            subprocess.Popen(
                [sys.executable, "-I", "-c", KEY_WORKER],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
            )
            for _ in range(count)
        ]
        self._lanes = [
            ThreadPoolExecutor(max_workers=1, thread_name_prefix="keys") for _ in range(count)
        ]
        self._buffers = [bytearray() for _ in range(count)]
        self._submitted = 0
        for process in self._processes:
            self._send(process, len(secret).to_bytes(4, "little") + secret)

    @property
    def count(self) -> int:
        """How many worker processes there are (0: keys are computed in this process)."""
        return len(self._processes)

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

    def _ask(self, lane: int, request: list[Any], blank: Any) -> pa.Array:
        """One request to the worker of `lane` and the keys of its answer (in the lane's
        own thread). The answer is read into the lane's buffer, kept from one request to
        the next: a fresh one for each would be memory the system must clear again."""
        process: Any = self._processes[lane]
        try:
            for part in request:
                process.stdin.write(part)
            process.stdin.flush()
        except OSError as exc:
            raise self._stopped(process, exc) from None
        size = _DIGEST * len(blank)
        if len(self._buffers[lane]) < size:
            self._buffers[lane] = bytearray(size)
        answer = memoryview(self._buffers[lane])[:size]
        done = 0
        while done < size:
            got = process.stdout.readinto(answer[done:])
            if not got:
                raise self._stopped(process, "no answer")
            done += got
        return _keys(answer, blank, stride=_DIGEST)

    def submit(self, identifiers: pa.Array, *, stripped: bool = False) -> Callable[[], pa.Array]:
        """Start computing the keys of `identifiers` (`stripped`: as in
        `normalised_identifiers`); the returned function gives them (int64, NO_KEY for
        blank or null identifiers). Requests go to the workers in turn."""
        normalised, blank = normalised_identifiers(identifiers, stripped=stripped)
        if not self._processes:
            here = _keys(_first_bytes(self._secret, normalised), blank)
            return lambda: here
        lane = self._submitted % len(self._processes)
        self._submitted += 1
        keys = self._lanes[lane].submit(self._ask, lane, _frame(normalised), blank)
        return keys.result

    def __enter__(self) -> KeyWorkers:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """End the workers (their input ends; one that lingers is killed)."""
        import contextlib
        import subprocess

        for process in self._processes:
            with contextlib.suppress(OSError):
                process.stdin.close()  # type: ignore[union-attr]
        for lane in self._lanes:
            lane.shutdown(wait=True, cancel_futures=True)
        for process in self._processes:
            with contextlib.suppress(OSError):
                process.stdout.close()  # type: ignore[union-attr]
        for process in self._processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self._processes, self._lanes = [], []


#: An identifier Arrow's ASCII lower-casing normalises as `normalise_identifier` does: ASCII,
#: printable and not blank at either end (Python's `strip` also removes \x1c-\x1f).
_PLAIN_ASCII = r"^[!-~]([ -~]*[!-~])?$"


def _first_bytes(secret: bytes, values: pa.Array) -> bytes:
    """The first eight bytes of HMAC-SHA-256 (RFC 2104) under `secret` of every value of a
    binary array, end to end. The HMAC resumes from the secret's precomputed inner and
    outer SHA-256 states instead of deriving them for every message (0.5 µs a message
    against 1.2 µs for `hmac.digest`, measured)."""
    inner, outer = _hmac_states(secret)
    separated = _separated(values)
    messages: list[bytes] = (
        values.to_pylist() if separated is None else bytes(separated).split(b"\0")[: len(values)]
    )
    out: list[bytes] = []
    append = out.append
    for message in messages:
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
