"""A palette for the terminal (``kmq palette show FILE``).

One line per colour: a swatch (24-bit ANSI background colour when ``color``
is true, nothing otherwise), the hex code, the share of pixels when known and
the name. Control characters in names are shown escaped, so a hostile palette
file cannot send escape sequences to the terminal.

With ``--contrast`` (:func:`render_contrast`): the WCAG 2.2 contrast matrix
and the pairs that can carry text; with ``--cvd`` (:func:`render_cvd`): the
palette as seen with each colour-vision deficiency and the pairs that merge.
The figures come from :mod:`kmq_core.wcag` and :mod:`kmq_core.cvd`; this
module only lays them out.
"""

from __future__ import annotations

import numpy as np

from ..palette import Palette

SWATCH = "      "
RESET = "\x1b[0m"


def _printable(s: str) -> str:
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in s)


def render(p: Palette, color: bool) -> str:
    """The palette as text lines, without a final newline (ready for ``print``).

    Parameters
    ----------
    p : Palette
    color : bool
        Draw 24-bit colour swatches with ANSI escape codes.

    Returns
    -------
    str
    """
    has_share = bool(len(p)) and float(p.weights.sum()) > 0
    lines = [f"{_printable(p.name) or '(unnamed)'}: {len(p)} colour{'s' if len(p) != 1 else ''}"]
    width = len(str(len(p)))
    for i, (rgb, h, name, w) in enumerate(zip(p.colors, p.hex, p.names, p.weights), start=1):
        parts = [f"{i:>{width}}"]
        if color:
            r, g, b = (int(v) for v in rgb)
            parts.append(f"\x1b[48;2;{r};{g};{b}m{SWATCH}{RESET}")
        parts.append(h)
        if has_share:
            parts.append(f"{100.0 * float(w):5.1f}%")
        if name != h:
            parts.append(_printable(name))
        lines.append("  ".join(parts))
    return "\n".join(lines)


#: the contrast matrix is printed up to this many colours (wider does not fit a terminal); the pairs always
MATRIX_MAX_COLORS = 16


def _swatch(rgb, color: bool, width: int = len(SWATCH)) -> str:
    if not color:
        return ""
    r, g, b = (int(v) for v in rgb)
    return f"\x1b[48;2;{r};{g};{b}m{' ' * width}{RESET}"


def _best(levels: tuple[str, ...], large: bool) -> str:
    """'AAA', 'AA' or '-' for body text (large=False) or large text."""
    names = ("AAA large", "AA large") if large else ("AAA", "AA")
    return next((n.split()[0] for n in names if n in levels), "-")


def render_contrast(p: Palette, color: bool) -> str:
    """The WCAG 2.2 contrast ratio of every pair of ``p`` and the pairs that pass, as text lines.

    The matrix (for at most :data:`MATRIX_MAX_COLORS` colours) is numbered as
    :func:`render` numbers the palette; below it, every pair reaching at least
    3:1 (AA for large text), highest first, with the best level it reaches for
    body text (AA 4.5:1, AAA 7:1) and for large text (AA 3:1, AAA 4.5:1).
    """
    from ..wcag import contrast_matrix, contrast_pairs, relative_luminance

    n = len(p)
    lines = ["Contrast (WCAG 2.2): body text AA 4.5:1, AAA 7:1; large text AA 3:1, AAA 4.5:1"]
    width = len(str(n))
    if 1 < n <= MATRIX_MAX_COLORS:
        m = contrast_matrix(p.colors)
        pad = width + (3 if color else 0)
        lines.append(" " * pad + "".join(f"{j:>7}" for j in range(1, n + 1)))
        for i in range(n):
            cells = "".join("      -" if i == j else f"{m[i, j]:7.2f}" for j in range(n))
            lines.append(f"{i + 1:>{width}}" + (" " + _swatch(p.colors[i], color, 2) if color else "") + cells)
    elif n > MATRIX_MAX_COLORS:
        lines.append(f"(the matrix is shown for up to {MATRIX_MAX_COLORS} colours; the pairs follow)")
    pairs = contrast_pairs(p.colors, "AA large")
    body = sum("AA" in q.levels for q in pairs)
    total = n * (n - 1) // 2
    lines.append(f"{len(pairs)} of {total} pair{'s' if total != 1 else ''} pass for large text, "
                 f"{body} for body text:")
    for q in pairs:
        a, b = p.colors[q.i], p.colors[q.j]
        sample = ""
        if color:  # the darker colour as text on the lighter one, as a reader would see it
            fg, bg = (a, b) if relative_luminance(a) < relative_luminance(b) else (b, a)
            sample = (f"\x1b[38;2;{fg[0]};{fg[1]};{fg[2]};48;2;{bg[0]};{bg[1]};{bg[2]}m Text {RESET}  ")
        lines.append(f"  {q.i + 1:>{width}} {p.hex[q.i]}  {q.j + 1:>{width}} {p.hex[q.j]}  {sample}"
                     f"{q.ratio:5.2f}:1  body {_best(q.levels, False):<3}  large {_best(q.levels, True)}")
    return "\n".join(lines)


def render_cvd(p: Palette, color: bool) -> str:
    """The palette as seen with each colour-vision deficiency, and the pairs that merge, as text lines.

    Per deficiency (:data:`kmq_core.cvd.DEFICIENCIES`): one line per colour
    with its swatch and the simulated one, then the pairs whose simulated
    colours are closer than ΔE2000 3 (:func:`kmq_core.cvd.confusable_pairs`),
    or a line saying none are.
    """
    from ..cvd import CONFUSABLE_DE, DEFICIENCIES, confusable_pairs, simulate

    width = len(str(len(p)))
    lines = [f"Colour vision (Machado et al. 2009, severity 1.0); pairs closer than ΔE2000 {CONFUSABLE_DE:g} "
             "are flagged"]
    colors = np.asarray(p.colors, np.uint8)
    for deficiency in DEFICIENCIES:
        seen = simulate(colors, deficiency)
        lines.append(f"{deficiency}:")
        for i, (orig, sim) in enumerate(zip(colors, seen), start=1):
            sw = f"{_swatch(orig, color, 3)}{_swatch(sim, color, 3)}  " if color else ""
            lines.append(f"  {i:>{width}}  {sw}{p.hex[i - 1]} -> #{sim[0]:02x}{sim[1]:02x}{sim[2]:02x}")
        flagged = confusable_pairs(colors, deficiency)
        if not flagged:
            lines.append("  no pairs merge")
        for q in flagged:
            lines.append(f"  flagged: {q.i + 1} {p.hex[q.i]} and {q.j + 1} {p.hex[q.j]}: ΔE2000 {q.delta_e:.1f} "
                         f"({q.delta_e_normal:.1f} in normal vision)")
    return "\n".join(lines)
