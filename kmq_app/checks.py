"""The palette checks on the page: a WCAG contrast matrix, and the colour-vision view.

Display only: every ratio, level, simulated colour and flagged pair comes
from :mod:`kmq_core.wcag` and :mod:`kmq_core.cvd`; this module lays them out
as small HTML pieces (inline styles, no script, nothing from the network).
"""

from __future__ import annotations

import html
import io
import math

import numpy as np
from PIL import Image

from kmq_core import Palette
from kmq_core.palette import parse_hex_list
from kmq_core.cvd import CONFUSABLE_DE, DEFICIENCIES, VISIONS, confusable_pairs, simulate
from kmq_core.wcag import LEVELS, contrast_matrix, contrast_pairs, contrast_ratio

from . import views

__all__ = ["VISIONS", "DEFICIENCIES", "palette_of", "vision_label", "contrast_html", "vision_html", "flag_counts",
           "simulated_png"]

#: the matrix is drawn up to this many colours (it must fit beside the palette); the pairs list always
MATRIX_MAX = 16
#: text samples of the pairs that pass AA for body text, at most
PAIRS_SHOWN = 12
#: flagged pairs listed, at most (the closest; a large palette has hundreds of near neighbours)
FLAGGED_SHOWN = 20
_VISION_LABELS = {"normal": "Normal", "protanopia": "Protanopia", "deuteranopia": "Deuteranopia",
                  "tritanopia": "Tritanopia"}
VISION_HELP = ("How the result and the palette look to people without one kind of cone: protanopia (red), "
               "deuteranopia (green), tritanopia (blue); Machado, Oliveira & Fernandes (2009) at full severity. "
               f"Pairs of swatches closer than ΔE2000 {CONFUSABLE_DE:g} are flagged: they read as one colour.")
#: the levels' cell colours: (background, text), strongest first
_LEVEL_STYLE = {"AAA": ("#1b6e35", "#fff"), "AA": ("#8fd19e", "#102a16"), "AA large": ("#f3d67a", "#3b2f00"),
                "": ("#f0f0f0", "#8a8a8a")}

CSS = """
.kmq-contrast, .kmq-vision { font: 12px/1.35 system-ui, sans-serif; }
.kmq-contrast .scroll { overflow-x: auto; }
.kmq-contrast table { border-collapse: separate; border-spacing: 1px; margin: 0; }
.kmq-contrast th, .kmq-contrast td { padding: 0; border: 0; text-align: center; }
.kmq-contrast td { min-width: 20px; height: 20px; font: 10px/20px ui-monospace, monospace; border-radius: 3px;
  letter-spacing: -.3px; }
.kmq-sw { display: inline-block; width: 20px; height: 20px; border-radius: 3px; border: 1px solid rgba(0,0,0,.2);
  font: 9px/20px ui-monospace, monospace; text-align: center; vertical-align: middle; box-sizing: border-box; }
.kmq-legend span, .kmq-chip { display: inline-block; margin: 2px 4px 2px 0; padding: 1px 6px; border-radius: 4px;
  font-size: 11px; }
.kmq-chip { border: 1px solid rgba(0,0,0,.15); font-size: 13px; }
.kmq-vision .strip { display: flex; flex-wrap: wrap; gap: 3px; margin: 4px 0 6px; }
.kmq-vision .pair { display: flex; flex-direction: column; border-radius: 4px; overflow: hidden;
  border: 1px solid rgba(0,0,0,.2); width: 30px; }
.kmq-vision .pair span { height: 16px; font: 9px/16px ui-monospace, monospace; text-align: center; }
.kmq-vision ul { margin: 2px 0; padding-left: 18px; }
.kmq-vision li { font-size: 13px; margin: 1px 0; }
"""


def palette_of(hexes: tuple[str, ...]) -> Palette:
    """The palette of hex codes (what the page caches its checks by)."""
    return Palette(parse_hex_list(",".join(hexes)))


def vision_label(vision: str) -> str:
    return _VISION_LABELS[vision]


def _ink(rgb) -> str:
    """Black or white, whichever has the higher WCAG contrast on ``rgb``."""
    return "#000" if contrast_ratio(rgb, [0, 0, 0]) >= contrast_ratio(rgb, [255, 255, 255]) else "#fff"


def _swatch(rgb, text: str = "", title: str = "") -> str:
    hx = "#%02x%02x%02x" % tuple(int(v) for v in rgb)
    return (f'<span class="kmq-sw" style="background:{hx};color:{_ink(rgb)}" '
            f'title="{html.escape(title or hx)}">{html.escape(text)}</span>')


def _best(ratio: float) -> str:
    """The strongest level a ratio reaches, as the matrix colours it ('' below 3:1)."""
    reached = [name for name, need in LEVELS.items() if ratio >= need]
    return "AAA" if "AAA" in reached else "AA" if "AA" in reached else "AA large" if reached else ""


def _cut(ratio: float) -> str:
    """The ratio cut (never rounded up) to what fits a cell: 4.48 -> '4.4', 12.7 -> '12'."""
    return f"{math.floor(ratio * 10) / 10:.1f}" if ratio < 10 else f"{math.floor(ratio):d}"


def contrast_html(p: Palette) -> str:
    """The WCAG 2.2 contrast matrix of ``p`` (numbered as the swatches, up to :data:`MATRIX_MAX` colours),
    a legend, and text samples of the pairs that pass AA for body text."""
    n = len(p)
    parts = ['<div class="kmq-contrast">']
    if 1 < n <= MATRIX_MAX:
        m = contrast_matrix(p.colors)
        head = "".join(f"<th>{_swatch(c, str(i + 1))}</th>" for i, c in enumerate(p.colors))
        rows = []
        for i in range(n):
            cells = []
            for j in range(n):
                if i == j:
                    cells.append("<td></td>")
                    continue
                level = _best(m[i, j])
                bg, fg = _LEVEL_STYLE[level]
                tip = f"{p.hex[i]} and {p.hex[j]}: {m[i, j]:.2f}:1, {level or 'below 3:1, not for text'}"
                cells.append(f'<td class="lv" data-level="{level or "fail"}" style="background:{bg};color:{fg}" '
                             f'title="{tip}">{_cut(m[i, j])}</td>')
            rows.append(f"<tr><th>{_swatch(p.colors[i], str(i + 1))}</th>{''.join(cells)}</tr>")
        parts.append(f'<div class="scroll"><table><tr><th></th>{head}</tr>{"".join(rows)}</table></div>')
    elif n > MATRIX_MAX:
        parts.append(f"<div>The matrix is drawn for up to {MATRIX_MAX} colours; the pairs follow.</div>")
    legend = "".join(f'<span style="background:{bg};color:{fg}">{label}</span>' for label, (bg, fg) in (
        ("AAA: 7:1, any text", _LEVEL_STYLE["AAA"]), ("AA: 4.5:1", _LEVEL_STYLE["AA"]),
        ("large text only: 3:1", _LEVEL_STYLE["AA large"]), ("below 3:1", _LEVEL_STYLE[""])))
    parts.append(f'<div class="kmq-legend">{legend}</div>')
    body = contrast_pairs(p.colors, "AA")
    large = len(contrast_pairs(p.colors, "AA large"))
    total = n * (n - 1) // 2
    parts.append(f'<div class="kmq-count">{len(body)} of {total} pairs can carry body text (AA), '
                 f'{large} large text.</div>')
    chips = []
    for q in body[:PAIRS_SHOWN]:
        a, b = p.colors[q.i], p.colors[q.j]
        fg, bg = (p.hex[q.i], p.hex[q.j]) if contrast_ratio(a, [0] * 3) < contrast_ratio(b, [0] * 3) else (
            p.hex[q.j], p.hex[q.i])
        chips.append(f'<span class="kmq-chip" style="color:{fg};background:{bg}" '
                     f'title="{fg} on {bg}">Aa {_cut(q.ratio)}:1 {"AAA" if "AAA" in q.levels else "AA"}</span>')
    if len(body) > PAIRS_SHOWN:
        chips.append(f"<span>and {len(body) - PAIRS_SHOWN} more</span>")
    parts.append(f'<div class="kmq-pairs">{"".join(chips)}</div></div>')
    return "".join(parts)


def flag_counts(p: Palette) -> dict[str, int]:
    """How many pairs of ``p`` each deficiency merges (ΔE2000 below 3 after simulation)."""
    return {d: len(confusable_pairs(p.colors, d)) for d in DEFICIENCIES}


def vision_html(p: Palette, vision: str) -> str:
    """The palette as seen with ``vision`` (each swatch over its simulated colour) and the flagged pairs."""
    seen = simulate(p.colors, vision)
    strip = "".join(
        f'<div class="pair" title="{p.hex[i]} looks like #{s[0]:02x}{s[1]:02x}{s[2]:02x}">'
        f'<span style="background:{p.hex[i]};color:{_ink(p.colors[i])}">{i + 1}</span>'
        f'<span style="background:#{s[0]:02x}{s[1]:02x}{s[2]:02x}"></span></div>' for i, s in enumerate(seen))
    flagged = confusable_pairs(p.colors, vision)
    who = "everyone" if vision == "normal" else f"with {vision}"
    if flagged:
        items = "".join(
            f"<li>{_swatch(seen[q.i], str(q.i + 1))} {_swatch(seen[q.j], str(q.j + 1))} "
            f"{p.hex[q.i]} and {p.hex[q.j]}: ΔE2000 {q.delta_e:.1f} "
            f"({q.delta_e_normal:.1f} in normal vision)</li>" for q in flagged[:FLAGGED_SHOWN])
        if len(flagged) > FLAGGED_SHOWN:
            items += f'<li class="more">and {len(flagged) - FLAGGED_SHOWN} more</li>'
        both = sum(q.delta_e_normal < CONFUSABLE_DE for q in flagged) if vision != "normal" else 0
        also = f", {both} of them in normal vision too" if both else ""
        pairs = (f'<div class="flagged"><b>{len(flagged)} pair{"s" if len(flagged) != 1 else ""} look alike '
                 f"{who}</b> (ΔE2000 below {CONFUSABLE_DE:g}{also}):<ul>{items}</ul></div>")
    else:
        pairs = f'<div class="flagged">No two swatches look alike {who} (every pair ΔE2000 {CONFUSABLE_DE:g} or more).</div>'
    return (f'<div class="kmq-vision" data-vision="{vision}"><div>Palette: each colour over how it looks '
            f'{who}</div><div class="strip">{strip}</div>{pairs}</div>')


def simulated_png(png: bytes, vision: str) -> bytes:
    """A preview PNG (RGB or RGBA, palette colours only) as seen with ``vision``, as PNG again."""
    with Image.open(io.BytesIO(png)) as im:
        icc = im.info.get("icc_profile")
        pixels = np.asarray(im.convert("RGBA" if "A" in im.getbands() or "transparency" in im.info else "RGB"))
    return views.encode_png(simulate(pixels, vision), icc)
