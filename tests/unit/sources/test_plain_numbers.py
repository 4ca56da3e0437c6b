"""A plain number column (decimal point, no separators expected) is matched with patterns without
thousands groups: DuckDB's cast refuses a value with a separator anyway, so every value casts exactly
as with the full patterns of its number style, and a value with a separator stays NULL (a value that
does not fit, which sends the file to the staged path)."""

from __future__ import annotations

from itertools import product

import duckdb
import pytest

from pipeline.config import ColumnSpec, ColumnType, SourceConfig
from pipeline.sources.casting import NumberStyle, bound, cast_expression, thousands_for

EXAMPLES = ["12", "-7", "+3", "12.50", "0.10", ".5", "5.", "1e3", "2.5E-4", "1,234", "1,234.5", "12,000,000",
            "1 234", "1\u00a0234", "1\u202f234", "1'234", "1.234.567", "1_234", "nan", "inf", "-Infinity", "+-2",
            "12.000", "007", "9" * 25, " 12.5 ", "", "e", "1e", "1.2.3", "0x1F"]
# every text of up to 5 characters from these: signs, digits, every separator, an exponent, a letter
ALPHABET = "01+-.,'e \u00a0x"
ALL_SHORT = ["".join(chars) for n in range(1, 6) for chars in product(ALPHABET, repeat=n)]
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


def test_plain_patterns_cast_every_short_text_as_the_full_ones():
    for kind in (ColumnType.NUMBER, ColumnType.INTEGER):
        plain, full = casts(kind, ALL_SHORT, "auto")
        assert plain == full, [(v, a, b) for v, a, b in zip(ALL_SHORT, plain, full) if a != b][:5]
        assert plain[ALL_SHORT.index("1,000")] is None and plain[ALL_SHORT.index("-10")] == -10
