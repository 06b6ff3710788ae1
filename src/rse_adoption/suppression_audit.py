"""The exact integer audit of a disclosure plan (docs/privacy.md, "Disclosure plan").

After the linear step (suppression.Disclosure), a hidden count may still be pinned: the
published figures, with what anyone knows of the hidden ones (a count hidden for being
small is 1 to k − 1, one hidden for another's sake at least k...), may leave it a single
whole, non-negative value. For each protected count in turn, integer programs (HiGHS,
through its own Python interface `highspy`: one model per component, kept between the
checks, only its row bounds and objective changed) look for a solution giving it another
value; while there is none, one more published figure near it is hidden, or a group near
it withheld whole.

Imported only when a plan of min_group_size > 2 is solved, and highspy only when there is
a protected count to audit: a report with nothing hidden never pays for it.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Hashable, Iterator
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .suppression import Disclosure

#: How many neighbours of a pinned count the audit tries, one at a time, before hiding the
#: lowest of them and looking again.
TRIALS = 4


@contextlib.contextmanager
def solver_silenced() -> Iterator[None]:
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


def audit(
    plan: Disclosure,
    figures: list[Hashable],
    rates: list[Hashable],
    hidden: set[Hashable],
    protected: list[Hashable],
    order: dict[Hashable, int],
) -> None:
    """The exact integer audit of one component of `plan` (figures and rates sharing
    atoms): for each protected count in turn, its least and greatest value over every
    whole, non-negative assignment of the atoms that gives every published figure and rate
    its value and every hidden figure a value within what is known of it
    (`Disclosure._known`); while both are equal, one more published figure near it is
    hidden (else a group near it withheld). Hiding only removes equations (a hidden
    figure's bounds are weaker than its value), so a count found safe stays safe: one
    pass suffices. Adds to `hidden` (and `plan.why`, its withheld groups) in place.
    Integer programs by HiGHS (highspy), imported here: only a report with a hidden count
    needs it."""
    if not protected:
        return
    _Audit(plan, figures, rates, protected, order).run(hidden)


class _Audit:
    """The equations of one component as a sparse matrix (one row per figure or rate,
    one column per atom), and the protected counts already known to be free.

    Reads the plan's figures through `plan` each time (never a copy): withholding a group
    changes what is known of its figures, and a withholding tried and undone restores
    them."""

    def __init__(
        self,
        plan: Disclosure,
        figures: list[Hashable],
        rates: list[Hashable],
        protected: list[Hashable],
        order: dict[Hashable, int],
    ) -> None:
        import numpy as np

        self.plan = plan
        self.figures = figures
        self.rates = rates
        self.protected = protected
        self.order = order
        atoms = sorted(
            {a for key in figures for a in plan._figures[key].atoms}
            | {
                a
                for key in rates
                for a in plan._rates[key].numerator + plan._rates[key].denominator
            }
        )
        column = {a: i for i, a in enumerate(atoms)}
        self.keys = keys = [*figures, *rates]
        data: list[float] = []
        rows: list[int] = []
        cols: list[int] = []
        for i, key in enumerate(keys):
            row = (
                plan._row(plan._figures[key].form)
                if key in plan._figures
                else plan._rate_row(plan._rates[key])
            )
            for a, w in row.items():
                rows.append(i)
                cols.append(column[a])
                data.append(float(w))
        # atoms bounded far above any true count: a count with no other bound then has a
        # greatest value far from its own (free), rather than none
        upper = 10 * max(plan._atoms, default=0) + 1000
        self.model = _Model(rows, cols, data, len(keys), len(atoms), upper)
        truth = np.array([plan._atoms[a] for a in atoms], dtype=float)
        self.goals = {}
        for key in protected:
            goal = np.zeros(len(atoms))
            for a, w in plan._row(plan._figures[key].form).items():
                goal[column[a]] = float(w)
            self.goals[key] = goal
        self.forms = np.array([self.goals[key] for key in protected])
        self.values = self.forms @ truth
        self.truth = truth
        self.base = self.model.values(truth)  # every row's true value
        # a protected count that some whole solution gives another value is free for good:
        # hiding more only widens the solutions (the witness stays one)
        self.freed: set[Hashable] = set()

    def limits(self, hidden: set[Hashable]) -> tuple[Any, Any]:
        """Each row's least and greatest value as anyone knows it with `hidden` hidden: a
        published figure its value, a hidden one its bounds, a hidden rate anything."""
        import numpy as np

        low = np.empty(len(self.keys))
        high = np.empty(len(self.keys))
        for i, key in enumerate(self.keys):
            if key in self.plan._rates:
                low[i], high[i] = (-np.inf, np.inf) if key in hidden else (0, 0)
                continue
            least, most = self.plan._known(key, hidden)
            low[i], high[i] = least, np.inf if most is None else most
        return low, high

    def moved(self, x: Any) -> set[Hashable]:
        """The protected counts a solution gives another value than theirs."""
        import numpy as np

        changed = np.flatnonzero(np.abs(self.forms @ np.round(x) - self.values) > 0.5)
        return {self.protected[i] for i in changed}

    def solve(self, goal: Any, low: Any, high: Any) -> set[Hashable]:
        """The protected counts the optimum of `goal` gives another value than theirs."""
        x, _ = self.model.whole(low, high, cost=goal)
        return set() if x is None else self.moved(x)

    def free(self, key: Hashable, hidden: set[Hashable], *, adopt: bool = True) -> bool:
        """Whether `key` can take another value with `hidden` hidden: a whole solution
        with it above, else below, its value (feasibility: the solver stops at the first
        found). Witnesses count for good only for the figures hidden now (`adopt`)."""
        import numpy as np

        if key in self.freed:
            return True
        low, high = self.limits(hidden)
        seen: set[Hashable] = set()
        nearby = self.nearby(key, low, high)  # found without a solver, when it can be
        if nearby is not None:
            seen = self.moved(nearby)
        value = float(self.plan._figures[key].value)
        for least, most in () if seen else ((value + 1, np.inf), (-np.inf, value - 1)):
            x, _ = self.model.whole(low, high, extra=(self.goals[key], least, most))
            if x is not None:
                seen |= self.moved(x)
                break
        if adopt:
            self.freed.update(seen)
        return key in seen

    def nearby(self, key: Hashable, low: Any, high: Any) -> Any:
        """A whole solution one unit away from the true counts that moves `key`: one of
        its atoms one more or one less, every row still within what is known of it (an
        atom that only hidden figures with room hold, say). None when there is none: the
        solver then looks further. Exact: each row's new value is checked."""
        import numpy as np

        model = self.model
        for atom in np.flatnonzero(self.goals[key]):
            column = model.column(int(atom))
            for step in (1.0, -1.0):
                if self.truth[atom] + step < 0:
                    continue
                rows = self.base + step * column
                if np.all(rows >= low - 1e-9) and np.all(rows <= high + 1e-9):
                    x = self.truth.copy()
                    x[atom] += step
                    return x
        return None

    def free_many(self, hidden: set[Hashable]) -> None:
        """Witnesses for many at once: the least and greatest of mixes of those not yet
        free (weights from a fixed seed: the same plan every run), while they free more."""
        import numpy as np

        start = self.limits(hidden)
        mixes = np.random.default_rng(28)
        for _ in range(8):
            left = np.array([key not in self.freed for key in self.protected], dtype=float)
            if left.sum() < 4:  # as cheap to look at each
                break
            before = len(self.freed)
            weights = left * mixes.choice((-1.0, 1.0), len(self.protected))
            self.freed.update(self.solve(weights @ self.forms, *start))
            self.freed.update(self.solve(-(weights @ self.forms), *start))
            if len(self.freed) < before + 3:
                break

    def involved(self, key: Hashable, hidden: set[Hashable]) -> list[Hashable]:
        """The published figures and rates the linear bounds of `key` rest on (those of
        non-zero dual value in the least and greatest value of its relaxation), lowest
        `keep` first: the combination of published figures that pins it."""
        import numpy as np

        plan = self.plan
        low, high = self.limits(hidden)
        equal = low == high
        found: set[Hashable] = set()
        for sign in (1.0, -1.0):
            duals = self.model.relaxed_duals(low, high, sign * self.goals[key])
            if duals is None:
                continue
            for j in np.flatnonzero(equal & (np.abs(duals) > 1e-9)):
                found.add(self.keys[j])
        usable = [
            k for k in found if k in plan._rates or (plan._hideable(k) and plan._figures[k].value)
        ]
        return sorted(usable, key=lambda k: plan._rank(k, self.order))

    def run(self, hidden: set[Hashable]) -> None:
        """Free every protected count in turn (see `audit`), adding to `hidden`."""
        plan = self.plan
        self.free_many(hidden)
        # as if every figure that may be hidden were (complements >= k); zeros are never
        # hidden for another's sake, so they stay in (a hidden zero would free what the
        # search below can never free)
        everything = {
            key
            for key in self.keys
            if key in plan._rates or (plan._hideable(key) and plan._figures[key].value)
        }
        for key in self.protected:
            if self.free(key, hidden):
                continue
            # pinned by what is known of hidden figures and the identities alone: hiding
            # published figures cannot help; a group near it is withheld (its zeros hidden
            # too, what is known of its figures only 0 and up)
            while not self.free(key, hidden | everything, adopt=False):
                group = plan._group_near(key, self.figures, hidden)
                if group is None:
                    break
                plan._withhold(group, self.figures, hidden)
            self.unpin(key, hidden)

    def unpin(self, key: Hashable, hidden: set[Hashable]) -> None:
        """Hide published figures near a pinned count `key` until it is free (or nothing
        near it is left to hide), adding them to `hidden` and `plan.why`."""
        for _ in range(len(self.keys)):
            if self.free(key, hidden):
                break
            # the first neighbour (lowest `keep` first) whose hiding sets it free;
            # else the lowest is hidden and the search goes on from there
            victims = self.involved(key, hidden) or self.victims_near(key, hidden)
            if not victims:
                break
            victim = next(
                (v for v in victims[:TRIALS] if self.free(key, hidden | {v}, adopt=False)),
                None,
            )
            if victim is not None:
                self.freed.add(key)  # the trial's witness holds now that it is hidden
            elif self.withhold_if_frees(key, hidden):
                break  # a small group's detail withheld (its zeros too) frees it
            victim = victims[0] if victim is None else victim
            hidden.add(victim)
            self.plan.why.setdefault(victim, ("bounds", key))

    def withhold_if_frees(self, pinned: Hashable, hidden: set[Hashable]) -> bool:
        """Withhold the detail group near a pinned count (a site's transitions matrix,
        personas...: not its segments) if that alone sets it free; else leave all as it
        was. Cheaper than hiding a chain of published figures of other sites."""
        plan = self.plan
        group = plan._group_near(pinned, self.figures, hidden)
        if group is None or (isinstance(group, tuple) and group and group[0] == "segment"):
            return False
        saved = dict(plan._figures)
        before = set(hidden)
        plan._withhold(group, self.figures, hidden)
        # a trial: its witnesses hold only if the group stays withheld (not adopted)
        if self.free(pinned, hidden, adopt=False):
            for key in hidden - before:
                plan.why.setdefault(key, ("withheld", pinned))
            return True
        plan._figures = saved
        plan._withheld.discard(group)
        hidden.intersection_update(before)
        return False

    def victims_near(self, pinned: Hashable, hidden: set[Hashable]) -> list[Hashable]:
        """The published figures that may be hidden next to a pinned one, lowest (`keep`,
        zero, value) first: those sharing an atom with it, else with a hidden figure or an
        identity sharing one (and so on). A zero is never one: zero is shown, so a hidden zero
        would read as a complement (at least k) and mislead, or be known for one."""
        plan = self.plan
        near = set(plan._figures[pinned].atoms)
        for _ in range(4):
            candidates = [
                key
                for key in self.figures
                if key not in hidden
                and plan._hideable(key)
                and plan._figures[key].value
                and near & set(plan._figures[key].atoms)
            ]
            candidates += [
                key
                for key in self.rates
                if key not in hidden
                and near & set(plan._rates[key].numerator + plan._rates[key].denominator)
            ]
            if candidates:
                return sorted(candidates, key=lambda k: plan._rank(k, self.order))
            wider = set(near)
            for key in self.figures:
                f = plan._figures[key]
                if (key in hidden or f.fixed) and near & set(f.atoms):
                    wider |= set(f.atoms)
            if wider == near:
                return []
            near = wider
        return []


class _Model:
    """One HiGHS model of a component: the atoms as whole variables from 0 to `upper`, each
    figure or rate a row (its coefficients never change). A check sets the rows' bounds
    (what is known of each figure), optionally adds one row (the count checked, above or
    below its value) and an objective, solves, and takes the added row out again."""

    def __init__(
        self,
        rows: list[int],
        cols: list[int],
        data: list[float],
        count: int,
        atoms: int,
        upper: float,
    ) -> None:
        import highspy
        import numpy as np

        self.rows = np.asarray(rows, dtype=np.int64)
        self.cols = np.asarray(cols, dtype=np.int64)
        self.data = np.asarray(data, dtype=float)
        self.count = count
        self.atoms = atoms
        self.highs = h = highspy.Highs()
        h.setOptionValue("output_flag", False)
        h.addVars(atoms, np.zeros(atoms), np.full(atoms, float(upper)))
        self.columns = np.arange(atoms, dtype=np.int32)
        self.integer = np.array([highspy.HighsVarType.kInteger] * atoms)
        self.continuous = np.array([highspy.HighsVarType.kContinuous] * atoms)
        h.changeColsIntegrality(atoms, self.columns, self.integer)
        order = np.lexsort((self.cols, self.rows))
        starts = np.searchsorted(self.rows[order], np.arange(self.count)).astype(np.int32)
        self.low = np.full(self.count, -np.inf)
        self.high = np.full(self.count, np.inf)
        h.addRows(
            self.count,
            self.low,
            self.high,
            len(order),
            starts,
            self.cols[order].astype(np.int32),
            self.data[order],
        )
        self.cost = np.zeros(atoms)
        self.status = highspy.HighsModelStatus

    def _bounds(self, low: Any, high: Any) -> None:
        import numpy as np

        for i in np.flatnonzero((low != self.low) | (high != self.high)):
            self.highs.changeRowBounds(int(i), float(low[i]), float(high[i]))
        self.low, self.high = low.copy(), high.copy()

    def _objective(self, cost: Any) -> None:
        import numpy as np

        if not np.array_equal(cost, self.cost):
            self.highs.changeColsCost(self.atoms, self.columns, np.asarray(cost, dtype=float))
            self.cost = np.array(cost, dtype=float)

    def column(self, atom: int) -> Any:
        """Each row's coefficient of one atom."""
        import numpy as np

        where = self.cols == atom
        return np.bincount(self.rows[where], weights=self.data[where], minlength=self.count)

    def values(self, x: Any) -> Any:
        """Each row's value for the atoms `x`."""
        import numpy as np

        return np.bincount(self.rows, weights=self.data * x[self.cols], minlength=self.count)

    def whole(
        self,
        low: Any,
        high: Any,
        *,
        cost: Any = None,
        extra: tuple[Any, float, float] | None = None,
    ) -> tuple[Any, bool]:
        """A whole solution of low <= rows @ x <= high (and of `extra`: a goal's value
        between two bounds), optimising `cost` (none: the first found), checked exactly
        after rounding; and whether the solver proved there is none. A solver failure
        (HiGHS reports some as "Solve error"; tried again without presolve) or a solution
        that does not hold once rounded gives (None, False): no witness, so the caller
        stays on the safe side."""
        import numpy as np

        h = self.highs
        self._bounds(low, high)
        self._objective(np.zeros(self.atoms) if cost is None else cost)
        if extra is not None:
            goal, least, most = extra
            where = np.flatnonzero(goal)
            h.addRow(float(least), float(most), len(where), where.astype(np.int32), goal[where])
        try:
            for presolve in ("choose", "off"):
                h.setOptionValue("presolve", presolve)
                h.run()
                status = h.getModelStatus()
                if status == self.status.kInfeasible:
                    return None, True
                if status == self.status.kOptimal:
                    x = np.round(np.asarray(h.getSolution().col_value))
                    got = self.values(x)
                    holds = bool(np.all(x >= 0) and np.all(got >= low - 1e-9))
                    holds = holds and bool(np.all(got <= high + 1e-9))
                    if holds and extra is not None:
                        reached = float(extra[0] @ x)
                        holds = extra[1] - 1e-9 <= reached <= extra[2] + 1e-9
                    return (x, False) if holds else (None, False)
            return None, False
        finally:
            h.setOptionValue("presolve", "choose")
            if extra is not None:
                h.deleteRows(1, np.array([self.count], dtype=np.int32))

    def relaxed_duals(self, low: Any, high: Any, cost: Any) -> Any:
        """The rows' dual values at the optimum of `cost` over the linear relaxation (None
        when it has none)."""
        import numpy as np

        h = self.highs
        self._bounds(low, high)
        self._objective(cost)
        h.changeColsIntegrality(self.atoms, self.columns, self.continuous)
        try:
            h.run()
            if h.getModelStatus() != self.status.kOptimal:
                return None
            return np.asarray(h.getSolution().row_dual)
        finally:
            h.changeColsIntegrality(self.atoms, self.columns, self.integer)
