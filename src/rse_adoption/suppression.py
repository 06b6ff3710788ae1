"""The disclosure plan: which published figures to hide so that no hidden count of people
can be recomputed from the others (docs/privacy.md, "Disclosure plan").

`Disclosure` takes the figures a set of outputs publishes, as sums of the finest counts,
and decides primary suppression (privacy.hides), then secondary suppression: the linear
step here (exact, modulo a prime), then the exact integer audit (suppression_audit).
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from .privacy import hides

Form = dict[int, int]  # atom handle -> integer weight
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
    - bounds (suppression_audit): then, for each protected count in turn, its least and greatest
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
            from .suppression_audit import audit, solver_silenced

            with solver_silenced():
                audit(self, figures, rates, hidden, protected, order)
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
