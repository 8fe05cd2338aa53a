"""zoo.fmt: the one number formatter of pages and CLI."""
import math

import pytest

from zoo import fmt


@pytest.mark.parametrize("x, text", [
    (4_089_184_256, "4.09 G"), (25_557_032, "25.6 M"), (999_000, "999 k"), (999_960, "1.00 M"),
    (1.5e12, "1.50 T"), (12, "12.0 "), (0, "0 "), (61_100_840, "61.1 M"),
])
def test_si_three_significant_digits(x, text):
    assert fmt.si(x) == text


def test_ops_units_say_macs_or_flops_and_flops_are_twice_macs():
    assert fmt.fmt_ops(4_089_184_256) == "4.09 GMACs"
    assert fmt.fmt_ops(4_089_184_256, "FLOPs") == "8.18 GFLOPs"
    assert fmt.ops(10, "FLOPs") == 20 and fmt.ops(10, "MACs") == 10
    with pytest.raises(ValueError):
        fmt.ops(10, "GFLOPS")


def test_parse_si_reads_what_the_pages_print():
    assert fmt.parse_si("4.09 GMACs") == pytest.approx(4.09e9)
    assert fmt.parse_si("25.6 M") == pytest.approx(25.6e6)
    assert fmt.parse_si("714 MMACs") == pytest.approx(714e6)
    with pytest.raises(ValueError):
        fmt.parse_si("n/a")


def test_exact_counts_carry_thousands_separators_and_dash_for_missing():
    assert fmt.count(924_844_032) == "924,844,032"
    assert fmt.count(2_760_448.0) == "2,760,448"
    assert fmt.count(-77_873_152) == "−77,873,152" and fmt.parse_si("−77,873,152") == -77_873_152
    assert fmt.count(None) == fmt.DASH == "—"
    assert fmt.count(math.nan) == "—"
    assert fmt.si(None) == "—" and fmt.fmt_ops(None) == "—" and fmt.fmt_bytes(float("nan")) == "—"


def test_exact_ops_and_both_units():
    assert fmt.exact_ops(10_275) == "10,275 MACs"
    assert fmt.exact_ops(10_275, "FLOPs") == "20,550 FLOPs"
    assert fmt.macs_and_flops(10_275) == "10,275 MACs (20,550 FLOPs)"
    assert fmt.macs_and_flops(4.089e9) == "4.09 GMACs (8.18 GFLOPs)"


def test_parse_si_inverts_count_and_si():
    for n in (1, 999, 10_275, 924_844_032):
        assert fmt.parse_si(fmt.count(n)) == n
    assert fmt.parse_si(fmt.si(61_100_840)) == pytest.approx(61.1e6)


def test_percent():
    assert fmt.percent(12.345) == "12.3 %"
    assert fmt.percent(None) == "—"
