"""Number formatting shared by the Markdown and HTML reports: one rule per kind of figure, so a cost
is always $ per 1,000 images with three significant figures (never 9.89e-05), a rate a percentage."""
from __future__ import annotations

import math

NM = "not measured"


def f(x, digits: int = 3) -> str:
    """A plain figure: fixed decimals; tiny non-zero values keep `digits` significant figures, no exponent."""
    if x is None:
        return NM
    if isinstance(x, float):
        if x != 0 and abs(x) < 10 ** -digits:
            return f"{x:.{digits - 1 - math.floor(math.log10(abs(x)))}f}"
        return f"{x:.{digits}f}"
    return str(x)


def ci(values, digits: int = 3) -> str:
    return f"[{f(values[0], digits)}, {f(values[1], digits)}]" if values else "(CI not measured)"


def usd(x: float | None) -> str:
    """Dollars with three significant figures and thousands separators: $1,234, $9.89, $0.0989."""
    if x is None:
        return NM
    if x == 0:
        return "$0"
    decimals = max(0, 2 - math.floor(math.log10(abs(x))))
    return f"${x:,.{decimals}f}"


def per_1000(usd_per_image: float | None) -> str:
    return usd(None if usd_per_image is None else usd_per_image * 1000)


def pct(x: float | None, digits: int = 1) -> str:
    return NM if x is None else f"{100 * x:.{digits}f} %"


def table(header: list[str], rows: list[list[str]]) -> list[str]:
    """A Markdown table; an empty list (no section) when there are no rows."""
    if not rows:
        return []
    return ["| " + " | ".join(header) + " |", "|" + "---|" * len(header), *("| " + " | ".join(r) + " |" for r in rows), ""]
