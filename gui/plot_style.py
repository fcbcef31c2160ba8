"""How the plots look: colours a colour-blind viewer can tell apart, text a back row can read.

Everything a plot draws takes its colour from here, so one test can check the contrast of every
text colour against its background (WCAG AA asks at least 4.5:1 for text).
"""

from __future__ import annotations

__all__ = ["PALETTE", "RUN_SYMBOLS", "SYMBOL_GLYPHS", "BACKGROUND", "TEXT", "MUTED_TEXT", "GRID_ALPHA",
           "BADGE_SAME", "BADGE_DIFFERENT", "BADGE_WAITING", "TEXT_COLOURS", "contrast_ratio",
           "relative_luminance", "run_colour", "run_symbol", "line_width", "swatch_html"]

# Okabe & Ito's palette (2008), made for colour-blind readers, in an order where neighbours
# differ most. Runs also get a marker shape each (below): colour is never the only cue.
PALETTE = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000", "#882255"]
RUN_SYMBOLS = ["o", "s", "t1", "d", "star", "t", "p", "h"]
SYMBOL_GLYPHS = {"o": "\u25cf", "s": "\u25a0", "t1": "\u25b2", "d": "\u25c6", "star": "\u2605",
                 "t": "\u25bc", "p": "\u2b1f", "h": "\u2b22", "+": "\u271a", "x": "\u2716"}

BACKGROUND = "#ffffff"
TEXT = "#1a1a1a"          # titles, axis labels, tick labels, legend text: 17:1 on white
MUTED_TEXT = "#4d4d4d"    # secondary notes: 8.5:1 on white
GRID_ALPHA = 0.25

# The comparison's verdict, as a badge: (text colour, background).
BADGE_SAME = ("#ffffff", "#1d6b38")        # "identical to the bit": 6.6:1
BADGE_DIFFERENT = ("#1a1a1a", "#ffd166")   # "first differs at ...": 12:1
BADGE_WAITING = ("#1a1a1a", "#e6e6e6")     # "waiting for both to train": 14:1

# Every (text, background) pair the plot area paints; a test holds each to 4.5:1.
TEXT_COLOURS = [(TEXT, BACKGROUND), (MUTED_TEXT, BACKGROUND), BADGE_SAME, BADGE_DIFFERENT, BADGE_WAITING]

BASE_LINE_WIDTH = 2.0


def relative_luminance(colour: str) -> float:
    """WCAG 2.x relative luminance of ``#rrggbb``."""
    channels = [int(colour.lstrip("#")[i:i + 2], 16) / 255 for i in (0, 2, 4)]
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast_ratio(foreground: str, background: str) -> float:
    """WCAG contrast ratio, from 1 (none) to 21 (black on white)."""
    a, b = sorted((relative_luminance(foreground), relative_luminance(background)), reverse=True)
    return (a + 0.05) / (b + 0.05)


def run_colour(index: int) -> str:
    return PALETTE[index % len(PALETTE)]


def run_symbol(index: int) -> str:
    return RUN_SYMBOLS[index % len(RUN_SYMBOLS)]


def line_width(scale: float = 1.0) -> float:
    return BASE_LINE_WIDTH * scale


def swatch_html(index: int, dashed: bool = False) -> str:
    """A run's colour and marker as a few characters of rich text (the legend's and readout's key).

    The glyphs carry the colour; the text beside them stays dark, so names keep their contrast.
    """
    line = "\u254c\u254c" if dashed else "\u2501\u2501"
    glyph = SYMBOL_GLYPHS.get(run_symbol(index), "\u25cf")
    return f"<span style='color:{run_colour(index)}'>{line}{glyph}{line}</span>"
