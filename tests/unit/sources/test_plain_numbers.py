"""A plain number column (decimal point, no separators expected) is matched with patterns without
thousands groups: DuckDB's cast refuses a value with a separator anyway, so every value casts exactly
as with the full patterns of its number style, and a value with a separator stays NULL (a value that
does not fit, which sends the file to the staged path)."""

from __future__ import annotations

import duckdb
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.config import ColumnSpec, ColumnType, SourceConfig
from pipeline.sources.casting import NumberStyle, bound, cast_expression, thousands_for

EXAMPLES = ["12", "-7", "+3", "12.50", "0.10", ".5", "5.", "1e3", "2.5E-4", "1,234", "1,234.5", "12,000,000",
            "1 234", "1\u00a0234", "1\u202f234", "1'234", "1.234.567", "1_234", "nan", "inf", "-Infinity", "+-2",
            "12.000", "007", "9" * 25, " 12.5 ", "", "e", "1e", "1.2.3", "0x1F"]
VALUES = st.text(alphabet="0123456789+-.,'eE _\u00a0x", max_size=12)
SOURCE = SourceConfig.model_validate({"paths": ["data/*.csv"], "columns": {"v": {"type": "number"}}})


def casts(kind: ColumnType, values: list[str], thousands: str) -> tuple[list, list]:
    """Each value cast as a plain column, with the plain patterns and with the style's full ones."""
    sql_expr, _ = cast_expression('"v"', "VARCHAR", ColumnSpec(type=kind), SOURCE, plain=True)
    params = NumberStyle(".", thousands_for(thousands, ".")).params()
    full = {**params, "num_plain": params["num_ok"], "int_plain": params["int_ok"]}
    sql = f"SELECT {sql_expr} FROM unnest($values) AS t(v)"
    con = duckdb.connect()
    try:
        return tuple(
            [row[0] for row in con.execute(sql, {**bound(sql, p), "values": values}).fetchall()]
            for p in (params, full)
        )
    finally:
        con.close()


@pytest.mark.parametrize("kind", [ColumnType.NUMBER, ColumnType.INTEGER])
@pytest.mark.parametrize("thousands", ["auto", ",", " ", "'", "none"])
def test_plain_patterns_cast_the_examples_as_the_full_ones(kind, thousands):
    plain, full = casts(kind, EXAMPLES, thousands)
    assert plain == full
    assert plain[EXAMPLES.index("12.50")] == (12.5 if kind is ColumnType.NUMBER else None)
    assert plain[EXAMPLES.index("1,234")] is None and plain[EXAMPLES.index("nan")] is None


@settings(max_examples=200, deadline=None)
@given(values=st.lists(VALUES, min_size=1, max_size=40))
def test_plain_patterns_cast_any_value_as_the_full_ones(values):
    for kind in (ColumnType.NUMBER, ColumnType.INTEGER):
        plain, full = casts(kind, values, "auto")
        assert plain == full, [(v, a, b) for v, a, b in zip(values, plain, full) if a != b]
