"""The figures of :func:`mi_cvx.paper.reproduce`: their sweeps, plots and checks.

One function per figure (``_figure3``, ``_figure45`` for Figures 4 and 5,
``_figure6``, ``_redundancy``, ``_water_levels``) solves the convex models
over the figure's grid, writes its CSV and PNG, and checks the claims of
:mod:`mi_cvx.paper.claims` about it; :func:`make_figures` runs a list of them.
Also here: the problems the projection figures solve
(:func:`projection_matrix`, :func:`projection_problem`) and the paper's own
method for Figure 6 (:func:`paper_grid_search`).

The closed forms the curves are checked against are those of docs/theory.md
(section 1: scalar Gaussian; section 2: projections and the falling-bar
algorithm; section 4: the binary channel).
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from .. import oracles as _oracles
from .. import plotting as _plot
from .. import validate as _v
from ..core import AttackProblem
from ..errors import InvalidInputError
from ..gaussian import gaussian_scalar, gaussian_vector
from ..info import binary_entropy
from ..sweep import sweep, sweep_grid
from .checks import (
    ClaimCheck,
    _convex_check,
    _fmt,
    _fmt_pct,
    _largest_drop,
    _max_gap,
    _monotone_check,
    _pct,
    _solved_check,
    _value_at,
    _zero_threshold_check,
)
from .claims import FIGURE_TEXT, claim
from .report import FigureOutcome

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["FIGURES", "make_figures", "paper_grid_search", "projection_matrix", "projection_problem"]

#: The figures :func:`mi_cvx.paper.reproduce` can make, in order.
FIGURES: tuple[str, ...] = ("fig3", "fig4", "fig5", "fig6", "redundancy", "water_levels", "power_grid")

#: The options of the sweeps (``solver``, ``n_jobs``, ``backend``, ``scheduler``, ``progress``).
RunOptions = dict[str, Any]

# ----------------------------------------------------------------- problems


def projection_matrix(m: int, n: int, seed: int, setting: str = "iid") -> np.ndarray:
    """The ``m x n`` observation matrix of the projection figures.

    ``"iid"``: the first ``m`` rows of one ``N(0, 1)`` matrix (so the matrices
    for different ``m`` are nested and ``E||A Y||^2 = signal_var * m * n`` grows
    with ``m``, as in the paper).  ``"fixed_power"``: the same rows scaled so
    that ``||A||_F^2 = n``.  ``"copies"``: the first ``n`` rows repeated
    cyclically, scaled like ``"fixed_power"`` (pure redundancy).

    Raises
    ------
    InvalidInputError
        Unknown ``setting``.
    """
    rows = max(4 * n, m)
    base = np.random.default_rng(seed).normal(size=(rows, n))
    if setting == "iid":
        return base[:m]
    if setting == "fixed_power":
        A = base[:m]
    elif setting == "copies":
        A = base[np.arange(m) % n]
    else:
        raise InvalidInputError("setting", f"must be 'iid', 'fixed_power' or 'copies', got {setting!r}")
    return A * math.sqrt(n / float(np.sum(A * A)))


def projection_problem(m: int, signal_var: float = 1.0, budget: float = 1.0, *, n: int, seed: int,
                       noise_var: float = 0.0, setting: str = "iid") -> AttackProblem:
    """The projection attack ``X = A Y (+ N)`` of Figures 4-5 and the redundancy figure.

    ``A = projection_matrix(m, n, seed, setting)``; noiseless problems use the
    compact rate-distortion SDP, noisy ones the full joint-covariance SDP.

    Raises
    ------
    InvalidInputError
        Bad sizes, variances or budget.
    """
    A = projection_matrix(int(m), int(n), int(seed), setting)
    formulation = "compact" if noise_var == 0 else "full"
    return gaussian_vector(A, budget, signal_var, noise_var, formulation=formulation)


def paper_grid_search(p_xy: Any, budgets: Iterable[float] | np.ndarray, points: int = 21, *,
                      chunk: int | None = None) -> np.ndarray:
    """The paper's method for Figure 6: the best ``q`` on a grid of ``points**4`` flip probabilities.

    ``q[x, y] = P(Delta = 1 | X = x, Y = y)`` on ``linspace(0, 1, points)`` per
    axis; for each budget the smallest ``I(Y; Xhat)`` among grid points with
    ``sum p[x, y] q[x, y] <= D`` (``inf`` when none is feasible).  Every grid
    point is evaluated, as the paper describes (it used 100 points per axis),
    ``chunk`` values of ``q[0, 0]`` at a time (default: about 10^6 grid points
    at a time, so that 100 points per axis fit in memory).

    Raises
    ------
    InvalidInputError
        If ``p_xy`` is not a 2 x 2 pmf, ``points`` < 2 or ``chunk`` < 1.
    """
    p = _v.pmf("p_xy", p_xy, ndim=2, shape=(2, 2))
    points = _v.integer("points", points, low=2)
    step = max(1, 10**6 // points**3) if chunk is None else _v.integer("chunk", chunk, low=1)
    limits = [float(d) + 1e-12 for d in np.atleast_1d(np.asarray(budgets, dtype=float))]
    g = np.linspace(0.0, 1.0, points)
    q00_all, q01, q10, q11 = np.meshgrid(g, g, g, g, indexing="ij", sparse=True)
    p_y = p.sum(axis=0)
    best = np.full(len(limits), np.inf)
    for start in range(0, points, step):
        q00 = q00_all[start:start + step]
        cost = p[0, 0] * q00 + p[0, 1] * q01 + p[1, 0] * q10 + p[1, 1] * q11
        # P(Xhat = 1, Y = y) = p[0, y] q[0, y] + p[1, y] (1 - q[1, y])
        j0 = p[0, 0] * q00 + p[1, 0] * (1 - q10)
        j1 = p[0, 1] * q01 + p[1, 1] * (1 - q11)
        t = j0 + j1
        with np.errstate(divide="ignore", invalid="ignore"):
            t0 = np.where(p_y[0] > 0, j0 / p_y[0], 0.0)
            t1 = np.where(p_y[1] > 0, j1 / p_y[1], 0.0)
        mi = binary_entropy(t) - p_y[0] * binary_entropy(t0) - p_y[1] * binary_entropy(t1)
        mi, cost = np.broadcast_arrays(mi, cost)
        for i, limit in enumerate(limits):
            best[i] = min(best[i], float(np.min(mi[cost <= limit], initial=np.inf)))
    return best


# ------------------------------------------------------------------ configs

_Pmf2 = tuple[tuple[float, float], tuple[float, float]]


@dataclass(frozen=True)
class _Config:
    fig3_signal: tuple[float, ...] = (0.1, 0.4, 0.7, 1.0)
    fig3_noise: tuple[float, ...] = (0.1, 0.4, 0.7, 1.0)
    # D = 0 is left out: it forces Cov(Delta) = 0, a degenerate SDP with no interior point.
    fig3_budgets: tuple[float, ...] = tuple(np.round(np.linspace(0.05, 1.0, 20), 2))
    proj_n: int = 10
    proj_signal: tuple[float, ...] = (0.5, 1.0, 2.0)
    fat_ratios: tuple[float, ...] = (0.1, 0.3, 0.5, 0.7, 0.9)
    tall_ratios: tuple[float, ...] = (1.1, 1.3, 1.5, 1.7, 1.9)
    proj_points: int = 18
    binary_sources: tuple[tuple[str, _Pmf2], ...] = (
        ("uniform", ((0.25, 0.25), (0.25, 0.25))),
        ("correlated", ((0.4, 0.1), (0.1, 0.4))),
        ("concentrated", ((0.9, 0.02), (0.03, 0.05))),
        ("nearly independent", ((0.3, 0.2), (0.29, 0.21))),
    )
    binary_budgets: tuple[float, ...] = tuple(np.round(np.linspace(0.0, 0.5, 26), 3))
    grid_points: int = 21
    red_n: int = 6
    red_m: tuple[int, ...] = (1, 2, 3, 4, 5, 6, 8, 10, 12)
    red_noise: tuple[float, ...] = (0.0, 0.5)
    red_budget: float = 1.5
    water_m: int = 8
    water_n: int = 12
    water_fraction: float = 0.3
    seed: int = 2020


_FULL = _Config()
_QUICK = _Config(
    fig3_signal=(0.4, 1.0),
    fig3_noise=(0.1, 1.0),
    fig3_budgets=(0.05, 0.1, 0.4, 0.9, 1.0, 1.2),
    proj_n=5,
    proj_signal=(1.0,),
    fat_ratios=(0.2, 0.8),
    tall_ratios=(1.2, 1.8),
    proj_points=5,
    binary_sources=(
        ("correlated", ((0.4, 0.1), (0.1, 0.4))),
        ("concentrated", ((0.9, 0.02), (0.03, 0.05))),
    ),
    binary_budgets=(0.0, 0.02, 0.05, 0.2, 0.3, 0.5),
    grid_points=9,
    red_n=2,
    red_m=(1, 2, 4),
    red_budget=0.5,
    water_m=4,
    water_n=6,
)


def _outcome(key: str, method: str, **title_fields: str) -> FigureOutcome:
    """An empty outcome for figure ``key`` with its prose from :data:`~mi_cvx.paper.claims.FIGURE_TEXT`."""
    text = FIGURE_TEXT[key]
    return FigureOutcome(key, text.title.format(**title_fields), text.paper, method=method, reading=text.reading)


# ------------------------------------------------------------------ figures


def _figure3(cfg: _Config, out: Path, run: RunOptions) -> FigureOutcome:
    fo = _outcome("fig3", "`gaussian_scalar` (3x3 log-det SDP), swept by `sweep_grid` over signal and noise "
                          "variance; oracle: the closed form of docs/theory.md section 1.")
    frame = sweep_grid(gaussian_scalar, {"signal_var": list(cfg.fig3_signal), "noise_var": list(cfg.fig3_noise)},
                       list(cfg.fig3_budgets), **run)
    keys = ["signal_var", "noise_var"]
    checks = [
        _monotone_check(frame, keys, claim("fig3.monotone")),
        _zero_threshold_check(frame, keys, lambda k: k[0], claim("fig3.zero_threshold")),
    ]

    c = claim("fig3.almost_zero_at_0.9")
    s2, d = c.params["signal_var"], c.params["budget"]
    values = [v for sn in cfg.fig3_noise if (v := _value_at(frame, signal_var=s2, noise_var=sn, budget=d))
              is not None]
    worst = max(values) if values else None
    checks.append(ClaimCheck.of(c, None if worst is None else worst < c.params["below"],
                                f"largest I at D = {d:g} over the noise variances: {_fmt(worst)} nats"))

    c = claim("fig3.noise_vs_budget")
    s2, (n_lo, n_hi), (d_lo, d_hi) = c.params["signal_var"], c.params["noise"], c.params["budget"]
    (about_a, about_b), within = c.params["about"], c.params["within"]
    a = _value_at(frame, signal_var=s2, noise_var=n_lo, budget=d_lo)
    b = _value_at(frame, signal_var=s2, noise_var=n_hi, budget=d_lo)
    z = _value_at(frame, signal_var=s2, noise_var=n_lo, budget=d_hi)
    passed = None
    if a is not None and b is not None and z is not None:
        passed = abs(a - about_a) < within and abs(b - about_b) < within and abs(z) < c.params["tol"]
    checks.append(ClaimCheck.of(c, passed, f"I(noise {n_lo:g}, D {d_lo:g}) = {_fmt(a)}, "
                                           f"I(noise {n_hi:g}, D {d_lo:g}) = {_fmt(b)}, "
                                           f"I(noise {n_lo:g}, D {d_hi:g}) = {_fmt(z, 2)} nats"))

    # The optimal attack beats independent noise of the same power.
    c = claim("fig3.beats_random_noise")
    random_noise = 0.5 * np.log1p(frame["signal_var"] / (frame["noise_var"] + frame["budget"]))
    excess = float((frame["mi"] - random_noise).max())
    pos = frame["budget"] > 0
    saving = float((random_noise - frame["mi"])[pos].min()) if pos.any() else float("nan")
    checks.append(ClaimCheck.of(c, excess <= c.params["tol"] and saving > 0,
                                f"largest I* minus the random-noise information: {excess:.1e}; smallest saving for "
                                f"D > 0: {saving:.2e} nats"))
    checks.append(_convex_check(frame, keys, claim("fig3.convex")))
    fig = _plot.plot_sweep(frame, panel="signal_var", hue="noise_var", oracle=True, xlabel="distortion budget D",
                           panel_label="signal variance", hue_label="noise variance",
                           title="Figure 3: scalar Gaussian, I*(D) (dashed: closed form)")
    return _finish(fo, frame, fig, out, checks)


def _projection_budgets(cfg: _Config, ratios: Sequence[float], signal_var: float) -> list[float]:
    n = cfg.proj_n
    top = signal_var * max(float(np.sum(projection_matrix(round(r * n), n, cfg.seed) ** 2)) for r in ratios)
    grid = np.geomspace(0.1 * signal_var, 1.2 * top, cfg.proj_points)
    ref = _reference_budget(cfg, signal_var)
    return sorted({float(f"{d:.6g}") for d in grid} | {ref})


def _reference_budget(cfg: _Config, signal_var: float) -> float:
    return float(signal_var * cfg.proj_n / 4)


def _projection_frame(cfg: _Config, ratios: Sequence[float], run: RunOptions) -> pd.DataFrame:
    n = cfg.proj_n
    ms = sorted({round(r * n) for r in ratios})
    frames = []
    for s2 in cfg.proj_signal:
        frames.append(sweep_grid(projection_problem, {"signal_var": [s2], "m": ms},
                                 _projection_budgets(cfg, ratios, s2), fixed={"n": n, "seed": cfg.seed}, **run))
    frame = pd.concat(frames, ignore_index=True)
    frame.insert(2, "ratio", frame["m"] / n)
    power = {m: float(np.sum(projection_matrix(m, n, cfg.seed) ** 2)) for m in ms}
    frame.insert(3, "total_power", frame["signal_var"] * frame["m"].map(power))
    return frame


def _projection_checks(frame: pd.DataFrame, key: str) -> list[ClaimCheck]:
    """The checks Figures 4 and 5 (``key``) share: monotone in D, zero threshold, more rows help."""
    keys = ["signal_var", "m"]

    def total_power(k: tuple[Any, ...]) -> float:
        return float(frame.loc[(frame["signal_var"] == k[0]) & (frame["m"] == k[1]), "total_power"].iloc[0])

    checks = [
        _monotone_check(frame, keys, claim(f"{key}.monotone")),
        _zero_threshold_check(frame, keys, total_power, claim(f"{key}.zero_threshold")),
    ]
    c = claim(f"{key}.more_rows")
    worst, count = 0.0, 0
    for _, g in frame.groupby(["signal_var", "budget"]):
        v = g.sort_values("m")["mi"].to_numpy()
        if v.size > 1:
            worst = max(worst, _largest_drop(v))
            count += 1
    checks.append(ClaimCheck.of(c, worst <= c.params["tol"] if count else None,
                                f"largest drop of I when a row is added, over {count} budgets: {worst:.1e} nats "
                                f"({c.params['note']})"))
    return checks


def _scale_check(frame: pd.DataFrame, key: str) -> ClaimCheck:
    """``I*(D; s2) = I*(D / s2; 1)``: the signal-variance panels are copies stretched in D."""
    c = claim(f"{key}.scale")
    levels = sorted(frame["signal_var"].unique())
    if len(levels) < 2:
        return ClaimCheck.of(c, None, "only one signal variance", qualifier="")
    ref = levels[0]
    base = frame[frame["signal_var"] == ref]
    worst, compared = 0.0, 0
    for s2 in levels[1:]:
        for row in frame[frame["signal_var"] == s2].itertuples():
            match = base[(base["m"] == row.m) & np.isclose(base["budget"] * s2 / ref, row.budget,
                                                           rtol=c.params["match_rtol"])]
            if len(match):
                worst = max(worst, abs(float(match["mi"].iloc[0]) - row.mi) / (1 + abs(row.mi)))
                compared += 1
    return ClaimCheck.of(c, (worst <= c.params["rtol"]) if compared else None,
                         f"{compared} matched points; largest relative difference {worst:.1e}",
                         qualifier=c.params["qualifier"])


def _growth(frame: pd.DataFrame, cfg: _Config, r_lo: float, r_hi: float) -> tuple[float | None, float | None]:
    s2 = 1.0 if 1.0 in cfg.proj_signal else cfg.proj_signal[0]
    d = _reference_budget(cfg, s2)
    lo = _value_at(frame, signal_var=s2, ratio=r_lo, budget=d)
    hi = _value_at(frame, signal_var=s2, ratio=r_hi, budget=d)
    return lo, hi


def _figure45(cfg: _Config, out: Path, run: RunOptions, tall: bool, other: pd.DataFrame | None) -> FigureOutcome:
    """Figure 4 (fat projections) or, with ``tall``, Figure 5.

    ``other``: Figure 4's frame, which Figure 5 compares its growth with
    (computed here when None).
    """
    ratios = cfg.tall_ratios if tall else cfg.fat_ratios
    key, kind = ("fig5", "tall (m > n)") if tall else ("fig4", "fat (m < n)")
    fo = _outcome(key, f"`gaussian_vector(A, D, signal_var, formulation=\"compact\")` (rate-distortion log-det SDP "
                       f"of size rank(A)), n = {cfg.proj_n}, A with i.i.d. N(0, 1) entries, swept by `sweep_grid`; "
                       "oracle: the falling bar (Algorithm 1).", kind=kind)
    frame = _projection_frame(cfg, ratios, run)
    checks = _projection_checks(frame, key)
    s2 = 1.0 if 1.0 in cfg.proj_signal else cfg.proj_signal[0]
    d_ref = _reference_budget(cfg, s2)
    lo, hi = _growth(frame, cfg, ratios[0], ratios[-1])
    this_pct = _pct(lo, hi)
    if tall:
        fat = _projection_frame(cfg, cfg.fat_ratios, run) if other is None else other
        c = claim("fig5.fat_vs_tall")
        flo, fhi = _growth(fat, cfg, cfg.fat_ratios[0], cfg.fat_ratios[-1])
        fat_pct = _pct(flo, fhi)
        ok = None if fat_pct is None or this_pct is None else fat_pct > this_pct
        checks.append(ClaimCheck.of(c, ok, f"fat: {_fmt(flo)} -> {_fmt(fhi)} nats ({_fmt_pct(fat_pct)}); tall: "
                                           f"{_fmt(lo)} -> {_fmt(hi)} nats ({_fmt_pct(this_pct)}). "
                                           f"{c.params['caveat']}"))
    else:
        detail = (f"signal_var = {s2:g}, D = {d_ref:g}: I goes from {_fmt(lo)} (m/n = {ratios[0]}) to {_fmt(hi)} "
                  f"nats (m/n = {ratios[-1]}), {_fmt_pct(this_pct)}")
        checks.append(ClaimCheck.of(claim("fig4.growth"), None if this_pct is None else this_pct > 0, detail,
                                    lo=ratios[0], hi=ratios[-1]))
    checks.append(_scale_check(frame, key))
    checks.append(_convex_check(frame, ["signal_var", "m"], claim(f"{key}.convex")))
    fig = _plot.plot_sweep(frame, panel="signal_var", hue="ratio", oracle=True, xlabel="distortion budget D "
                           "(log scale)", panel_label="signal variance", hue_label="m/n",
                           title=f"Figure {key[-1]}: {kind} projections, n = {cfg.proj_n}\n(dashed: falling bar; "
                                 "dotted: D = signal_var x sum of squared singular values)")
    for ax, s2v in zip(fig.axes, list(dict.fromkeys(frame["signal_var"])), strict=False):
        ax.set_xscale("log")
        for tp in frame.loc[frame["signal_var"] == s2v, "total_power"].unique():
            ax.axvline(tp, ls=":", lw=0.7, color="grey")
    return _finish(fo, frame, fig, out, checks)


def _figure6(cfg: _Config, out: Path, run: RunOptions) -> FigureOutcome:
    fo = _outcome("fig6", "`binary_channel(p_xy, D)` (relative-entropy cone model), swept by `sweep` with a grid over "
                          "the DPP parameter `p_xy` (one compiled problem); oracle: the total-variation form of "
                          "docs/theory.md section 4; dashed grey: the paper's own grid search over q (coarser grid).")
    fo.method += " Sources p[x, y]: " + "; ".join(f"{name} {np.array(p).tolist()}" for name, p in cfg.binary_sources)
    fo.method += "."
    try:
        from ..discrete import binary_channel
    except ImportError:
        fo.note = "skipped: the binary family (mi_cvx.discrete.binary_channel) is not available in this build"
        return fo
    names = [name for name, _ in cfg.binary_sources]
    sources = [np.array(p, dtype=float) for _, p in cfg.binary_sources]
    budgets = list(cfg.binary_budgets)
    problem = binary_channel(sources[0], budgets[0])
    frame = sweep(problem, budgets, grid={"p_xy": sources}, **run)
    index = {json_key: name for json_key, name in zip(frame["p_xy"].drop_duplicates(), names, strict=True)}
    frame.insert(0, "source", frame["p_xy"].map(index))
    d0 = dict(zip(names, (_oracles.binary_zero_threshold(p) for p in sources), strict=True))
    frame["D0"] = frame["source"].map(d0)
    frame["paper_grid_mi"] = np.concatenate([paper_grid_search(p, budgets, cfg.grid_points) for p in sources])
    checks = [
        _monotone_check(frame, ["source"], claim("fig6.monotone")),
        _zero_threshold_check(frame, ["source"], lambda k: d0[k[0]], claim("fig6.zero_threshold")),
    ]
    c = claim("fig6.concentrated")
    name = c.params["source"]
    if name in d0:
        d, (lo, hi) = c.params["budget"], c.params["d0_range"]
        after = frame.loc[(frame["source"] == name) & (frame["budget"] >= d), "mi"]
        checks.append(ClaimCheck.of(c, bool(lo <= d0[name] <= hi and after.abs().max() <= c.params["tol"]),
                                    f"D0 = {d0[name]:.4f}; largest I at D >= {d:g}: {after.abs().max():.1e} nats"))
    c = claim("fig6.nearly_independent")
    name = c.params["source"]
    if name in d0:
        d = c.params["budget"]
        at0 = _value_at(frame[frame["source"] == name], budget=d)
        checks.append(ClaimCheck.of(c, None if at0 is None else at0 < c.params["below"],
                                    f"I at D = {d:g}: {_fmt(at0)} nats"))
    c = claim("fig6.uniform")
    name = c.params["source"]
    if name in d0:
        worst = float(frame.loc[frame["source"] == name, "mi"].abs().max())
        checks.append(ClaimCheck.of(c, worst <= c.params["tol"], f"largest I: {worst:.1e} nats"))
    c = claim("fig6.beats_grid_search")
    excess = frame["mi"] - frame["paper_grid_mi"]
    checks.append(ClaimCheck.of(c, float(excess.max()) <= c.params["tol"],
                                f"largest (convex - grid): {excess.max():.1e} nats; largest (grid - convex): "
                                f"{(-excess).max():.2e} nats", points=cfg.grid_points))
    fig = _plot.plot_sweep(frame, hue="source", oracle=False, xlabel="flip budget D", hue_label="p(x, y)",
                           ylabel="I(Y; Xhat) [nats]",
                           title="Figure 6: binary channel, I*(D)\n(dashed grey: the paper's grid search over q)")
    ax = fig.axes[0]
    for name in names:
        g = frame[frame["source"] == name]
        ax.plot(g["budget"], g["paper_grid_mi"], ls="--", lw=0.8, color="grey")
    return _finish(fo, frame, fig, out, checks)


def _redundancy(cfg: _Config, out: Path, run: RunOptions) -> FigureOutcome:
    n, d = cfg.red_n, cfg.red_budget
    fo = _outcome("redundancy", f"`projection_problem(m, budget={d:g}, n={n}, noise_var, setting)`: `gaussian_vector` "
                                "with the compact SDP when noiseless and the full joint-covariance SDP with noise; "
                                "settings: `iid` (the paper's rows, power grows with m), `fixed_power` (the same "
                                "rows scaled to ||A||_F^2 = n), `copies` (the first n rows repeated, scaled "
                                "likewise: pure redundancy); oracle: the structured isotropic path.")
    frame = sweep_grid(projection_problem, {"noise_var": list(cfg.red_noise),
                                            "setting": ["iid", "fixed_power", "copies"], "m": list(cfg.red_m)},
                       [d], fixed={"n": n, "seed": cfg.seed}, **run)
    frame.insert(3, "ratio", frame["m"] / n)

    def curve(noise: float, setting: str) -> pd.DataFrame:
        return frame[(frame["noise_var"] == noise) & (frame["setting"] == setting)].sort_values("m")

    checks = []
    c = claim("redundancy.iid_grows")
    worst = max(_largest_drop(curve(nv, c.params["setting"])["mi"].to_numpy()) for nv in cfg.red_noise)
    checks.append(ClaimCheck.of(c, worst <= c.params["tol"], f"largest drop when a row is added: {worst:.1e} nats"))

    c = claim("redundancy.copies_add_nothing")
    details, same = [], True
    m_top = max(cfg.red_m)
    for nv in cfg.red_noise:
        mi = curve(nv, c.params["setting"]).set_index("m")["mi"]
        if n in mi.index and m_top in mi.index and m_top % n == 0:
            diff = abs(float(mi[m_top] - mi[n]))
            same &= diff <= c.params["rtol"] * (1 + abs(float(mi[n])))
            details.append(f"noise {nv:g}: I(m={n}) = {mi[n]:.4g}, I(m={m_top}) = {mi[m_top]:.4g}")
    checks.append(ClaimCheck.of(c, same if details else None, "; ".join(details), m_top=m_top, n=n))

    c = claim("redundancy.power_not_rows")
    grows, fixed_power = c.params["settings"]
    details, smaller = [], True
    for nv in cfg.red_noise:
        iid, fixed = curve(nv, grows).set_index("m")["mi"], curve(nv, fixed_power).set_index("m")["mi"]
        if n in iid.index and m_top in iid.index and m_top > n:
            g_iid, g_fix = iid[m_top] - iid[n], fixed[m_top] - fixed[n]
            smaller &= g_fix < g_iid
            details.append(f"noise {nv:g}: m = {n} -> {m_top} adds {g_iid:.3g} nats with growing power but only "
                           f"{g_fix:.3g} with fixed power")
    checks.append(ClaimCheck.of(c, smaller if details else None, "; ".join(details)))

    if 0.0 in cfg.red_noise and len(cfg.red_noise) > 1:
        c = claim("redundancy.noise_lowers")
        nv = max(cfg.red_noise)
        lower = all((curve(nv, s)["mi"].to_numpy() <= curve(0.0, s)["mi"].to_numpy() + c.params["tol"]).all()
                    for s in c.params["settings"])
        checks.append(ClaimCheck.of(c, lower, "I(noise) <= I(noiseless) pointwise", noise=nv))
    fig = _plot.plot_sweep(frame, x="ratio", panel="noise_var", hue="setting", oracle=True, xlabel="m / n",
                           panel_label="noise variance", hue_label="rows",
                           title=f"Redundancy: I* at D = {d:g} against m/n (n = {n}; dashed: closed form)")
    for ax in fig.axes:
        ax.axvline(1.0, ls=":", color="grey", lw=0.8)
    return _finish(fo, frame, fig, out, checks)


def _water_levels(cfg: _Config, out: Path, run: RunOptions) -> FigureOutcome:
    m, n = cfg.water_m, cfg.water_n
    A = projection_matrix(m, n, cfg.seed)
    lam_all, U = np.linalg.eigh(A @ A.T)
    order = np.argsort(-lam_all)
    lam, U = lam_all[order], U[:, order]
    d = float(cfg.water_fraction * lam.sum())
    fo = _outcome("water_levels", f"one solve of `gaussian_vector(A, D={d:.4g}, formulation=\"compact\")`, m = {m}, "
                                  f"n = {n}; D_i read off the SDP's error covariance in the eigenbasis of Cov(X); mu = "
                                  "1 / (2 x budget multiplier); oracle: `oracles.falling_bar`.")
    problem = gaussian_vector(A, d, 1.0, 0.0, formulation="compact")
    start = time.perf_counter()
    result = problem.solve(run.get("solver"), raise_on_failure=False)
    err = result.attack.get("error_cov") if result.attack else None
    alloc = np.einsum("ij,jk,ki->i", U.T, err, U) if err is not None else np.full(m, np.nan)
    level = 1.0 / (2.0 * result.dual_budget) if result.dual_budget else float("nan")
    fb = _oracles.falling_bar(lam, d)
    frame = pd.DataFrame({"channel": np.arange(1, m + 1), "lambda": lam, "allocation_sdp": alloc,
                          "allocation_oracle": fb.allocation, "level_sdp": level, "level_oracle": fb.level,
                          "budget": d, "mi": result.mi, "oracle": result.oracle, "oracle_gap": result.oracle_gap,
                          "ok": result.ok, "error": result.message})
    scale = max(1.0, float(lam.max()))
    adiff = float(np.max(np.abs(alloc - fb.allocation))) / scale
    erased = int(np.sum(lam <= fb.level))
    bar, mu, spent = (claim(f"water_levels.{name}") for name in ("falling_bar", "level", "budget_spent"))
    checks = [
        ClaimCheck.of(bar, bool(adiff <= bar.params["rtol"]),
                      f"largest |D_i(SDP) - D_i(falling bar)| / max lambda: {adiff:.1e}"),
        ClaimCheck.of(mu, bool(abs(level - fb.level) <= mu.params["rtol"] * scale),
                      f"mu(SDP) = {level:.6g}, mu(falling bar) = {fb.level:.6g}"),
        ClaimCheck.of(spent, bool(abs(np.nansum(alloc) - d) <= spent.params["rtol"] * scale),
                      f"sum D_i = {np.nansum(alloc):.6g}, D = {d:.6g}; {erased} of {m} channels lie below the level "
                      "and are erased completely"),
    ]
    fig = _plot.plot_water_levels(lam, alloc, level, oracle_allocation=fb.allocation,
                                  title=f"Falling bar: m = {m}, n = {n}, D = {d:.3g}, I* = {result.mi:.3g} nats")
    fo.seconds = time.perf_counter() - start
    return _finish(fo, frame, fig, out, checks, points=1, failed=int(not result.ok))


def _finish(fo: FigureOutcome, frame: pd.DataFrame, fig: Figure, out: Path, checks: list[ClaimCheck], *,
            points: int | None = None, failed: int | None = None) -> FigureOutcome:
    """Write the figure's CSV and PNG into ``out`` and fill in ``fo``."""
    fo.csv = out / f"{fo.key}.csv"
    frame.to_csv(fo.csv, index=False)
    fo.frame = frame
    fo.png = _plot.save_figure(fig, out / f"{fo.key}.png")
    fo.checks = checks
    fo.max_oracle_gap = _max_gap(frame)
    fo.points = len(frame) if points is None else points
    fo.failed = int((~frame["ok"].astype(bool)).sum()) if failed is None else failed
    if fo.failed:
        checks.insert(0, _solved_check(claim("all.solved"), fo.failed, fo.points))
    return fo


# ------------------------------------------------------------------- driver


def make_figures(wanted: Sequence[str], cfg: _Config, out: Path, run: RunOptions) -> list[FigureOutcome]:
    """Make the figures ``wanted`` (keys of :data:`FIGURES`, in that order) into ``out``, timing each."""
    outcomes: list[FigureOutcome] = []
    fat: pd.DataFrame | None = None  # Figure 4's numbers, which Figure 5 compares with
    for key in wanted:
        t0 = time.perf_counter()
        if key == "fig3":
            fo = _figure3(cfg, out, run)
        elif key == "fig4":
            fo = _figure45(cfg, out, run, tall=False, other=None)
            fat = fo.frame
        elif key == "fig5":
            fo = _figure45(cfg, out, run, tall=True, other=fat)
        elif key == "fig6":
            fo = _figure6(cfg, out, run)
        elif key == "redundancy":
            fo = _redundancy(cfg, out, run)
        elif key == "water_levels":
            fo = _water_levels(cfg, out, run)
        elif key == "power_grid":
            from .power_grid import power_grid_figure

            fo = power_grid_figure(out, quick=cfg is _QUICK, solver=run.get("solver"), finish=_finish)
        else:
            raise InvalidInputError("figures", f"unknown figure {key!r}; choose from {', '.join(FIGURES)}")
        fo.seconds = time.perf_counter() - t0
        outcomes.append(fo)
    return outcomes
