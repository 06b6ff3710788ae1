"""Column options that keep a terminal table's names, keys and figures whole at 80 columns
and up: a table too wide for the terminal narrows its headers (they wrap between words),
never a site's or a community's name, a person's key or a figure (rich would otherwise cut
them to `Borde…` or drop the site column altogether)."""

from __future__ import annotations

import copy
from collections.abc import Iterable

from rich.cells import cell_len
from rich.console import Console, Group, RenderableType
from rich.table import Column, Table
from rich.text import Text


def _widest(cells: Iterable[Text | str]) -> int:
    return max((cell_len(c.plain if isinstance(c, Text) else c) for c in cells), default=1)


def name_column(names: Iterable[Text | str]) -> dict[str, object]:
    """A column of names or keys: each on one line, whole."""
    return {"no_wrap": True, "min_width": _widest(names)}


def figure_column(values: Iterable[Text | str], justify: str = "right") -> dict[str, object]:
    """A column of figures (or short words): every value whole, the header wrapped to fit."""
    return {"justify": justify, "min_width": _widest(values)}


def spark_column(lines: Iterable[Text | str]) -> dict[str, object]:
    """A column of sparklines: never wrapped (a gap in a sparkline is a week, not a space)."""
    return {"no_wrap": True, "min_width": _widest(lines)}


def _cell_width(cell: object, no_wrap: bool, whole: bool) -> int:
    """A cell's width: its longest line (`whole`, or a column that never wraps), else its
    longest word; 1 for another renderable (rich measures it)."""
    if not isinstance(cell, Text | str):
        return 1
    text = cell.plain if isinstance(cell, Text) else cell
    parts = text.splitlines() if whole or no_wrap else text.split()
    return max((cell_len(part) for part in parts), default=0)


def _widths(column: Column, whole: bool) -> int:
    """The width `column` needs without padding: its cells' longest line (`whole`) or
    longest word, and at least its min_width."""
    cells = [column.header, *column.cells]
    return max([column.min_width or 0, *(_cell_width(c, column.no_wrap, whole) for c in cells)])


def _laid_out(part: Table, width: int) -> Table:
    """`part` with each column's width fixed when its natural widths do not fit: every
    column at least its narrowest whole width, the space left to the columns that want it
    most (rich's own narrowing would cut a word or overflow instead)."""
    narrowest = [_widths(column, whole=False) for column in part.columns]
    natural = [_widths(column, whole=True) for column in part.columns]
    room = width - 1 - 3 * len(part.columns)
    if sum(natural) <= room:
        return part
    widths = list(narrowest)
    for _ in range(max(0, room - sum(widths))):
        wants = [n - w for n, w in zip(natural, widths, strict=True)]
        widest = max(range(len(widths)), key=lambda i: wants[i])
        if wants[widest] <= 0:
            break
        widths[widest] += 1
    for column, chosen in zip(part.columns, widths, strict=True):
        column.width = chosen
    return part


def fitted(table: Table, width: int) -> list[RenderableType]:
    """`table` as it is when every column fits `width` whole; else cut into several tables
    of consecutive columns, each repeating the first (the names) and each column narrowed
    no further than its longest word, the title above the first and the caption (the
    legend of "—" and "< 5") under the last, as wide as the terminal."""
    first, rest = table.columns[0], table.columns[1:]
    needed = {id(column): _widths(column, whole=False) + 3 for column in table.columns}
    if not rest or sum(needed.values()) + 1 <= width:
        return [_laid_out(_copy(table, table.columns, table.title, table.caption), width)]
    groups: list[list[Column]] = []
    while rest:
        used = 1 + needed[id(first)] + needed[id(rest[0])]
        taken = [rest[0]]
        for column in rest[1:]:
            if used + needed[id(column)] > width:
                break
            taken.append(column)
            used += needed[id(column)]
        groups.append(taken)
        rest = rest[len(taken) :]
    parts: list[RenderableType] = [
        _laid_out(_copy(table, [first, *group], table.title if i == 0 else None, None), width)
        for i, group in enumerate(groups)
    ]
    if table.caption:
        caption = table.caption
        parts.append(caption if isinstance(caption, Text) else Text(str(caption)))
    return parts


def _copy(table: Table, columns: list[Column], title: object, caption: object) -> Table:
    part = copy.copy(table)
    part.columns = [copy.copy(column) for column in columns]
    for index, column in enumerate(part.columns):
        column._index = index
    part.rows = list(table.rows)
    part.title, part.caption = title, caption  # type: ignore[assignment]
    return part


def print_fitted(console: Console, renderable: RenderableType) -> None:
    """Print a table (or a group of them) as `fitted` lays it out for the console's width."""
    if isinstance(renderable, Group):
        for part in renderable.renderables:
            print_fitted(console, part)
    elif isinstance(renderable, Table):
        for part in fitted(renderable, console.width):
            console.print(part)
    else:
        console.print(renderable)
