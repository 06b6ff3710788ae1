"""Pseudonymous person keys and small-group suppression.

A person's identifier (e-mail, user principal name, employee number) never reaches the
store: it is normalised (trimmed, lower-cased) and replaced by an integer taken from
HMAC-SHA-256 under a secret
kept in the data folder (created on first use, owner-only) or given by
`RSE_ADOPTION_SECRET`. Events and the directory use the same key, so they still join.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import os
import secrets
import sys
from collections.abc import Callable, Hashable, Iterable, Iterator, Mapping
from dataclasses import dataclass, replace
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


Form = dict[int, int]  # atom handle -> integer weight
#: How many neighbours of a pinned count the audit tries, one at a time, before hiding the
#: lowest of them and looking again.
TRIALS = 4
#: A figure of this `keep` or more is never hidden to protect another (a site's headcount,
#: its ambassadors: every output shows them); the audit withholds a group instead.
NEVER_HIDDEN = 100.0


@dataclass(frozen=True)
class _Figure:
    form: tuple[tuple[int, int], ...]  # (atom, weight)
    value: int
    protected: bool  # hidden by primary suppression: must not be derivable
    keep: float  # secondary suppression hides figures of lower `keep` first
    people: bool  # a count of people: hidden by the rule, it reads "fewer than k"
    bounds: tuple[int, int | None]  # what anyone knows of it when it is protected
    fixed: bool  # an identity everyone knows (never hidden)
    group: Hashable | None = None  # withheld whole when its own hidden cells pin one

    @property
    def atoms(self) -> tuple[int, ...]:
        return tuple(a for a, _ in self.form)


@dataclass(frozen=True)
class _Rate:
    numerator: tuple[int, ...]
    denominator: tuple[int, ...]
    keep: float = -1.0  # hidden before the counts unless the caller says otherwise


class Disclosure:
    """The figures a set of outputs publishes, and what must be hidden so that no hidden
    count can be recomputed from the others (docs/privacy.md, "Disclosure plan").

    The caller declares the finest counts (`atom`: people of one site in one cell...),
    then each published count as a weighted sum of atoms (`count`: a cell is one atom, a
    site's headcount or a totals row several, an occasional contributor count the
    contributors minus the habitual ones), the identities anyone knows between figures
    (`identity`: movement and segments adding up), and each published rate as a ratio of
    two sums (`rate`). `hidden()` answers which of them to leave out:

    - primary suppression: a count of people from 1 to min_group_size − 1, or a count the
      caller hides outright (`hidden=True`: the figures of a group too small to show); a
      rate whose denominator is such a count;
    - secondary suppression: while some hidden count is a linear combination of the
      published counts and identities (a total minus the other parts, a row minus its other
      cells...), the published count of that combination with the lowest (`keep`, zero,
      value) is hidden too; a rate is published only if, taken as the equation
      numerator × d − denominator × n = 0, it makes no hidden count derivable;
    - bounds (`_audit`): then, for each protected count in turn, its least and greatest
      value over every whole, non-negative solution of the published equations and of
      what anyone knows of a hidden figure (a count of people hidden for being small is
      1 to min_group_size − 1, one hidden for another's sake at least min_group_size, a
      suppressed group's 0 to its `bounds`), by exact integer programs (HiGHS); while both
      are equal, one more published figure is hidden: among those the bounds rest on
      (the linear relaxation's dual values), the first of lowest `keep` whose hiding sets
      it free, else the lowest. At min_group_size 2 a hidden count "< 2" is 1 whatever
      else is published: there is nothing more to protect and no audit.

    Linear derivability is exact (Gaussian elimination modulo a 61-bit prime); the bounds
    audit is exact too, and tests/test_privacy.py checks both against an attacker holding
    every output of a run and of every `--site` subset.
    """

    def __init__(self, min_group_size: int) -> None:
        self.min_group_size = min_group_size
        self._atoms: list[int] = []
        self._figures: dict[Hashable, _Figure] = {}
        self._rates: dict[Hashable, _Rate] = {}
        self._hidden: frozenset[Hashable] | None = None
        self._withheld: set[Hashable] = set()
        #: each secondary suppression: (how: "linear", "rate" or "bounds", the protected
        #: count it protects, when known)
        self.why: dict[Hashable, tuple[str, Hashable]] = {}

    def atom(self, value: int) -> int:
        """A finest count (people, or events); returns its handle."""
        self._atoms.append(int(value))
        self._hidden = None
        return len(self._atoms) - 1

    def value(self, atoms: Iterable[int] | Mapping[int, int]) -> int:
        """The true value of a sum (or weighted sum) of atoms."""
        return sum(self._atoms[a] * w for a, w in _form(atoms).items())

    def count(
        self,
        key: Hashable,
        atoms: Iterable[int] | Mapping[int, int],
        *,
        people: bool = True,
        hidden: bool = False,
        keep: float = 0,
        bounds: tuple[int, int | None] | None = None,
        unpublished: bool = False,
        group: Hashable | None = None,
    ) -> None:
        """A published count: the sum of `atoms` (or a weighted sum: {atom: weight}).
        `people` counts get primary suppression (1 to min_group_size − 1); `hidden` hides
        it whatever its value (`bounds`: what is known of it then, default 0 and up).
        `unpublished`: a figure no output shows, protected all the same when small (the
        previous window's contributors behind its share)."""
        self._new(key)
        form = _form(atoms)
        value = sum(self._atoms[a] * w for a, w in form.items())
        small = people and hides(value, self.min_group_size)
        protected = hidden or small
        if unpublished and not protected:
            keep = -(10**9)  # hidden first of all: it is never shown anyway
        if bounds is None:
            # a figure shown nowhere is not said to be small: nothing is known of it
            shown_small = small and not hidden and not unpublished
            bounds = (1, self.min_group_size - 1) if shown_small else (0, None)
        self._figures[key] = _Figure(
            tuple(form.items()), value, protected, keep, people, bounds, False, group
        )
        self._hidden = None

    def identity(self, key: Hashable, atoms: Mapping[int, int]) -> None:
        """A relation anyone knows between atoms (its true value, often zero, is known):
        e.g. the contributors of a site minus its transitions matrix's current column."""
        self._new(key)
        form = _form(atoms)
        value = sum(self._atoms[a] * w for a, w in form.items())
        self._figures[key] = _Figure(
            tuple(form.items()), value, False, 10**9, False, (0, None), True
        )
        self._hidden = None

    def rate(
        self,
        key: Hashable,
        numerator: Iterable[int],
        denominator: Iterable[int],
        *,
        keep: float = -1.0,
    ) -> None:
        """A published rate: sum of `numerator` atoms over sum of `denominator` atoms (a
        share of a group of people: hidden when that group is 1 to min_group_size − 1).
        `keep` ranks it among the figures secondary suppression may hide (default: first)."""
        self._new(key)
        self._rates[key] = _Rate(tuple(numerator), tuple(denominator), keep)
        self._hidden = None

    def _new(self, key: Hashable) -> None:
        """Refuse a key already declared: a second figure under it would silently replace
        the first (an identity lost is an equation the plan no longer checks)."""
        if key in self._figures or key in self._rates:
            raise ValueError(f"disclosure: {key!r} declared twice")

    def is_primary(self, key: Hashable) -> bool:
        """Whether a count is hidden for its own sake (not to protect another)."""
        return key in self._figures and self._figures[key].protected

    def hidden(self) -> frozenset[Hashable]:
        """Keys of the counts and rates to leave out (primary and secondary suppression)."""
        if self._hidden is None:
            hidden: set[Hashable] = set()
            for figures, rates in self._components():
                hidden |= self._solve(figures, rates)
            self._hidden = frozenset(hidden)
        return self._hidden

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

    def _rate_row(self, r: _Rate) -> dict[int, int]:
        n = sum(self._atoms[a] for a in r.numerator)
        d = sum(self._atoms[a] for a in r.denominator)
        row: dict[int, int] = {}
        for a in r.numerator:
            row[a] = row.get(a, 0) + d
        for a in r.denominator:
            row[a] = row.get(a, 0) - n
        return {a: w for a, w in row.items() if w}

    def _solve(self, figures: list[Hashable], rates: list[Hashable]) -> set[Hashable]:
        hidden = {key for key in figures if self._figures[key].protected}
        hidden |= {key for key in figures if self._figures[key].keep <= -(10**9)}
        # a sum of no atom is a known zero: hidden if asked, but nothing to protect
        protected = [
            key for key in hidden if self._figures[key].protected and self._figures[key].atoms
        ]
        order = {key: i for i, key in enumerate(figures)}
        order |= {key: len(order) + i for i, key in enumerate(rates)}
        protected.sort(key=order.__getitem__)
        hidden |= {
            key
            for key in rates
            if (d := sum(self._atoms[a] for a in self._rates[key].denominator)) == 0
            or hides(d, self.min_group_size)
        }
        basis = self._linear(figures, hidden, protected, order)
        self._add_rates(basis, rates, hidden, protected)
        if self.min_group_size > 2:  # below 2 a hidden count "< 2" is 1: nothing to protect
            with _solver_silenced():
                self._audit(figures, rates, hidden, protected, order)
        return hidden

    def _linear(
        self,
        figures: list[Hashable],
        hidden: set[Hashable],
        protected: list[Hashable],
        order: dict[Hashable, int],
    ) -> _Basis:
        """Hide published counts until no protected one is a combination of the others.

        The figures enter the basis in the order they would be kept (identities and
        headcounts first, the first to hide last), with the basis as it was before each:
        hiding one rebuilds only from its place, near the end. A protected count found
        safe stays safe when more is hidden, so each is checked until safe, once."""
        keys = sorted(
            (key for key in figures if key not in hidden),
            key=lambda k: self._rank(k, order),
            reverse=True,
        )
        place = {key: i for i, key in enumerate(keys)}
        rows = {key: self._row(self._figures[key].form) for key in keys}
        basis = _Basis()
        before: list[tuple[dict[int, Any], dict[int, int]]] = []

        def build(start: int) -> None:
            del before[start:]
            for key in keys[start:]:
                before.append(basis.snapshot())
                if key not in hidden:
                    basis.add(key, rows[key])

        build(0)
        for protected_key in protected:
            goal = self._row(self._figures[protected_key].form)
            while (exposed := basis.combination(goal)) is not None:
                candidates = [
                    key
                    for key, weight in exposed.items()
                    if weight and key not in hidden and self._hideable(key)
                ]
                if not candidates:  # identities alone give it: nothing to hide
                    break
                nonzero = [key for key in candidates if self._figures[key].value] or candidates
                victim = min(nonzero, key=lambda k: self._rank(k, order))
                hidden.add(victim)
                self.why.setdefault(victim, ("linear", protected_key))
                basis.restore(before[place[victim]])
                build(place[victim])
        return basis

    def _hideable(self, key: Hashable) -> bool:
        """Whether secondary suppression may hide a figure: not an identity, nor a figure of
        `keep` NEVER_HIDDEN or more (a site's headcount: every output shows it)."""
        f = self._figures[key]
        return not f.fixed and f.keep < NEVER_HIDDEN

    def _rank(self, key: Hashable, order: dict[Hashable, int]) -> tuple[float, bool, int, int]:
        if key in self._rates:
            r = self._rates[key]
            return (r.keep, False, sum(self._atoms[a] for a in r.numerator), order[key])
        f = self._figures[key]
        return (f.keep, f.value == 0, f.value, order[key])

    def _add_rates(
        self,
        basis: _Basis,
        rates: list[Hashable],
        hidden: set[Hashable],
        protected: list[Hashable],
    ) -> _Basis:
        """Add the rates that give no protected count back (residuals: a protected count
        becomes derivable exactly when its residual is proportional to the new row's)."""
        residuals = {p: basis.residual(self._row(self._figures[p].form)) for p in protected}
        for key in rates:
            if key in hidden:
                continue
            row = basis.residual(self._rate_row(self._rates[key]))
            if not row:
                continue  # already implied by what is published
            pivot = min(row)
            inverse = pow(row[pivot], PRIME - 2, PRIME)
            leaks = False
            for r in residuals.values():
                if r and pivot in r and len(r) == len(row):
                    factor = r[pivot] * inverse % PRIME
                    if all(r.get(x, 0) == factor * w % PRIME for x, w in row.items()):
                        leaks = True
                        break
            if leaks:
                hidden.add(key)
                self.why.setdefault(key, ("rate", None))
                continue
            basis.add(key, self._rate_row(self._rates[key]))
            for p, r in residuals.items():
                if r and pivot in r:
                    factor = r[pivot] * inverse % PRIME
                    new = dict(r)
                    for x, w in row.items():
                        value = (new.get(x, 0) - factor * w) % PRIME
                        if value:
                            new[x] = value
                        else:
                            new.pop(x, None)
                    residuals[p] = new
        return basis

    def _known(self, key: Hashable, hidden: set[Hashable]) -> tuple[int, int | None]:
        """What anyone knows of a figure's value: itself when shown, else its bounds."""
        f = self._figures[key]
        if key not in hidden:
            return (f.value, f.value)
        if f.protected:
            return f.bounds
        if f.group is not None and f.group in self._withheld:
            return (0, None)
        if f.people and f.value >= self.min_group_size:
            return (self.min_group_size, None)  # hidden, but not for its own sake
        return (0, None)

    def _audit(
        self,
        figures: list[Hashable],
        rates: list[Hashable],
        hidden: set[Hashable],
        protected: list[Hashable],
        order: dict[Hashable, int],
    ) -> None:
        """The exact integer audit: for each protected count in turn, its least and greatest
        value over every whole, non-negative assignment of the atoms that gives every
        published figure and rate its value and every hidden figure a value within what is
        known of it (`_known`); while both are equal, one more published figure near it is
        hidden (else a group near it withheld). Hiding only removes equations (a hidden
        figure's bounds are weaker than its value), so a count found safe stays safe: one
        pass suffices. Integer programs by HiGHS (scipy.optimize.milp), imported here: only
        a report with a hidden count needs it."""
        if not protected:
            return
        import numpy as np
        from scipy.optimize import Bounds, LinearConstraint, milp
        from scipy.sparse import csr_array, vstack

        atoms = sorted(
            {a for key in figures for a in self._figures[key].atoms}
            | {
                a
                for key in rates
                for a in self._rates[key].numerator + self._rates[key].denominator
            }
        )
        column = {a: i for i, a in enumerate(atoms)}
        keys = [*figures, *rates]
        data: list[float] = []
        rows: list[int] = []
        cols: list[int] = []
        for i, key in enumerate(keys):
            row = (
                self._row(self._figures[key].form)
                if key in self._figures
                else self._rate_row(self._rates[key])
            )
            for a, w in row.items():
                rows.append(i)
                cols.append(column[a])
                data.append(float(w))
        matrix = csr_array((data, (rows, cols)), shape=(len(keys), len(atoms)))
        integral = np.ones(len(atoms))
        # atoms bounded far above any true count: a count with no other bound then has a
        # greatest value far from its own (free), rather than none
        anything = Bounds(0, 10 * max(self._atoms, default=0) + 1000)

        def limits(hidden: set[Hashable]) -> tuple[Any, Any]:
            low = np.empty(len(keys))
            high = np.empty(len(keys))
            for i, key in enumerate(keys):
                if key in self._rates:
                    low[i], high[i] = (-np.inf, np.inf) if key in hidden else (0, 0)
                    continue
                least, most = self._known(key, hidden)
                low[i], high[i] = least, np.inf if most is None else most
            return low, high

        truth = np.array([self._atoms[a] for a in atoms], dtype=float)
        goals = {}
        for key in protected:
            goal = np.zeros(len(atoms))
            for a, w in self._row(self._figures[key].form).items():
                goal[column[a]] = float(w)
            goals[key] = goal
        forms = np.array([goals[key] for key in protected])
        values = forms @ truth
        # a protected count that some whole solution gives another value is free for good:
        # hiding more only widens the solutions (the witness stays one)
        freed: set[Hashable] = set()

        def moved(x: Any) -> set[Hashable]:
            """The protected counts a solution gives another value than theirs."""
            changed = np.flatnonzero(np.abs(forms @ np.round(x) - values) > 0.5)
            return {protected[i] for i in changed}

        def whole(goal: Any, rows: Any, low: Any, high: Any) -> tuple[Any, bool]:
            """A whole solution of low <= rows @ x <= high (optimising `goal`), checked
            exactly after rounding, and whether the solver proved there is none. A solver
            failure (HiGHS reports some as "Solve error"; tried again without presolve) or
            a solution that does not hold once rounded gives (None, False): no witness,
            so the caller stays on the safe side."""
            constraints = LinearConstraint(rows, low, high)
            for options in ({}, {"presolve": False}):
                found = milp(
                    goal,
                    integrality=integral,
                    bounds=anything,
                    constraints=constraints,
                    options=options,
                )
                if found.status == 2:  # no such solution
                    return None, True
                if found.status == 0 and found.x is not None:
                    x = np.round(found.x)
                    got = rows @ x
                    if np.all(got >= low - 1e-9) and np.all(got <= high + 1e-9):
                        return x, False
                    return None, False
            return None, False

        def solve(goal: Any, low: Any, high: Any) -> set[Hashable]:
            """The protected counts the optimum of `goal` gives another value than theirs."""
            x, _ = whole(goal, matrix, low, high)
            return set() if x is None else moved(x)

        nothing = np.zeros(len(atoms))

        def free(key: Hashable, hidden: set[Hashable], *, adopt: bool = True) -> bool:
            """Whether `key` can take another value with `hidden` hidden: a whole solution
            with it above, else below, its value (feasibility: the solver stops at the first
            found). Witnesses count for good only for the figures hidden now (`adopt`)."""
            if key in freed:
                return True
            low, high = limits(hidden)
            rows = vstack([matrix, csr_array(goals[key][None, :])])
            value = float(self._figures[key].value)
            seen: set[Hashable] = set()
            for least, most in ((value + 1, np.inf), (-np.inf, value - 1)):
                x, _ = whole(nothing, rows, np.append(low, least), np.append(high, most))
                if x is not None:
                    seen |= moved(x)
                    break
            if adopt:
                freed.update(seen)
            return key in seen

        # witnesses for many at once: the least and greatest of mixes of those not yet
        # free (weights from a fixed seed: the same plan every run), while they free more
        start = limits(hidden)
        mixes = np.random.default_rng(28)
        for _ in range(8):
            left = np.array([key not in freed for key in protected], dtype=float)
            if left.sum() < 4:  # as cheap to look at each
                break
            before = len(freed)
            weights = left * mixes.choice((-1.0, 1.0), len(protected))
            freed.update(solve(weights @ forms, *start))
            freed.update(solve(-(weights @ forms), *start))
            if len(freed) < before + 3:
                break

        def involved(key: Hashable, hidden: set[Hashable]) -> list[Hashable]:
            """The published figures and rates the linear bounds of `key` rest on (those of
            non-zero dual value in the least and greatest value of its relaxation), lowest
            `keep` first: the combination of published figures that pins it."""
            from scipy.optimize import linprog

            low, high = limits(hidden)
            equal = np.flatnonzero(low == high)
            upper = np.flatnonzero((low != high) & np.isfinite(high))
            lower = np.flatnonzero((low != high) & np.isfinite(low) & (low > 0))
            goal = goals[key]
            found: set[Hashable] = set()
            for sign in (1.0, -1.0):
                result = linprog(
                    sign * goal,
                    A_ub=vstack([matrix[upper], -matrix[lower]]),
                    b_ub=np.concatenate([high[upper], -low[lower]]),
                    A_eq=matrix[equal],
                    b_eq=low[equal],
                    bounds=(0, None),
                    method="highs",
                )
                if result.status != 0:
                    continue
                for j, dual in zip(equal, result.eqlin.marginals, strict=True):
                    if abs(dual) > 1e-9:
                        found.add(keys[j])
            usable = [
                k
                for k in found
                if k in self._rates or (self._hideable(k) and self._figures[k].value)
            ]
            return sorted(usable, key=lambda k: self._rank(k, order))

        # as if every figure that may be hidden were (complements >= k); zeros are never
        # hidden for another's sake, so they stay in (a hidden zero would free what the
        # search below can never free)
        everything = {
            key
            for key in keys
            if key in self._rates or (self._hideable(key) and self._figures[key].value)
        }
        for key in protected:
            if free(key, hidden):
                continue
            # pinned by what is known of hidden figures and the identities alone: hiding
            # published figures cannot help; a group near it is withheld (its zeros hidden
            # too, what is known of its figures only 0 and up)
            while not free(key, hidden | everything, adopt=False):
                group = self._group_near(key, figures, hidden)
                if group is None:
                    break
                self._withhold(group, figures, hidden)
            for _ in range(len(keys)):
                if free(key, hidden):
                    break
                # the first neighbour (lowest `keep` first) whose hiding sets it free;
                # else the lowest is hidden and the search goes on from there
                victims = involved(key, hidden) or self._victims_near(
                    key, figures, rates, hidden, order
                )
                if not victims:
                    break
                victim = next(
                    (v for v in victims[:TRIALS] if free(key, hidden | {v}, adopt=False)), None
                )
                if victim is not None:
                    freed.add(key)  # the trial's witness holds now that it is hidden
                elif self._withhold_if_frees(key, figures, hidden, free):
                    break  # a small group's detail withheld (its zeros too) frees it
                victim = victims[0] if victim is None else victim
                hidden.add(victim)
                self.why.setdefault(victim, ("bounds", key))

    def _withhold_if_frees(
        self,
        pinned: Hashable,
        figures: list[Hashable],
        hidden: set[Hashable],
        free: Callable[..., bool],
    ) -> bool:
        """Withhold the detail group near a pinned count (a site's transitions matrix,
        personas...: not its segments) if that alone sets it free; else leave all as it
        was. Cheaper than hiding a chain of published figures of other sites."""
        group = self._group_near(pinned, figures, hidden)
        if group is None or (isinstance(group, tuple) and group and group[0] == "segment"):
            return False
        saved = dict(self._figures)
        before = set(hidden)
        self._withhold(group, figures, hidden)
        # a trial: its witnesses hold only if the group stays withheld (not adopted)
        if free(pinned, hidden, adopt=False):
            for key in hidden - before:
                self.why.setdefault(key, ("withheld", pinned))
            return True
        self._figures = saved
        self._withheld.discard(group)
        hidden.intersection_update(before)
        return False

    def _group_near(
        self, pinned: Hashable, figures: list[Hashable], hidden: set[Hashable]
    ) -> Hashable | None:
        """The group (a site's transitions matrix, its personas...) of a hidden figure
        sharing an atom with `pinned`, not yet withheld; the pinned figure's own first."""
        near = set(self._figures[pinned].atoms)
        for key in figures:  # through the identities: a transitions column to a segment
            f = self._figures[key]
            if f.fixed and near & set(f.atoms):
                near |= set(f.atoms)
        groups = []
        for key in [pinned, *figures]:
            f = self._figures[key]
            if (
                key in hidden
                and f.group is not None
                and f.group not in self._withheld
                and near & set(f.atoms)
            ):
                groups.append(f.group)
        if not groups:
            return None
        # the finest detail first (as the caller ranks groups), then the first met
        return min(groups, key=lambda g: (self.withhold_rank(g), groups.index(g)))

    def withhold_rank(self, group: Hashable) -> int:
        """The order in which groups are withheld (lowest first); callers may override."""
        return 0

    def _withhold(self, group: Hashable, figures: list[Hashable], hidden: set[Hashable]) -> None:
        """Hide every figure of `group`; what is known of them is then only 0 and up."""
        self._withheld.add(group)
        for key in figures:
            f = self._figures[key]
            if f.group == group:
                hidden.add(key)
                self._figures[key] = replace(f, bounds=(0, None))

    def withheld(self) -> frozenset[Hashable]:
        """The groups withheld whole (after `hidden()`)."""
        self.hidden()
        return frozenset(self._withheld)

    def is_withheld(self, key: Hashable) -> bool:
        """Whether a figure was hidden with its whole group: the plan assumed only that it
        is 0 or more, so its output must not say "< k" (nor show the group's zeros)."""
        self.hidden()
        f = self._figures.get(key)
        return f is not None and f.group is not None and f.group in self._withheld

    def _victims_near(
        self,
        pinned: Hashable,
        figures: list[Hashable],
        rates: list[Hashable],
        hidden: set[Hashable],
        order: dict[Hashable, int],
    ) -> list[Hashable]:
        """The published figures that may be hidden next to a pinned one, lowest (`keep`,
        zero, value) first: those sharing an atom with it, else with a hidden figure or an
        identity sharing one (and so on). A zero is never one: zero is shown, so a hidden zero
        would read as a complement (at least k) and mislead, or be known for one."""
        near = set(self._figures[pinned].atoms)
        for _ in range(4):
            candidates = [
                key
                for key in figures
                if key not in hidden
                and self._hideable(key)
                and self._figures[key].value
                and near & set(self._figures[key].atoms)
            ]
            candidates += [
                key
                for key in rates
                if key not in hidden
                and near & set(self._rates[key].numerator + self._rates[key].denominator)
            ]
            if candidates:
                return sorted(candidates, key=lambda k: self._rank(k, order))
            wider = set(near)
            for key in figures:
                f = self._figures[key]
                if (key in hidden or f.fixed) and near & set(f.atoms):
                    wider |= set(f.atoms)
            if wider == near:
                return []
            near = wider
        return []

    def published(self) -> dict[Hashable, int | float | None]:
        """Every declared figure's value as published: counts as integers, rates as
        numerator / denominator (None when the denominator is zero), None when hidden."""
        hidden = self.hidden()
        out: dict[Hashable, int | float | None] = {
            key: None if key in hidden else f.value
            for key, f in self._figures.items()
            if not f.fixed
        }
        for key, r in self._rates.items():
            d = sum(self._atoms[a] for a in r.denominator)
            n = sum(self._atoms[a] for a in r.numerator)
            out[key] = None if key in hidden or not d else n / d
        return out

    @staticmethod
    def _row(form: Iterable[tuple[int, int]] | tuple[int, ...]) -> dict[int, int]:
        row: dict[int, int] = {}
        for item in form:
            a, w = item if isinstance(item, tuple) else (item, 1)
            row[a] = row.get(a, 0) + w
        return {a: w for a, w in row.items() if w}


@contextlib.contextmanager
def _solver_silenced() -> Iterator[None]:
    """HiGHS (C++) sometimes prints a diagnostic line on the process's standard output
    itself (file descriptor 1, not Python's sys.stdout), which would corrupt
    `report --format json > file`: the descriptor points at the null device while the
    audit solves."""
    sys.stdout.flush()
    try:
        saved = os.dup(1)
    except OSError:  # no standard output at all: nothing to protect
        yield
        return
    try:
        with open(os.devnull, "wb") as null:
            os.dup2(null.fileno(), 1)
        yield
    finally:
        os.dup2(saved, 1)
        os.close(saved)


def _form(atoms: Iterable[int] | Mapping[int, int]) -> Form:
    out: Form = {}
    pairs = atoms.items() if isinstance(atoms, Mapping) else ((a, 1) for a in atoms)
    for a, w in pairs:
        out[a] = out.get(a, 0) + int(w)
    return {a: w for a, w in out.items() if w}


#: Linear derivability is decided modulo this prime (2^61 − 1): the equations have small
#: integer coefficients, so a combination that exists over the rationals exists modulo
#: P, and one that does not fails modulo P except with a chance of about (figures / P),
#: some 10^-15 here. Python integers modulo P are some ten times faster than fractions.
PRIME = (1 << 61) - 1


class _Basis:
    """Row-echelon basis of published equations over atoms (modulo PRIME), each basis row
    remembering which published figures it combines (to name the ones a derivation uses)."""

    def __init__(self) -> None:
        # pivot atom -> (row with coefficient 1 at the pivot, combination of figure keys)
        self._pivots: dict[int, tuple[dict[int, int], dict[Hashable, int]]] = {}
        self._order: dict[int, int] = {}

    def _reduce(
        self, row: Mapping[int, int], how: Mapping[Hashable, int]
    ) -> tuple[dict[int, int], dict[Hashable, int]]:
        import heapq

        p = PRIME
        out = {a: w % p for a, w in row.items() if w % p}
        combined = {k: w % p for k, w in how.items() if w % p}
        order = self._order
        # pivots in creation order: eliminating one brings in only later ones
        queue = [(order[a], a) for a in out if a in order]
        heapq.heapify(queue)
        while queue:
            _, atom = heapq.heappop(queue)
            factor = out.get(atom)
            if not factor:
                continue
            base, base_how = self._pivots[atom]
            for a, w in base.items():
                value = (out.get(a, 0) - factor * w) % p
                if value:
                    if a not in out and a in order:
                        heapq.heappush(queue, (order[a], a))
                    out[a] = value
                else:
                    out.pop(a, None)
            for k, w in base_how.items():
                value = (combined.get(k, 0) - factor * w) % p
                if value:
                    combined[k] = value
                else:
                    combined.pop(k, None)
        return out, combined

    def add(self, key: Hashable, row: Mapping[int, int]) -> None:
        reduced, how = self._reduce(row, {key: 1})
        if not reduced:
            return
        atom = min(reduced)
        inverse = pow(reduced[atom], PRIME - 2, PRIME)
        self._pivots[atom] = (
            {a: w * inverse % PRIME for a, w in reduced.items()},
            {k: w * inverse % PRIME for k, w in how.items()},
        )
        self._order[atom] = len(self._order)

    def snapshot(self) -> tuple[dict[int, Any], dict[int, int]]:
        """The basis as it is (its rows are never changed in place: a shallow copy)."""
        return dict(self._pivots), dict(self._order)

    def restore(self, state: tuple[dict[int, Any], dict[int, int]]) -> None:
        self._pivots, self._order = dict(state[0]), dict(state[1])

    def residual(self, row: Mapping[int, int]) -> dict[int, int]:
        """What is left of `row` once the basis's rows are taken out."""
        return self._reduce(row, {})[0]

    def combination(self, row: Mapping[int, int]) -> dict[Hashable, int] | None:
        """The published figures whose combination gives `row` (their weights modulo
        PRIME: which figures, not how much), or None when it cannot be derived."""
        reduced, how = self._reduce(row, {})
        return None if reduced else how
