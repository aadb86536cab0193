"""Figures: built without a display, failed points marked, bad input rejected."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

from mi_cvx import InvalidInputError, oracles
from mi_cvx.plotting import plot_sweep, plot_water_levels, save_figure


def frame():
    rows = []
    for sy in (0.5, 1.0):
        for sn in (0.1, 1.0):
            for d in (0.0, 0.25, 0.5, 1.0):
                mi = float(oracles.scalar_gaussian_mi(sy, sn, d))
                rows.append({"signal_var": sy, "noise_var": sn, "budget": d, "mi": mi, "oracle": mi, "ok": True})
    out = pd.DataFrame(rows)
    out.loc[3, "ok"] = False  # one flagged point
    return out


def test_plot_sweep_panels_hues_and_failed_points(tmp_path):
    fig = plot_sweep(frame(), panel="signal_var", hue="noise_var", oracle=True, title="t")
    assert isinstance(fig, Figure)
    axes = [ax for ax in fig.axes if ax.get_visible()]
    assert len(axes) == 2
    first = axes[0]
    labels = [line.get_label() for line in first.get_lines()]
    assert "0.1" in labels and "1" in labels
    # the flagged point is drawn as a red cross, not joined to its curve
    crosses = [line for line in first.get_lines() if line.get_marker() == "x"]
    assert len(crosses) == 1 and crosses[0].get_color() == "red"
    curve = next(line for line in first.get_lines() if line.get_label() == "0.1")
    assert len(curve.get_xdata()) == 3
    path = save_figure(fig, tmp_path / "f.png")
    assert path.read_bytes()[:4] == b"\x89PNG"


def test_plot_sweep_bits_and_single_panel():
    data = frame()
    nats = plot_sweep(data[data["signal_var"] == 1.0], hue="noise_var")
    bits = plot_sweep(data[data["signal_var"] == 1.0], hue="noise_var", units="bits")
    y_nats = nats.axes[0].get_lines()[0].get_ydata()
    y_bits = bits.axes[0].get_lines()[0].get_ydata()
    np.testing.assert_allclose(np.asarray(y_bits) * np.log(2), y_nats)
    assert "bits" in bits.axes[0].get_ylabel()


def test_plot_sweep_rejects_bad_input(tmp_path):
    with pytest.raises(InvalidInputError, match="no column"):
        plot_sweep(frame(), hue="colour")
    with pytest.raises(InvalidInputError, match="DataFrame"):
        plot_sweep([1, 2, 3])
    with pytest.raises(InvalidInputError, match="units"):
        plot_sweep(frame(), units="hartleys")
    with pytest.raises(InvalidInputError, match="does not exist"):
        save_figure(plot_sweep(frame()), tmp_path / "missing" / "f.png")


def test_water_levels_figure():
    lam = np.array([1.0, 4.0, 0.5, 2.0])
    fb = oracles.falling_bar(lam, 3.0)
    fig = plot_water_levels(lam, fb.allocation, fb.level, oracle_allocation=fb.allocation, title="w")
    ax = fig.axes[0]
    bars = [p.get_height() for p in ax.patches]
    assert sorted(bars[:4], reverse=True) == bars[:4] == [4.0, 2.0, 1.0, 0.5]  # descending channel powers
    np.testing.assert_allclose(bars[4:], np.minimum(fb.level, [4.0, 2.0, 1.0, 0.5]))
    assert any("water level" in t.get_text() for t in ax.get_legend().get_texts())
    with pytest.raises(InvalidInputError):
        plot_water_levels(lam, fb.allocation[:2])
