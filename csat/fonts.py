"""Which font file draws the text of the chart pictures (the review pack's docx).

A picture is pixels: text its font lacks comes out as empty boxes, and nobody notices until the
review meeting. So the picture renderer names ONE font file and checks, character by character,
that its character map covers every piece of text before drawing. Chinese needs a CJK font, and
many Linux machines have none: it is looked for in this order:
`CSAT_CHART_FONT` (a .ttf/.ttc/.otf file), fontconfig's list of fonts that cover Chinese, then
the usual files on Windows (Microsoft YaHei, SimHei, SimSun), macOS (PingFang, Heiti, Hiragino)
and Debian/Ubuntu (WenQuanYi, Noto CJK). English-only text also takes a Latin font (DejaVu,
Liberation, Arial, Helvetica). A text no font covers is refused (FontMissing), never drawn
with boxes; `csat doctor` warns ahead of time.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

FONT_ENV = "CSAT_CHART_FONT"
PACKAGE_HINT = "fonts-wqy-microhei"

_WINDOWS_FONTS = Path(os.environ.get("WINDIR", r"C:\Windows")) / "Fonts"
CJK_CANDIDATES = (
    _WINDOWS_FONTS / "msyh.ttc", _WINDOWS_FONTS / "msyh.ttf", _WINDOWS_FONTS / "simhei.ttf",
    _WINDOWS_FONTS / "simsun.ttc",
    Path("/System/Library/Fonts/PingFang.ttc"), Path("/System/Library/Fonts/STHeiti Light.ttc"),
    Path("/System/Library/Fonts/Hiragino Sans GB.ttc"), Path("/Library/Fonts/Arial Unicode.ttf"),
    Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"), Path("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc"),
    Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"),
    Path("/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc"),
    Path("/usr/share/fonts/google-noto-cjk/NotoSansCJK-Regular.ttc"),
)
LATIN_CANDIDATES = (
    _WINDOWS_FONTS / "arial.ttf", _WINDOWS_FONTS / "segoeui.ttf",
    Path("/System/Library/Fonts/Helvetica.ttc"), Path("/Library/Fonts/Arial.ttf"),
    Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"),
    Path("/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf"),
    Path("/usr/share/fonts/truetype/liberation2/LiberationSans-Regular.ttf"),
    Path("/usr/share/fonts/dejavu/DejaVuSans.ttf"),
)
SAMPLE_CHINESE = "客户满意度平均值行动限"   # characters every Chinese chart shows


@dataclass(frozen=True)
class Font:
    """One font file (face 0 of a collection), its family name and the characters it draws."""

    path: Path
    family: str
    characters: frozenset[int]

    def missing(self, text: str) -> str:
        """The characters of text this font cannot draw (spaces and controls aside), in order, once each."""
        seen: dict[str, None] = {}
        for character in text:
            if not character.isspace() and ord(character) >= 32 and ord(character) not in self.characters:
                seen[character] = None
        return "".join(seen)


@functools.lru_cache(maxsize=32)
def load(path: Path) -> Font | None:
    """The font at path, or None if it is not a font fontTools can read."""
    from fontTools.ttLib import TTFont, TTLibError

    try:
        font = TTFont(str(path), fontNumber=0, lazy=True)
    except (OSError, TTLibError, AssertionError, ValueError, IndexError):
        return None
    try:
        characters = frozenset(font.getBestCmap() or {})
        family = font["name"].getBestFamilyName() or path.stem
    except (OSError, TTLibError, KeyError, AssertionError, ValueError, IndexError):
        return None
    finally:
        font.close()
    return Font(path, family, characters)


@functools.lru_cache(maxsize=1)
def _fontconfig_chinese() -> tuple[Path, ...]:
    """Files fontconfig says cover Chinese (empty without fontconfig)."""
    command = shutil.which("fc-list")
    if not command:
        return ()
    try:
        listed = subprocess.run([command, ":lang=zh", "file"], capture_output=True, text=True, timeout=20, check=False)
    except (OSError, subprocess.SubprocessError):
        return ()
    files = sorted({line.strip().rstrip(":") for line in listed.stdout.splitlines() if line.strip()})
    # Sans (hei) faces read better in a chart than serif (song/ming) ones.
    return tuple(Path(name) for name in sorted(files, key=lambda name: ("sans" not in name.lower() and "hei" not in name.lower(), name)))


def configured() -> Path | None:
    """The font file named by CSAT_CHART_FONT, if set."""
    value = os.environ.get(FONT_ENV, "").strip()
    return Path(value).expanduser() if value else None


def candidates(cjk: bool) -> list[Path]:
    """Font files to try, the configured one first."""
    found = [configured()] if configured() else []
    if cjk:
        found += [*_fontconfig_chinese(), *CJK_CANDIDATES]
    else:
        found += [*LATIN_CANDIDATES, *CJK_CANDIDATES, *_fontconfig_chinese()]
    return [path for path in dict.fromkeys(found) if path is not None]


def _fallback_disabled() -> bool:
    # Tests set this to see what a machine without fonts gets.
    return os.environ.get("CSAT_CHART_FONT_ONLY", "") == "1"


def font_for(text: str) -> Font | None:
    """The first font that draws every character of text, or None if no font here does."""
    needs_cjk = any(ord(character) > 0x2E7F for character in text)
    paths = candidates(needs_cjk)
    if _fallback_disabled():
        paths = paths[:1] if configured() else []
    for path in paths:
        if path.is_file():
            font = load(path)
            if font is not None and not font.missing(text):
                return font
    return None


def chinese_font() -> Font | None:
    """A font that draws Chinese chart text, or None (what `csat doctor` reports)."""
    return font_for(SAMPLE_CHINESE)
