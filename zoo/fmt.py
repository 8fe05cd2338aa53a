"""Numbers as CNN Atlas writes them: the one formatter for every count, on every page and in the CLI.

* **Exact counts** carry thousands separators: ``count(924844032)`` -> ``"924,844,032"``.
* **Short counts** have three significant digits and an SI prefix: ``si(4089184256)`` -> ``"4.09 G"``;
  a page that shows a short count puts the exact one in its help text or in a table column.
* **Operations** always name their unit: ``fmt_ops(4.089e9)`` -> ``"4.09 GMACs"``,
  ``fmt_ops(4.089e9, "FLOPs")`` -> ``"8.18 GFLOPs"``. One multiply-accumulate (MAC) is a multiply
  and an add, so FLOPs = 2 × MACs, and nothing else is ever called a FLOP.
* A count that does not apply (a pooling layer's kernel groups, a model with no published figure)
  is ``DASH``, never ``None``, ``nan`` or an empty cell.
"""
from __future__ import annotations

import math
import re

__all__ = ["DASH", "UNITS", "count", "si", "ops", "fmt_ops", "exact_ops", "macs_and_flops", "fmt_params", "fmt_bytes",
           "parse_si", "percent"]

DASH = "—"
UNITS = ("MACs", "FLOPs")

_PREFIXES = ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k"))


def _missing(x) -> bool:
    return x is None or (isinstance(x, float) and math.isnan(x))


def count(n) -> str:
    """An exact count with thousands separators: ``924844032`` -> ``"924,844,032"``, ``-5`` -> ``"−5"``
    (a minus sign, not a hyphen); ``None`` -> ``"—"``."""
    if _missing(n):
        return DASH
    n = int(round(n))
    return f"{n:,}" if n >= 0 else f"−{-n:,}"   # a true minus sign, as in print


def si(x, digits: int = 3) -> str:
    """``4089184256`` -> ``"4.09 G"``: ``digits`` significant digits, an SI prefix and a trailing space
    for the unit (``"812 "`` below a thousand). ``None`` -> ``"—"``."""
    if _missing(x):
        return DASH
    ax = abs(x)
    if ax == 0:
        return "0 "
    for scale, prefix in _PREFIXES:
        if ax >= scale * (1 - 0.5 * 10 ** -digits):  # 999.96 k rounds up to 1.00 M
            return f"{_sig(x / scale, digits)} {prefix}"
    return f"{_sig(x, digits)} " if ax >= 1 else f"{x:.{digits}g} "


def _sig(v: float, digits: int) -> str:
    """``v`` with ``digits`` significant digits and no exponent (callers keep |v| < 1000)."""
    return f"{v:#.{digits}g}".rstrip(".")


def ops(macs: float, unit: str) -> float:
    """The count in the unit asked for: MACs as they are, FLOPs = 2 × MACs."""
    if unit not in UNITS:
        raise ValueError(f"unit must be one of {UNITS}, not {unit!r}")
    return macs if unit == "MACs" else 2 * macs


def fmt_ops(macs: float, unit: str = "MACs") -> str:
    """``fmt_ops(4.089e9)`` -> ``"4.09 GMACs"``; ``fmt_ops(4.089e9, "FLOPs")`` -> ``"8.18 GFLOPs"``."""
    if _missing(macs):
        return DASH
    return f"{si(ops(macs, unit))}{unit}"


def exact_ops(macs: float, unit: str = "MACs") -> str:
    """``exact_ops(10275)`` -> ``"10,275 MACs"``; with ``"FLOPs"``: ``"20,550 FLOPs"``."""
    if _missing(macs):
        return DASH
    return f"{count(ops(macs, unit))} {unit}"


def macs_and_flops(macs: float) -> str:
    """Both units at once: ``10275`` -> ``"10,275 MACs (20,550 FLOPs)"`` below a million, SI prefixes
    above (``"4.09 GMACs (8.18 GFLOPs)"``)."""
    if _missing(macs):
        return DASH
    if abs(macs) < 1e6:
        return f"{exact_ops(macs)} ({exact_ops(macs, 'FLOPs')})"
    return f"{fmt_ops(macs)} ({fmt_ops(macs, 'FLOPs')})"


def fmt_params(n: float) -> str:
    """``25557032`` -> ``"25.6 M"`` (parameters; the caller names them)."""
    return si(n).rstrip()


def fmt_bytes(n: float) -> str:
    """Bytes in decimal units: ``12_345_678`` -> ``"12.3 MB"``."""
    if _missing(n):
        return DASH
    return f"{si(n)}B"


def percent(x: float, digits: int = 1) -> str:
    """A share in percent with a thin space: ``percent(12.345)`` -> ``"12.3 %"``."""
    if _missing(x):
        return DASH
    return f"{x:.{digits}f} %"


_SI_RE = re.compile(r"^\s*([-+]?\d+(?:\.\d+)?)\s*([kMGT]?)")


def parse_si(text: str) -> float:
    """Inverse of ``si`` and ``count``, for tests: ``"4.09 GMACs"`` -> ``4.09e9``, ``"10,275"`` -> ``10275``."""
    m = _SI_RE.match(text.replace(",", "").replace("−", "-"))
    if not m:
        raise ValueError(f"not a number: {text!r}")
    return float(m.group(1)) * {"T": 1e12, "G": 1e9, "M": 1e6, "k": 1e3, "": 1.0}[m.group(2)]
