"""Figures with the labs' Chinese text render without missing glyphs (no tofu boxes).

matplotlib warns "Glyph ... missing from font(s) ..." when it draws a character no font in
its list has; these tests turn that warning into a failure. The figure is saved under
artifacts/fonts/ for a look.
"""
import warnings

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import pytest

from conftest import ROOT, report_artifact
from utils import data, fonts, plots

ARTIFACTS = ROOT / "artifacts" / "fonts"


@pytest.fixture
def glyphs_must_exist():
    with warnings.catch_warnings():
        warnings.filterwarnings("error", message=r".*[Gg]lyph.*missing from font", category=UserWarning)
        yield


def test_a_chinese_font_is_configured():
    font = fonts.cjk_font()
    assert font is not None, (
        "matplotlib finds no Chinese font: install fonts-noto-cjk "
        "(make system-deps as root, or sudo apt-get install fonts-noto-cjk)")
    fonts.use_cjk_font()
    assert matplotlib.rcParams["font.family"] == ["DejaVu Sans", font]


def test_lab_figures_with_chinese_text_have_every_glyph(glyphs_must_exist):
    fonts.use_cjk_font()
    rng = np.random.default_rng(0)
    images = rng.random((10, 28, 28, 1)).astype("float32")
    labels = np.eye(10)[np.arange(10)]
    fig = plots.plot_images(images, labels, ncols=5, class_names=data.FASHION_CLASSES_ZH)
    fig.suptitle("Fashion-MNIST 样本：每类一张（T恤、裤子……）", y=1.05)
    fig.canvas.draw()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    fig.savefig(ARTIFACTS / "fashion_zh_images.png", dpi=60)

    ax = plots.plot_label_distribution(np.repeat(np.arange(10), 3), class_names=data.FASHION_CLASSES_ZH,
                                       title="训练集标签分布 (label distribution)")
    ax.figure.canvas.draw()
    ax.figure.savefig(ARTIFACTS / "fashion_zh_labels.png", dpi=60)
    report_artifact("figures with Chinese text", ARTIFACTS)
    ticks = [t.get_text() for t in ax.get_xticklabels()]
    assert ticks == data.FASHION_CLASSES_ZH


def test_the_check_catches_tofu(glyphs_must_exist):
    """Without a Chinese font the same text warns, so the check above can fail."""
    matplotlib.rcParams["font.family"] = ["DejaVu Sans"]
    try:
        fig, ax = plt.subplots()
        ax.set_title("裤子")
        with pytest.raises(UserWarning, match="missing from font"):
            fig.canvas.draw()
    finally:
        fonts.use_cjk_font()


def test_no_chinese_font_warns_with_the_package_to_install():
    with pytest.warns(UserWarning, match="fonts-noto-cjk"):
        assert fonts.use_cjk_font(candidates=("No Such Font 123",)) is None
    assert matplotlib.rcParams["font.family"] == ["sans-serif"]
    assert matplotlib.rcParams["font.sans-serif"][0] == "DejaVu Sans"
    fonts.use_cjk_font()
