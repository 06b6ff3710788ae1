"""Pseudonymous person keys and small-group suppression.

A person's identifier (e-mail, user principal name, employee number) never reaches the
store: it is normalised (trimmed, lower-cased) and replaced by an integer taken from
HMAC-SHA-256 under a secret
kept in the data folder (created on first use, owner-only) or given by
`RSE_ADOPTION_SECRET`. Events and the directory use the same key, so they still join.
"""

from __future__ import annotations

import functools
import hashlib
import os
import secrets
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass
from fractions import Fraction
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


@dataclass(frozen=True)
class _Figure:
    atoms: tuple[int, ...]
    value: int
    protected: bool  # hidden by primary suppression: must not be derivable
    keep: int  # secondary suppression hides figures of lower `keep` first


@dataclass(frozen=True)
class _Rate:
    numerator: tuple[int, ...]
    denominator: tuple[int, ...]


class Disclosure:
    """The figures one output publishes, and what must be hidden so that no hidden count
    can be recomputed from the others (docs/privacy.md, "Small-group suppression").

    An analysis declares its finest counts (`atom`: people of one site in one segment...),
    then each published count as a sum of atoms (`count`: a cell is one atom, a site's
    headcount or a totals row several) and each published rate as a ratio of two sums
    (`rate`). `hidden()` answers which of them to leave out:

    - primary suppression: a count of people from 1 to min_group_size − 1, or a count the
      analysis hides outright (`hidden=True`: the figures of a group too small to show);
      a rate whose denominator is such a count;
    - secondary suppression: while some hidden count is a linear combination of the
      published counts (a total minus the other parts, a row minus its other cells...), the
      published count of that combination with the lowest (`keep`, zero, value) is hidden
      too; then a rate is published only if, taken as the equation
      numerator × d − denominator × n = 0, it makes no hidden count derivable (a rate whose
      two terms are published adds nothing and always stays).

    Derivability is exact (rational Gaussian elimination). It is the attack of linear
    combinations of published figures and of rates times published bases; bounds (counts
    are whole and not negative) are not used.
    """

    def __init__(self, min_group_size: int) -> None:
        self.min_group_size = min_group_size
        self._atoms: list[int] = []
        self._figures: dict[Hashable, _Figure] = {}
        self._rates: dict[Hashable, _Rate] = {}

    def atom(self, value: int) -> int:
        """A finest count (people, or events); returns its handle."""
        self._atoms.append(int(value))
        return len(self._atoms) - 1

    def count(
        self,
        key: Hashable,
        atoms: Iterable[int],
        *,
        people: bool = True,
        hidden: bool = False,
        keep: int = 0,
    ) -> None:
        """A published count: the sum of `atoms`. `people` counts get primary suppression
        (1 to min_group_size − 1); `hidden` hides it whatever its value."""
        parts = tuple(atoms)
        value = sum(self._atoms[a] for a in parts)
        protected = hidden or (people and hides(value, self.min_group_size))
        self._figures[key] = _Figure(parts, value, protected, keep)

    def rate(self, key: Hashable, numerator: Iterable[int], denominator: Iterable[int]) -> None:
        """A published rate: sum of `numerator` atoms over sum of `denominator` atoms (a
        share of a group of people: hidden when that group is 1 to min_group_size − 1)."""
        self._rates[key] = _Rate(tuple(numerator), tuple(denominator))

    def hidden(self) -> frozenset[Hashable]:
        """Keys of the counts and rates to leave out (primary and secondary suppression)."""
        hidden: set[Hashable] = set()
        for figures, rates in self._components():
            hidden |= self._solve(figures, rates)
        return frozenset(hidden)

    def _components(self) -> list[tuple[list[Hashable], list[Hashable]]]:
        """Figures and rates in groups that share no atom (through any figure or rate):
        no combination of one group's figures says anything about another's."""
        parent = list(range(len(self._atoms)))

        def root(a: int) -> int:
            while parent[a] != a:
                parent[a] = parent[parent[a]]
                a = parent[a]
            return a

        links = [f.atoms for f in self._figures.values()]
        links += [r.numerator + r.denominator for r in self._rates.values()]
        for atoms in links:
            for a in atoms[1:]:
                parent[root(a)] = root(atoms[0])
        groups: dict[int, tuple[list[Hashable], list[Hashable]]] = {}
        loose: tuple[list[Hashable], list[Hashable]] = ([], [])  # figures of no atom
        for key, f in self._figures.items():
            (groups.setdefault(root(f.atoms[0]), ([], [])) if f.atoms else loose)[0].append(key)
        for key, r in self._rates.items():
            atoms = r.numerator + r.denominator
            (groups.setdefault(root(atoms[0]), ([], [])) if atoms else loose)[1].append(key)
        return [*groups.values(), loose]

    def _solve(self, figures: list[Hashable], rates: list[Hashable]) -> set[Hashable]:
        hidden = {key for key in figures if self._figures[key].protected}
        # a sum of no atom is a known zero: hidden if asked, but nothing to protect
        protected = [key for key in hidden if self._figures[key].atoms]
        protected.sort(key={key: i for i, key in enumerate(figures)}.__getitem__)
        order = {key: i for i, key in enumerate(figures)}
        while True:
            basis = _Basis()
            for key in figures:
                if key not in hidden:
                    basis.add(key, self._row(self._figures[key].atoms))
            exposed = next(
                (
                    how
                    for key in protected
                    if (how := basis.combination(self._row(self._figures[key].atoms))) is not None
                ),
                None,
            )
            if exposed is None:
                break
            candidates = [key for key, weight in exposed.items() if weight and key not in hidden]
            victim = min(
                candidates,
                key=lambda k: (
                    self._figures[k].keep,
                    self._figures[k].value == 0,
                    self._figures[k].value,
                    order[k],
                ),
            )
            hidden.add(victim)
        for key in rates:
            r = self._rates[key]
            n = sum(self._atoms[a] for a in r.numerator)
            d = sum(self._atoms[a] for a in r.denominator)
            if d == 0 or hides(d, self.min_group_size):
                hidden.add(key)
                continue
            row: dict[int, Fraction] = {}
            for a in r.numerator:
                row[a] = row.get(a, Fraction(0)) + d
            for a in r.denominator:
                row[a] = row.get(a, Fraction(0)) - n
            trial = basis.copy()
            trial.add(key, {a: w for a, w in row.items() if w})
            if any(
                trial.combination(self._row(self._figures[p].atoms)) is not None for p in protected
            ):
                hidden.add(key)
            else:
                basis = trial
        return hidden

    def published(self) -> dict[Hashable, int | float | None]:
        """Every declared figure's value as published: counts as integers, rates as
        numerator / denominator (None when the denominator is zero), None when hidden."""
        hidden = self.hidden()
        out: dict[Hashable, int | float | None] = {
            key: None if key in hidden else f.value for key, f in self._figures.items()
        }
        for key, r in self._rates.items():
            d = sum(self._atoms[a] for a in r.denominator)
            n = sum(self._atoms[a] for a in r.numerator)
            out[key] = None if key in hidden or not d else n / d
        return out

    @staticmethod
    def _row(atoms: tuple[int, ...]) -> dict[int, Fraction]:
        row: dict[int, Fraction] = {}
        for a in atoms:
            row[a] = row.get(a, Fraction(0)) + 1
        return row


class _Basis:
    """Row-echelon basis of published equations over atoms, each basis row remembering
    which published figures it combines (to name the ones a derivation uses)."""

    def __init__(self) -> None:
        # pivot atom -> (row with coefficient 1 at the pivot, combination of figure keys)
        self._pivots: dict[int, tuple[dict[int, Fraction], dict[Hashable, Fraction]]] = {}
        self._order: dict[int, int] = {}

    def copy(self) -> _Basis:
        other = _Basis()
        other._pivots = dict(self._pivots)
        other._order = dict(self._order)
        return other

    def _reduce(
        self, row: dict[int, Fraction], how: dict[Hashable, Fraction]
    ) -> tuple[dict[int, Fraction], dict[Hashable, Fraction]]:
        row, how = dict(row), dict(how)
        while True:
            pivots = [a for a in row if a in self._pivots]
            if not pivots:
                return row, how
            # pivots in creation order: eliminating one brings in only later ones
            atom = min(pivots, key=self._order.__getitem__)
            factor = row[atom]
            base, base_how = self._pivots[atom]
            for a, w in base.items():
                value = row.get(a, Fraction(0)) - factor * w
                if value:
                    row[a] = value
                else:
                    row.pop(a, None)
            for k, w in base_how.items():
                value = how.get(k, Fraction(0)) - factor * w
                if value:
                    how[k] = value
                else:
                    how.pop(k, None)

    def add(self, key: Hashable, row: dict[int, Fraction]) -> None:
        reduced, how = self._reduce(row, {key: Fraction(1)})
        if not reduced:
            return
        atom = min(reduced)
        scale = reduced[atom]
        self._pivots[atom] = (
            {a: w / scale for a, w in reduced.items()},
            {k: w / scale for k, w in how.items()},
        )
        self._order[atom] = len(self._order)

    def combination(self, row: dict[int, Fraction]) -> dict[Hashable, Fraction] | None:
        """The published figures whose combination gives `row`, or None when it cannot be
        derived."""
        reduced, how = self._reduce(row, {})
        return None if reduced else {k: -w for k, w in how.items()}
