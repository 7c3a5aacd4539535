"""A review-pack Chart as a PNG picture (for the docx), drawn without a display.

The chart is laid out here as SVG and rasterised by resvg (the `resvg-py` wheel: 1.4 MB, about
3 MB installed, a few milliseconds a chart). matplotlib with its Agg backend would do the same
for about 100 MB installed (matplotlib, Pillow, fontTools, kiwisolver, contourpy) and half a
second of import; a line chart with a limit line does not need it.

resvg draws text with the font it is given and shows nothing (or boxes) for characters that font
lacks, so one font file is chosen by csat.fonts and checked against every piece of text of the
chart first: a chart whose text no font here can draw raises FontMissing (one line saying what to
install) instead of putting boxes into a quality record.
"""

from __future__ import annotations

import math
from xml.sax.saxutils import escape, quoteattr

from csat.errors import CsatError
from csat.i18n import _, in_context
from csat.reports.review.model import Chart

WIDTH, HEIGHT = 720, 360
LEFT, RIGHT, TOP = 64, 24, 44
ZOOM = 2.0                      # 1440 x 720 pixels: sharp when Word scales it to the page width
COLOURS = ("#1F4E79", "#2E7D32", "#8E24AA", "#EF6C00", "#00838F", "#6D4C41", "#C2185B", "#455A64")
LIMIT_COLOUR = "#C00000"


class FontMissing(CsatError):
    """No font on this machine draws all the text of a chart."""


def limit_name(lang: str) -> str:
    """The legend's word for a limit line, in the document's language."""
    return in_context(lang, "report", "Action limit")


def texts(chart: Chart, lang: str) -> list[str]:
    """Every piece of text the picture shows."""
    shown = [chart.title, chart.y_label, *chart.categories, *(series.name for series in chart.series)]
    if any(series.limit is not None for series in chart.series):
        shown.append(limit_name(lang))
    return [text for text in shown if text]


def choose_font(chart: Chart, lang: str):
    """The font that draws every character of the chart, or FontMissing."""
    from csat import fonts

    text = "".join(texts(chart, lang)) or "0123456789"
    font = fonts.font_for(text + "0123456789.-")
    if font is None:
        raise FontMissing(_("no font on this machine draws the chart text {sample!r}: install {package} (Debian/Ubuntu)"
                            " or set {variable} to a .ttf/.ttc/.otf file with Chinese characters, or write the pack"
                            " as .html, .xlsx or .md", sample=_sample(text), package=fonts.PACKAGE_HINT,
                            variable=fonts.FONT_ENV))
    return font


def _sample(text: str) -> str:
    wide = [character for character in text if ord(character) > 0x2E7F]
    return "".join(dict.fromkeys(wide))[:8] or text[:20]


def _text_width(text: str, size: float) -> float:
    """Roughly how wide text is drawn (CJK characters are square, Latin ones about half that)."""
    return sum(size if ord(character) > 0x2E7F else size * 0.58 for character in text)


def _range(values: list[float]) -> tuple[float, float, float]:
    """Axis low, high and tick step around the values (the limit included), with a margin."""
    if not values:
        return 0.0, 100.0, 20.0
    low, high = min(values), max(values)
    span = max(high - low, 8.0)
    low, high = low - span * 0.15, high + span * 0.15
    raw = (high - low) / 5
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(multiple * magnitude for multiple in (1, 2, 2.5, 5, 10) if multiple * magnitude >= raw)
    return math.floor(low / step) * step, math.ceil(high / step) * step, step


def _tick(value: float, step: float) -> str:
    return f"{value:.0f}" if float(step).is_integer() else f"{value:.1f}"


def _legend(chart: Chart, lang: str) -> list[tuple[str, str, bool]]:
    """(label, colour, dashed) of each line."""
    entries = []
    several = len(chart.series) > 1
    for index, series in enumerate(chart.series):
        colour = COLOURS[index % len(COLOURS)]
        entries.append((series.name, colour, False))
        if series.limit is not None:
            name = limit_name(lang)
            entries.append((f"{series.name}: {name}" if several else name, LIMIT_COLOUR if not several else colour, True))
    return entries


def svg(chart: Chart, lang: str, family: str) -> str:
    """The chart as an SVG document drawn with the font family given."""
    size = 13.0
    legend = _legend(chart, lang)
    rows, x = 1, LEFT
    for label, _colour, _dashed in legend:
        width = 34 + _text_width(label, size) + 18
        if x + width > WIDTH - RIGHT and x > LEFT:
            rows, x = rows + 1, LEFT
        x += width
    bottom = HEIGHT - 34 - rows * 20
    plot_left, plot_right = LEFT, WIDTH - RIGHT
    values = [value for series in chart.series for value in series.values if _finite(value)]
    values += [series.limit for series in chart.series if _finite(series.limit)]
    low, high, step = _range(values)
    count = len(chart.categories)
    inset = 24

    def x_of(index: int) -> float:
        if count <= 1:
            return (plot_left + plot_right) / 2
        return plot_left + inset + (plot_right - plot_left - 2 * inset) * index / (count - 1)

    def y_of(value: float) -> float:
        return TOP + (bottom - TOP) * (high - value) / (high - low)

    parts = [(f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" viewBox="0 0 {WIDTH} {HEIGHT}"'
              f' font-family={quoteattr(family)} font-size="{size:g}">'),
             f'<rect width="{WIDTH}" height="{HEIGHT}" fill="#FFFFFF"/>']
    title_size = 16.0
    while title_size > 9 and _text_width(chart.title, title_size) > WIDTH - 20:
        title_size -= 1
    parts.append(f'<text x="{WIDTH / 2:g}" y="26" text-anchor="middle" font-size="{title_size:g}" font-weight="bold">'
                 f'{escape(chart.title)}</text>')
    tick = low
    while tick <= high + step / 1000:
        y = y_of(tick)
        parts.append(f'<line x1="{plot_left}" y1="{y:.1f}" x2="{plot_right}" y2="{y:.1f}" stroke="#DDDDDD" stroke-width="1"/>')
        parts.append(f'<text x="{plot_left - 6}" y="{y + 4:.1f}" text-anchor="end" fill="#444444">{_tick(tick, step)}</text>')
        tick += step
    parts.append(f'<line x1="{plot_left}" y1="{bottom}" x2="{plot_right}" y2="{bottom}" stroke="#888888" stroke-width="1"/>')
    if chart.y_label:
        middle = (TOP + bottom) / 2
        parts.append(f'<text x="16" y="{middle:.1f}" text-anchor="middle" transform="rotate(-90 16 {middle:.1f})"'
                     f' fill="#444444">{escape(chart.y_label)}</text>')
    label_every = max(1, math.ceil(max((_text_width(category, 12) for category in chart.categories), default=0) * count
                                   / max(plot_right - plot_left, 1)))
    for index, category in enumerate(chart.categories):
        if index % label_every == 0:
            parts.append(f'<text x="{x_of(index):.1f}" y="{bottom + 18}" text-anchor="middle" font-size="12"'
                         f' fill="#444444">{escape(category)}</text>')
    several = len(chart.series) > 1
    for index, series in enumerate(chart.series):
        colour = COLOURS[index % len(COLOURS)]
        if _finite(series.limit):
            y = y_of(series.limit)
            parts.append(f'<line x1="{plot_left}" y1="{y:.1f}" x2="{plot_right}" y2="{y:.1f}"'
                         f' stroke="{colour if several else LIMIT_COLOUR}" stroke-width="2" stroke-dasharray="8 5"/>')
        for segment in _segments([(x_of(position), y_of(value)) if _finite(value) else None
                                  for position, value in enumerate(series.values[:count])]):
            if len(segment) > 1:
                points = " ".join(f"{x:.1f},{y:.1f}" for x, y in segment)
                parts.append(f'<polyline points="{points}" fill="none" stroke="{colour}" stroke-width="2.5"/>')
            parts.extend(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="4" fill="{colour}"/>' for x, y in segment)
    x, y = LEFT, bottom + 44
    for label, colour, dashed in legend:
        width = 34 + _text_width(label, size) + 18
        if x + width > WIDTH - RIGHT and x > LEFT:
            x, y = LEFT, y + 20
        dash = ' stroke-dasharray="6 4"' if dashed else ""
        parts.append(f'<line x1="{x}" y1="{y - 4}" x2="{x + 26}" y2="{y - 4}" stroke="{colour}" stroke-width="2.5"{dash}/>')
        parts.append(f'<text x="{x + 32:.1f}" y="{y}">{escape(label)}</text>')
        x += width
    parts.append("</svg>")
    return "\n".join(parts)


def _finite(value) -> bool:
    return isinstance(value, (int, float)) and math.isfinite(value)


def _segments(points: list[tuple[float, float] | None]) -> list[list[tuple[float, float]]]:
    """Runs of points between missing values (the HTML charts break their lines the same way)."""
    from csat.reports.charts import segments

    return segments(points)


def png(chart: Chart, lang: str) -> bytes:
    """The chart as PNG bytes; FontMissing if no font here draws its text."""
    import resvg_py

    font = choose_font(chart, lang)
    picture = resvg_py.svg_to_bytes(svg_string=svg(chart, lang, font.family), skip_system_fonts=True,
                                    font_files=[str(font.path)], font_family=font.family,
                                    sans_serif_family=font.family, zoom=ZOOM)
    return bytes(picture)
