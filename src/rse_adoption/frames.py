"""The library's results as pandas DataFrames, typed one way for every result (docs/api.md):
pandas is imported only when a frame is asked for, so a cron run never pays for it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd


#: Columns that hold a day (ISO text in the CSV and JSON): datetime64 in a DataFrame.
DATE_COLUMNS = frozenset(
    {"as_of", "window_start", "cut", "expected", "earliest", "latest", "crossed", "week"}
)
#: Words of the columns that hold a share, a rate or a score (Float64 even when every value
#: happens to be whole, or hidden).
_FRACTION_WORDS = ("share", "progress", "points", "gini", "hours", "estimate", "low", "high")


def _empty_dtype(name: str) -> str:
    """The type of a column none of whose values is known, from its name."""
    if name in ("covered", "suppressed") or name.startswith(("is_", "meets_")):
        return "boolean"
    if any(w in name for w in (*_FRACTION_WORDS, "_pp")):
        return "Float64"
    if name == "scope":  # a list of site names, or null
        return "object"
    if name.endswith(("_days", "_weeks", "_count", "_people")):
        return "Int64"
    return "string"


def typed_frame(
    rows: Any, columns: list[str] | None = None, dtypes: dict[str, str] | None = None
) -> pd.DataFrame:
    """A result's rows as a DataFrame with pandas' nullable types, the same for every
    result: days as datetime64 (DATE_COLUMNS, `*_expected`, `*_day`, `*_date`), counts
    Int64, shares and scores Float64, words string, flags boolean; hidden figures <NA>.
    Hidden rows stay, marked by their `suppressed` column. `dtypes` gives the type of
    columns whose schema is known (then even an empty table is typed)."""
    import pandas as pd

    frame = pd.DataFrame(rows, columns=columns)
    for i, name in enumerate(frame.columns):  # by position: a table may repeat a name
        if name in DATE_COLUMNS or name.endswith(("_expected", "_day", "_date")):
            days: Any = pd.to_datetime(frame.iloc[:, i], errors="coerce")
            frame.isetitem(i, days.astype("datetime64[ns]"))
    frame = frame.convert_dtypes()
    for i, name in enumerate(frame.columns):
        column: Any = frame.iloc[:, i]  # typed loosely: pandas-stubs know no nullable astype
        dtype = str(column.dtype)
        values = column.dropna()
        if dtypes and name in dtypes:
            if not dtypes[name].startswith("datetime"):
                frame.isetitem(i, column.astype(dtypes[name]))
            continue
        if dtype == "object" and not len(values):  # every value hidden: typed by its name
            frame.isetitem(i, column.astype(_empty_dtype(name)))
            continue
        if dtype == "object" and len(values):
            if values.map(lambda v: isinstance(v, bool)).all():
                frame.isetitem(i, column.astype("boolean"))
                continue
            numbers: Any = pd.to_numeric(column, errors="coerce")
            if numbers.notna().sum() == len(values):  # numbers, some hidden
                column, dtype = numbers.astype("Float64"), "Float64"
                frame.isetitem(i, column)
        fraction = any(w in name for w in _FRACTION_WORDS) and not name.endswith(
            ("_count", "_weeks", "_days", "_people")
        )
        if dtype in ("Int64", "Float64") and fraction:
            frame.isetitem(i, column.astype("Float64"))
        elif dtype == "Float64" and (column.dropna() % 1 == 0).all():
            frame.isetitem(i, column.astype("Int64"))  # a count with hidden values
    return frame
