"""How the pages write numbers and table cells (the HTML report and the Markdown page alike)."""

from __future__ import annotations

import math


def fmt(value, digits: int = 3) -> str:
    """A number for display ('—' for missing; scientific where the decimals would read 0)."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "—"
    if isinstance(value, float):
        if value != 0 and abs(value) < 0.5 * 10.0 ** -digits:  # would read as 0.000
            return f"{value:.1e}"
        return f"{value:.{digits}f}" if abs(value) < 1e4 else f"{value:.3g}"
    return str(value)


def interval(pair, digits: int = 3) -> str:
    """'[low, high]' ('' where there is none)."""
    if not pair or all(v is None for v in pair):
        return ""
    low, high = pair
    return f"[{fmt(low, digits)}, {fmt(high, digits)}]"


def cell(value) -> str:
    """A plan table's cell as text: a seed spread {mean, min, max} as 'mean [min, max]', a list
    as its items, a boolean as yes/no, a number through fmt, text as it is."""
    if isinstance(value, dict) and {"mean", "min", "max"} <= set(value):
        if value["mean"] is None:
            return "—"
        return f"{fmt(value['mean'])} {interval((value['min'], value['max']))}"
    if isinstance(value, list | tuple):
        return ", ".join(cell(v) for v in value) or "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return fmt(value)
