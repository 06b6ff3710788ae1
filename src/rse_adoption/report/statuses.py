"""The names people read for the Report's codes — a site's status, a segment, a persona,
the totals' row — in the rendering's language. The codes themselves (`tipped`,
`contributor`, `observer`) are the JSON's and the CSV's values and never change."""

from __future__ import annotations

from .i18n import N_, Language

#: A status's symbol, the same in every rendering (terminal, Markdown, HTML, PNG): a shape
#: as well as a colour, so that a status reads without colour and printed in grey.
STATUS_SYMBOLS = {"tipped": "▲", "tipping": "◆", "below": "●"}
STATUS_LABELS = {
    "tipped": N_("tipped"),
    "tipping": N_("tipping"),
    "below": N_("below"),
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
#: model.TOTALS_NAME, the totals' row of every table.
ALL_SITES = N_("All sites shown")


def status_label(status: str, tr: Language) -> str:
    """`tipped` → `basculé`; an unknown code as it is."""
    return tr._(STATUS_LABELS[status]) if status in STATUS_LABELS else status


def segment_name(segment: str, tr: Language) -> str:
    return tr._(SEGMENT_NAMES[segment]) if segment in SEGMENT_NAMES else segment


def persona_name(persona: str, tr: Language) -> str:
    return tr._(PERSONA_NAMES[persona]) if persona in PERSONA_NAMES else persona


def trend_name(trend: str | None, tr: Language) -> str:
    """`rising` → `en hausse`; "" without a trend."""
    if not trend:
        return ""
    return tr._(TREND_NAMES[trend]) if trend in TREND_NAMES else trend
