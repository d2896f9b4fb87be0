"""The one way summary lines write numbers (warehouse.textfmt)."""

from __future__ import annotations

from warehouse.textfmt import count, duration, number, rate, size, took


def test_counts_have_separators_and_agreeing_plurals() -> None:
    assert count(1, "table") == "1 table" and count(0, "table") == "0 tables"
    assert count(10_000, "line") == "10,000 lines" and count(2, "entry", "entries") == "2 entries"
    assert number(1234567) == "1,234,567" and number(1234.6) == "1,235"


def test_rates_only_for_work_of_a_second_or_more() -> None:
    assert rate(50, 0.0001, "rows") == "" and took(50, 0.0001, "rows") == "in 0.00s"
    assert rate(10_000, 4.0, "lines") == "2,500 lines/s"
    assert rate(1, 2.2, "rows") == "0.5 rows/s"  # not "0 rows/s"
    assert took(10_000, 4.0, "lines") == "in 4.0s (2,500 lines/s)"


def test_durations_and_sizes_carry_their_unit() -> None:
    assert [duration(s) for s in (0.42, 3.21, 12.4, 245, 7380)] == [
        "0.42s", "3.2s", "12s", "4m05s", "2h03m"]
    assert [size(n) for n in (263, 2048, 148_700_000)] == ["263 B", "2.0 KiB", "141.8 MiB"]
