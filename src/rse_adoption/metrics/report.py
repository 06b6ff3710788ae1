"""The report: the base of every report (context.py), then the analyses composed.

`build_report` answers "how close is each site to the tipping point?": each site's
figures with its forecast (forecast.py) and habit (habit.py), and the ambassador network
(ambassadors.py). A command that shows more passes its `sections`: functions of the
Context returning the Report fields they fill (`ambassadors.section`,
`communities.section`, `transitions.section`, `personas.section`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import date
from typing import Any

import duckdb

from .. import store
from ..config import Settings
from ..errors import StoreIOError
from ..messages import Message
from ..model import ActivityPeriod, GroupFigures, Interactions, Report
from . import (
    ambassadors,
    concentration,
    conversations,
    disclosure,
    effects,
    engine,
    forecast,
    habit,
    interactions,
    movement,
    personas,
    segments,
    transitions,
)
from .context import Context, prepare, resolve_sites

#: A section of a report: the Report fields it fills, from the Context.
Section = Callable[[Context], dict[str, Any]]


def build_report(
    settings: Settings,
    *,
    site_names: Sequence[str] = (),
    as_of: date | None = None,
    generated_at: str | None = None,
    sections: Sequence[Section] = (),
) -> Report:
    """Per-site tipping-point report over the window ending `as_of` (default: the last
    day with events), with the fields of each of `sections`. Raises DataError when the
    store holds no events and no as_of is given, or for an unknown site; StoreIOError when
    a store file cannot be read."""
    with store.reading(settings.data_dir) as manifest:
        con = engine.connect(settings.engine, settings.spark_master)
        try:
            # every site of the organisation, whatever --site asks: the disclosure plan is
            # decided for the whole organisation, then the sites asked for are kept
            ctx = prepare(con, settings, manifest, (), as_of)
            known = [g.site or "" for g in ctx.groups]
            wanted = resolve_sites(site_names, known) if site_names else None
            return _build(ctx, generated_at, sections, wanted)
        except (duckdb.IOException, duckdb.InvalidInputException) as failure:  # damaged, missing
            first = str(failure).strip().splitlines()[0]
            raise StoreIOError(f"cannot read the store {settings.data_dir}: {first}") from None
        finally:
            con.close()


#: The analyses whose figures the disclosure plan links (metrics/disclosure.py): always
#: computed, so that every command hides the same figures, and shown only when asked.
_PLANNED = (transitions.section, personas.section)


def _build(
    ctx: Context,
    generated_at: str | None,
    sections: Sequence[Section],
    wanted: list[str] | None,
) -> Report:
    """The published report of `ctx` (every site), restricted to `wanted` sites."""
    k = ctx.settings.min_group_size
    # the linked analyses give their true counts: the plan alone decides what to hide
    true = replace(ctx, settings=replace(ctx.settings, min_group_size=1))
    previous: dict[str, dict[str, int]] = {}
    network = ambassadors.network(true, ambassadors.reach_counts(true))
    # the actions of every site (their evidence hidden by effects' own rule); `select`
    # keeps those of the sites asked for
    fields: dict[str, Any] = {"ambassadors": network, **effects.section(ctx)}
    peers, fields["interactions"], notes = _peers(ctx, true, previous)
    planned: dict[str, Any] = {}
    for analysis in _PLANNED:
        planned.update(analysis(true))
    asked: set[str] = set()
    names = False
    for section in sections:
        function = getattr(section, "func", section)
        if function in _PLANNED:
            asked |= {"transitions" if function is transitions.section else "personas"}
        elif function is ambassadors.section:
            asked.add("ambassadors")
            names = bool(getattr(section, "keywords", {}).get("names"))
        else:
            fields.update(section(ctx))
    section_notes = list(fields.pop("notes", ctx.notes))
    if "transitions" in asked:
        section_notes += [n for n in planned.get("notes", ()) if n not in section_notes]
    fields |= {key: value for key, value in planned.items() if key != "notes"}
    fields["notes"] = (*section_notes, *notes)
    report = disclosure.publish(_report(ctx, generated_at, fields, peers), previous, k)
    report = _unasked(report, asked)
    if names:
        assert report.ambassadors is not None
        report = replace(report, ambassadors=ambassadors.with_roster(ctx, report.ambassadors))
    return disclosure.select(report, wanted)


def _unasked(report: Report, asked: set[str]) -> Report:
    """The planned sections a command did not ask for, left out (as before the plan)."""
    changes: dict[str, Any] = {}
    if "transitions" not in asked:
        changes |= {"transitions": (), "previous_window": None}
    if "personas" not in asked:
        changes |= {"personas": (), "personas_reason": None}
    if "ambassadors" not in asked and report.ambassadors is not None:
        changes["ambassadors"] = replace(
            report.ambassadors,
            reach_computed=False,
            sites=tuple(
                replace(
                    a,
                    reached_colleagues=None,
                    new_contributors=None,
                    new_contributors_after_ambassador=None,
                )
                for a in report.ambassadors.sites
            ),
        )
    return replace(report, **changes)


NO_EVENTS_NOTE = Message(
    "peers.no_events",
    "Conversations, interactions between sites and concentration need events (posts, the "
    "replies naming them, the people replied or reacted to): the activity periods of this "
    "report carry none, so they are null.",
)


def _peers(
    ctx: Context, true: Context, previous: dict[str, dict[str, int]]
) -> tuple[dict[str | None, dict[str, Any]], Interactions | None, list[str]]:
    """The figures the best peers show, for each shown site and the totals (key None):
    conversations, cross-site share and concentration (from the window's events), and
    movement (true counts, from `true`: the plan hides them; `previous` receives the
    previous window's); the report's `interactions`; the notes they need."""
    shown = [g.site or "" for g in ctx.shown]
    k = ctx.settings.min_group_size
    fields, notes = movement.site_figures(true, previous)
    peers: dict[str | None, dict[str, Any]] = {g: dict(fields.get(g, {})) for g in [*shown, None]}
    if ctx.first_day is None:  # no events in the store: activity periods only
        nothing = Interactions(ctx.window.start, ctx.window.as_of, None, "no events")
        return peers, nothing, [*notes, NO_EVENTS_NOTE]
    every = ctx.every_site
    talks = conversations.site_conversations(ctx.con, ctx.window, shown, k, every)
    if not conversations.replies_recorded(ctx.con):
        talks = {group: conversations.unknown_answers(talk) for group, talk in talks.items()}
        notes.append(conversations.NO_REPLIES_NOTE)
    matrix, shares = interactions.interactions(ctx)
    spread = concentration.site_concentration(ctx.con, shown, k)
    for group in [*shown, None] if shown else []:
        peers[group] |= {
            "conversations": talks.get(group),
            "cross_site_share": shares.get(group),
            "concentration": spread.get(group),
        }
    if matrix.reason:
        notes.append(
            Message("interactions.note", "Interactions: %(reason)s.", reason=matrix.reason)
        )
    return peers, matrix, notes


def _report(
    ctx: Context,
    generated_at: str | None,
    fields: dict[str, Any],
    peers: dict[str | None, dict[str, Any]] | None = None,
) -> Report:
    """The Report of `ctx`: each site and the totals with their forecast and habit and the
    peers' figures (`peers`, by site), the sections' `fields`."""
    forecasts = forecast.site_forecasts(ctx)
    habitual = habit.site_habits(ctx)

    def complete(g: GroupFigures) -> GroupFigures:
        if not g.suppressed and g.segments is not None:
            g = replace(g, **(peers or {}).get(g.site, {}))
        if g.suppressed or g.segments is None or not ctx.weekly:
            return g  # no weekly detail: no forecast nor habit (None: unknown)
        count = habitual.get(g.site, 0)
        return replace(
            g,
            forecast=forecasts.get(g.site),
            habitual_contributors=count,
            occasional_contributors=(g.segments.contributor or 0) - count,
        )

    settings, window = ctx.settings, ctx.window
    return Report(
        as_of=window.as_of,
        window_days=settings.window_days,
        window_start=window.start,
        tipping_low=settings.tipping_low,
        tipping_high=settings.tipping_high,
        min_group_size=settings.min_group_size,
        headcount_source=ctx.headcount_source,
        unlisted_active_users=segments.unlisted_active_users(ctx.con),
        directory_match_share=(
            segments.directory_match_share(ctx.con) if ctx.headcount_source == "directory" else None
        ),
        sites=tuple(complete(g) for g in ctx.groups),
        totals=complete(ctx.totals),
        data_first_day=ctx.first_day,
        data_last_day=ctx.last_day,
        generated_at=generated_at or store.utc_now_iso(),
        notes=fields.pop("notes", ctx.notes),
        activity_grain=ctx.grain,
        activity_periods=tuple(
            ActivityPeriod(
                f["source_format"],
                int(f["period_days"]),
                date.fromisoformat(f["refresh_date"]),
                int(f["rows"]),
            )
            for f in sorted(ctx.periods_used, key=lambda f: (f["source_format"], f["refresh_date"]))
        ),
        **fields,
    )
