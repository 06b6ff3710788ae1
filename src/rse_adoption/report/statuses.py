"""The names people read for the Report's codes — a site's status, a segment, a persona,
the totals' row — in the rendering's language. The codes themselves (`tipped`,
`contributor`, `observer`) are the JSON's and the CSV's values and never change."""

from __future__ import annotations

from ..model import GroupFigures
from .i18n import N_, Language

#: A status's symbol, the same in every rendering (terminal, Markdown, HTML, PNG): a shape
#: as well as a colour, so that a status reads without colour and printed in grey.
STATUS_SYMBOLS = {"tipped": "▲", "tipping": "◆", "below": "●"}
STATUS_LABELS = {
    "tipped": N_("tipped"),
    "tipping": N_("tipping"),
    "below": N_("below"),
    "unknown": N_("unknown (fewer than %(min)s contributors)"),
}
SEGMENT_NAMES = {
    "contributor": N_("contributor"),
    "reactor": N_("reactor"),
    "reader": N_("reader"),
    "visitor": N_("visitor"),
    "inactive": N_("inactive"),
}
PERSONA_NAMES = {
    "observer": N_("observer"),
    "catalyst": N_("catalyst"),
    "responder": N_("responder"),
    "broadcaster": N_("broadcaster"),
    "engager": N_("engager"),
}
#: A community's weekly trend (metrics/communities.py).
TREND_NAMES = {
    "rising": N_("rising"),
    "falling": N_("falling"),
    "steady": N_("steady"),
}
#: model.TOTALS_NAME, the totals' row of every table: every site of at least
#: min_group_size people, whatever `--site` shows (docs/privacy.md).
ALL_SITES = N_("All sites")


def status_label(status: str, tr: Language, min_group_size: int = 5) -> str:
    """`tipped` → `basculé`; an unknown code as it is. `unknown`: the contributors are
    hidden (fewer than min_group_size) and their bound does not decide the status."""
    if status == "unknown":
        return tr._(STATUS_LABELS[status], min=min_group_size)
    return tr._(STATUS_LABELS[status]) if status in STATUS_LABELS else status


#: The status of a site whose contributors are hidden so that another count cannot be
#: recomputed (or withheld with their group): not "fewer than k", which may be untrue.
HIDDEN_STATUS = N_("unknown (contributors hidden)")


def group_status_label(g: GroupFigures, tr: Language, min_group_size: int = 5) -> str:
    """A site's (or the totals') status label: "unknown (fewer than k contributors)" only
    when its contributors are hidden for being 1 to k − 1 (`fewer_than_k`), "unknown
    (contributors hidden)" when hidden for another count's sake."""
    if g.status == "unknown" and "segments.contributor" not in g.fewer_than_k:
        return tr._(HIDDEN_STATUS)
    return status_label(g.status or "", tr, min_group_size)


def count_text(g: GroupFigures, path: str, value: int | None, k: int, tr: Language) -> str:
    """A count of a site's figures as a cell: "< k" when hidden for having 1 to k − 1
    people, "—" when hidden so that such a count cannot be recomputed (docs/privacy.md)."""
    if value is None and path in g.fewer_than_k:
        return f"< {k}"
    return tr.number(value)


def share_text(g: GroupFigures, tr: Language, en_space: str = "") -> str:
    """The contributor share, or the bound it is certain to respect when the contributors
    are hidden ("< 5.8 %"), or "—"."""
    if g.contributor_share is None and g.contributor_share_below is not None:
        return "< " + tr.percent(g.contributor_share_below, 1, en_space)
    return tr.percent(g.contributor_share, 1, en_space)


def segment_name(segment: str, tr: Language) -> str:
    return tr._(SEGMENT_NAMES[segment]) if segment in SEGMENT_NAMES else segment


def persona_name(persona: str, tr: Language) -> str:
    return tr._(PERSONA_NAMES[persona]) if persona in PERSONA_NAMES else persona


def trend_name(trend: str | None, tr: Language) -> str:
    """`rising` → `en hausse`; "" without a trend."""
    if not trend:
        return ""
    return tr._(TREND_NAMES[trend]) if trend in TREND_NAMES else trend
