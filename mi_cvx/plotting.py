"""Matplotlib figures of sweeps and attacks (the paper's Figures 3-6 and more).

Everything here uses matplotlib's object-oriented API (``matplotlib.figure.Figure``),
never ``pyplot``: no display is needed, no global backend is changed, and
figures are not kept alive by a global registry.  Save with
``fig.savefig(path)`` or :func:`save_figure`.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pandas as pd
from matplotlib.figure import Figure

from .errors import InvalidInputError
from .info import NATS_PER_BIT

__all__ = ["plot_sweep", "plot_water_levels", "save_figure"]


def _require_columns(frame: pd.DataFrame, columns) -> None:
    if not isinstance(frame, pd.DataFrame):
        raise InvalidInputError("frame", f"expected a pandas DataFrame (e.g. from mi_cvx.sweep), got "
                                f"{type(frame).__name__}")
    missing = [c for c in columns if c is not None and c not in frame.columns]
    if missing:
        raise InvalidInputError("frame", f"has no column(s) {missing}; it has {list(frame.columns)}")


def _label(value) -> str:
    if isinstance(value, (float, np.floating)):
        return f"{float(value):g}"
    return str(value)


def plot_sweep(
    frame: pd.DataFrame,
    *,
    x: str = "budget",
    y: str = "mi",
    hue: str | None = None,
    panel: str | None = None,
    units: str = "nats",
    oracle: bool = False,
    title: str | None = None,
    xlabel: str | None = None,
    ylabel: str | None = None,
    hue_label: str | None = None,
    panel_label: str | None = None,
    logy: bool = False,
    ncols: int | None = None,
    panel_size: tuple[float, float] | None = None,
) -> Figure:
    """Plot information against budget (or any column) from a sweep frame.

    Parameters
    ----------
    frame : pandas.DataFrame
        From :func:`mi_cvx.sweep` / :func:`mi_cvx.sweep_grid` (needs the ``x``
        and ``y`` columns; ``ok`` marks failed points).
    x, y : str
        Columns for the axes (default ``budget`` and ``mi``).
    hue : str, optional
        Column whose values get one line each.
    panel : str, optional
        Column whose values get one subplot each.
    units : {"nats", "bits"}
        Unit of ``y`` when it is ``mi`` (``"bits"`` divides by ``log 2``).
    oracle : bool
        Also draw the ``oracle`` column as thin dashed black lines.
    title, xlabel, ylabel, hue_label, panel_label : str, optional
        Text for the figure, axes, legend title and panel titles.
    logy : bool
        Logarithmic y axis.
    ncols : int, optional
        Panels per row (default: up to 4).
    panel_size : (float, float), optional
        Size of each panel in inches (default 4 x 3.2, or 6.4 x 4.4 for a
        single panel).

    Returns
    -------
    matplotlib.figure.Figure
        Failed or inaccurate points (``ok`` False) are drawn as red crosses,
        never joined to the curve.

    Raises
    ------
    InvalidInputError
        If ``frame`` is not a DataFrame, lacks a named column, or ``units`` is unknown.
    """
    _require_columns(frame, [x, y, hue, panel])
    if units not in ("nats", "bits"):
        raise InvalidInputError("units", f"must be 'nats' or 'bits', got {units!r}")
    scale = 1.0 / NATS_PER_BIT if (units == "bits" and y in ("mi", "oracle")) else 1.0
    panels = list(dict.fromkeys(frame[panel])) if panel else [None]
    ncols = ncols or min(4, len(panels))
    nrows = int(np.ceil(len(panels) / ncols))
    if panel_size is None:
        panel_size = (6.4, 4.4) if len(panels) == 1 else (4.0, 3.2)
    fig = Figure(figsize=(panel_size[0] * ncols, panel_size[1] * nrows + (0.4 if title else 0)),
                 layout="constrained")
    axes = np.atleast_1d(fig.subplots(nrows, ncols, squeeze=False)).ravel()
    ok_col = frame["ok"] if "ok" in frame.columns else pd.Series(True, index=frame.index)
    for ax, pval in zip(axes, panels, strict=False):
        sub = frame if panel is None else frame[frame[panel] == pval]
        groups = [(None, sub)] if hue is None else list(sub.groupby(hue, sort=False))
        for hval, g in groups:
            g = g.sort_values(x)
            good = ok_col.loc[g.index].astype(bool)
            label = None if hue is None else _label(hval)
            line, = ax.plot(g.loc[good, x], g.loc[good, y] * scale, marker="o", ms=3, lw=1.4, label=label)
            if oracle and "oracle" in g.columns and g["oracle"].notna().any():
                ax.plot(g[x], g["oracle"] * scale, ls="--", lw=0.8, color="black", alpha=0.6)
            if (~good).any():
                bad = g.loc[~good]
                ax.plot(bad[x], np.nan_to_num(bad[y].to_numpy(float) * scale), ls="none", marker="x",
                        color="red", ms=7, label="failed" if label is None else None)
        if panel is not None:
            ax.set_title(f"{panel_label or panel} = {_label(pval)}")
        ax.set_xlabel(xlabel or x)
        ax.set_ylabel(ylabel or (f"I(Y; Z) [{units}]" if y == "mi" else y))
        if logy:
            ax.set_yscale("log")
        ax.grid(alpha=0.3)
        if hue is not None:
            ax.legend(title=hue_label or hue, fontsize=8, title_fontsize=8)
    for ax in axes[len(panels):]:
        ax.set_visible(False)
    if title:
        fig.suptitle(title)
    return fig


def plot_water_levels(
    eigenvalues: npt.ArrayLike,
    allocation: npt.ArrayLike,
    level: float | None = None,
    *,
    oracle_allocation: npt.ArrayLike | None = None,
    title: str | None = None,
) -> Figure:
    """Reverse water-filling ("falling bar") picture of an optimal projection attack.

    Each principal channel ``i`` of ``X = A Y`` is a bar of height
    ``lam_i = signal_var * s_i**2``; the attack spends ``D_i = min(mu, lam_i)``
    on it (the shaded part), so channels below the level ``mu`` are erased and
    the others keep ``lam_i / mu`` of signal-to-error ratio.

    Parameters
    ----------
    eigenvalues : array_like of float
        Channel powers ``lam_i`` (plotted in descending order).
    allocation : array_like of float
        Budget ``D_i`` per channel, in the same order as ``eigenvalues``.
    level : float, optional
        The water level ``mu`` (drawn as a horizontal line).
    oracle_allocation : array_like of float, optional
        The closed-form allocation (falling bar), drawn as black ticks.
    title : str, optional

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    InvalidInputError
        If the sequences have different lengths or contain non-finite values.
    """
    lam = np.asarray(eigenvalues, dtype=float).ravel()
    alloc = np.asarray(allocation, dtype=float).ravel()
    if lam.shape != alloc.shape or not (np.all(np.isfinite(lam)) and np.all(np.isfinite(alloc))):
        raise InvalidInputError("allocation", f"expected finite arrays of equal length, got {lam.shape} and "
                                f"{alloc.shape}")
    order = np.argsort(-lam, kind="stable")
    lam, alloc = lam[order], alloc[order]
    idx = np.arange(1, lam.size + 1)
    fig = Figure(figsize=(6.4, 3.8), layout="constrained")
    ax = fig.subplots()
    ax.bar(idx, lam, color="#c6dbef", edgecolor="#3182bd", label=r"channel power $\lambda_i$")
    ax.bar(idx, alloc, width=0.55, color="#e6550d", alpha=0.85, label=r"attack budget $D_i$ (SDP)")
    if oracle_allocation is not None:
        orc = np.asarray(oracle_allocation, dtype=float).ravel()[order]
        ax.plot(idx, orc, ls="none", marker="_", ms=22, mew=2, color="black",
                label=r"falling bar $\min(\mu, \lambda_i)$")
    if level is not None and np.isfinite(level):
        ax.axhline(level, color="black", ls="--", lw=1, label=rf"water level $\mu$ = {level:.3g}")
    ax.set_xlabel("principal channel i (descending power)")
    ax.set_ylabel("power")
    ax.set_xticks(idx)
    ax.legend(fontsize=8)
    ax.grid(axis="y", alpha=0.3)
    if title:
        ax.set_title(title)
    return fig


def save_figure(fig: Figure, path: str | os.PathLike, *, dpi: int = 120) -> Path:
    """Save ``fig`` (PNG unless the suffix says otherwise) and return the path.

    Raises
    ------
    InvalidInputError
        If the parent directory does not exist.
    """
    path = Path(path)
    if not path.parent.exists():
        raise InvalidInputError("path", f"directory {path.parent} does not exist")
    fig.savefig(path, dpi=dpi)
    return path
