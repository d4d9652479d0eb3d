"""Chinese text in matplotlib figures, without tofu boxes.

:func:`use_cjk_font` (run once when :mod:`utils.plots` is imported) keeps DejaVu Sans for
Latin text and adds the first installed Chinese font as matplotlib's per-glyph fallback,
so a title such as ``"训练集 label distribution"`` or the class names
``utils.data.FASHION_CLASSES_ZH`` render in both scripts. On Debian/Ubuntu the font comes
from ``fonts-noto-cjk`` (``make install`` installs it when it can); without any Chinese
font the figures still work and a warning says what to install.
"""
from __future__ import annotations

import warnings

import matplotlib as mpl
from matplotlib import font_manager

__all__ = ["CJK_FONTS", "cjk_font", "use_cjk_font"]

# Simplified-Chinese families first, in order of preference (Linux, macOS, Windows).
CJK_FONTS = (
    "Noto Sans CJK SC", "Source Han Sans SC", "Noto Sans SC", "WenQuanYi Zen Hei",
    "WenQuanYi Micro Hei", "Droid Sans Fallback", "PingFang SC", "Hiragino Sans GB",
    "Heiti SC", "Microsoft YaHei", "SimHei", "Arial Unicode MS", "Noto Sans CJK JP",
)
LATIN_FONT = "DejaVu Sans"


def cjk_font(candidates=CJK_FONTS) -> str | None:
    """The first family in ``candidates`` that matplotlib can find, or ``None``."""
    installed = {f.name for f in font_manager.fontManager.ttflist}
    return next((name for name in candidates if name in installed), None)


def use_cjk_font(candidates=CJK_FONTS) -> str | None:
    """Make matplotlib draw Chinese characters; return the Chinese family used (or ``None``).

    Sets ``font.family`` to ``[DejaVu Sans, <Chinese font>]``: matplotlib (3.6 and later)
    takes each glyph from the first family in that list that has it. (A generic family such
    as ``sans-serif`` would resolve to one font only, with no fallback.)
    """
    font = cjk_font(candidates)
    rest = [f for f in mpl.rcParams["font.sans-serif"] if f not in (LATIN_FONT, font)]
    if font is None:
        warnings.warn(
            "没有找到中文字体，图中的中文会显示成方框。请安装 fonts-noto-cjk"
            "（Debian/Ubuntu: sudo apt-get install fonts-noto-cjk），然后重启内核。 / "
            "No Chinese font found: Chinese text in figures would show as boxes. "
            "Install fonts-noto-cjk (sudo apt-get install fonts-noto-cjk) and restart the kernel.",
            stacklevel=2,
        )
        mpl.rcParams["font.sans-serif"] = [LATIN_FONT, *rest]
        mpl.rcParams["font.family"] = ["sans-serif"]
    else:
        mpl.rcParams["font.sans-serif"] = [LATIN_FONT, font, *rest]
        mpl.rcParams["font.family"] = [LATIN_FONT, font]
    return font
