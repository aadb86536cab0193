"""Regenerate the paper's Figures 3-6 (and two it lacks) with the convex solves, and check its claims.

:func:`reproduce` writes, into one directory,

* ``fig3.png`` .. ``fig6.png``: the scalar Gaussian attack (Theorem 3.1), fat
  and tall random projections (Theorem 3.2) and the binary channel
  (Theorem 3.3), each as ``I*`` against the budget ``D``;
* ``redundancy.png``: information against the number of rows ``m / n`` at a
  fixed budget, with the total signal power free (as in the paper) or fixed,
  with and without observation noise;
* ``water_levels.png``: the reverse water-filling ("falling bar") picture of an
  optimal projection attack, read off the SDP solution;
* one CSV per figure with the data behind it, and ``REPORT.md``, which puts
  each figure beside the paper's claim and says whether the numbers bear it out.

Every curve is computed by solving the CVXPY models (log-det SDPs, the
relative-entropy model of the binary channel) through :func:`mi_cvx.sweep`;
the closed-form oracles of :mod:`mi_cvx.oracles` only check them (the report
gives the largest oracle gap per figure).
"""

from __future__ import annotations

import datetime as _dt
import math
import os
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from . import oracles as _oracles
from . import plotting as _plot
from . import solvers as _solvers
from . import validate as _v
from .core import AttackProblem
from .errors import InvalidInputError
from .gaussian import gaussian_scalar, gaussian_vector
from .info import binary_entropy
from .sweep import sweep, sweep_grid

__all__ = ["FIGURES", "Check", "FigureOutcome", "ReproduceReport", "paper_grid_search", "projection_matrix",
           "projection_problem", "reproduce"]

#: The figures :func:`reproduce` can make, in order.
FIGURES: tuple[str, ...] = ("fig3", "fig4", "fig5", "fig6", "redundancy", "water_levels")

#: Information below this many nats counts as zero (solver accuracy is ~1e-8).
ZERO_TOL = 1e-6


@dataclass
class Check:
    """One claim checked against the numbers.

    Attributes
    ----------
    claim : str
        The claim in words.
    source : str
        ``"paper"`` for the paper's own claim, ``"added"`` for a check this
        package adds (a theorem the figure should obey).
    passed : bool or None
        None when the grid does not contain the points the claim is about.
    detail : str
        The numbers behind the verdict.
    """

    claim: str
    source: str
    passed: bool | None
    detail: str

    def __post_init__(self):
        if self.passed is not None:
            self.passed = bool(self.passed)  # numpy booleans are not ``True``

    @property
    def verdict(self) -> str:
        return {True: "yes", False: "**no**", None: "n/a"}[self.passed]


@dataclass
class FigureOutcome:
    """What :func:`reproduce` made for one figure and what it found."""

    key: str
    title: str
    paper: str
    png: Path | None = None
    csv: Path | None = None
    checks: list[Check] = field(default_factory=list)
    max_oracle_gap: float | None = None
    points: int = 0
    failed: int = 0
    seconds: float = 0.0
    note: str = ""
    method: str = ""
    frame: pd.DataFrame | None = field(default=None, repr=False)

    @property
    def passed(self) -> bool:
        """True when every point solved and no evaluable check failed."""
        return self.failed == 0 and self.png is not None and all(c.passed is not False for c in self.checks)

    def to_dict(self) -> dict:
        return {
            "key": self.key,
            "title": self.title,
            "png": str(self.png) if self.png else None,
            "csv": str(self.csv) if self.csv else None,
            "points": self.points,
            "failed": self.failed,
            "max_oracle_gap": self.max_oracle_gap,
            "seconds": self.seconds,
            "passed": self.passed,
            "note": self.note,
            "checks": [{"claim": c.claim, "source": c.source, "passed": c.passed, "detail": c.detail}
                       for c in self.checks],
        }


@dataclass
class ReproduceReport:
    """The result of :func:`reproduce`: the figures, their checks and ``REPORT.md``."""

    out_dir: Path
    figures: list[FigureOutcome]
    report: Path
    seconds: float
    quick: bool

    @property
    def passed(self) -> bool:
        return all(f.passed for f in self.figures)

    def to_dict(self) -> dict:
        return {"out_dir": str(self.out_dir), "report": str(self.report), "seconds": self.seconds,
                "quick": self.quick, "passed": self.passed, "figures": [f.to_dict() for f in self.figures]}

    def __str__(self) -> str:
        lines = [f"{'figure':<14}{'points':>7}{'failed':>7}{'max|gap|':>11}{'checks':>9}{'time':>8}"]
        for f in self.figures:
            ok = sum(c.passed is True for c in f.checks)
            bad = sum(c.passed is False for c in f.checks)
            gap = "-" if f.max_oracle_gap is None else f"{f.max_oracle_gap:.1e}"
            checks = f"{ok}/{ok + bad}" if f.png else "skipped"
            lines.append(f"{f.key:<14}{f.points:>7}{f.failed:>7}{gap:>11}{checks:>9}{f.seconds:>7.1f}s")
        lines.append(f"wrote {self.report} ({self.seconds:.1f} s)")
        return "\n".join(lines)


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


def paper_grid_search(p_xy, budgets: Sequence[float], points: int = 21) -> np.ndarray:
    """The paper's method for Figure 6: the best ``q`` on a grid of ``points**4`` flip probabilities.

    ``q[x, y] = P(Delta = 1 | X = x, Y = y)`` on ``linspace(0, 1, points)`` per
    axis; for each budget the smallest ``I(Y; Xhat)`` among grid points with
    ``sum p[x, y] q[x, y] <= D``.  (The paper used 100 points per axis.)

    Raises
    ------
    InvalidInputError
        If ``p_xy`` is not a 2 x 2 pmf or ``points`` < 2.
    """
    p = _v.pmf("p_xy", p_xy, ndim=2, shape=(2, 2))
    points = _v.integer("points", points, low=2)
    g = np.linspace(0.0, 1.0, points)
    q00, q01, q10, q11 = np.meshgrid(g, g, g, g, indexing="ij", sparse=True)
    cost = p[0, 0] * q00 + p[0, 1] * q01 + p[1, 0] * q10 + p[1, 1] * q11
    p_y = p.sum(axis=0)
    # P(Xhat = 1, Y = y) = p[0, y] q[0, y] + p[1, y] (1 - q[1, y])
    j0 = p[0, 0] * q00 + p[1, 0] * (1 - q10)
    j1 = p[0, 1] * q01 + p[1, 1] * (1 - q11)
    t = j0 + j1
    with np.errstate(divide="ignore", invalid="ignore"):
        t0 = np.where(p_y[0] > 0, j0 / p_y[0], 0.0)
        t1 = np.where(p_y[1] > 0, j1 / p_y[1], 0.0)
    mi = binary_entropy(t) - p_y[0] * binary_entropy(t0) - p_y[1] * binary_entropy(t1)
    mi, cost = np.broadcast_arrays(mi, cost)
    return np.array([float(np.min(mi[cost <= d + 1e-12], initial=np.inf)) for d in budgets])


# ------------------------------------------------------------------ configs


@dataclass(frozen=True)
class _Config:
    fig3_signal: tuple = (0.1, 0.4, 0.7, 1.0)
    fig3_noise: tuple = (0.1, 0.4, 0.7, 1.0)
    # D = 0 is left out: it forces Cov(Delta) = 0, a degenerate SDP with no interior point.
    fig3_budgets: tuple = tuple(np.round(np.linspace(0.05, 1.0, 20), 2))
    proj_n: int = 10
    proj_signal: tuple = (0.5, 1.0, 2.0)
    fat_ratios: tuple = (0.1, 0.3, 0.5, 0.7, 0.9)
    tall_ratios: tuple = (1.1, 1.3, 1.5, 1.7, 1.9)
    proj_points: int = 18
    binary_sources: tuple = (
        ("uniform", ((0.25, 0.25), (0.25, 0.25))),
        ("correlated", ((0.4, 0.1), (0.1, 0.4))),
        ("concentrated", ((0.9, 0.02), (0.03, 0.05))),
        ("nearly independent", ((0.3, 0.2), (0.29, 0.21))),
    )
    binary_budgets: tuple = tuple(np.round(np.linspace(0.0, 0.5, 26), 3))
    grid_points: int = 21
    red_n: int = 6
    red_m: tuple = (1, 2, 3, 4, 5, 6, 8, 10, 12)
    red_noise: tuple = (0.0, 0.5)
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


# ------------------------------------------------------------------ helpers


def _curves(frame: pd.DataFrame, keys: list[str]) -> Iterable[tuple[tuple, pd.DataFrame]]:
    for key, g in frame.groupby(keys, sort=False):
        yield (key if isinstance(key, tuple) else (key,)), g.sort_values("budget")


def _max_gap(frame: pd.DataFrame) -> float | None:
    gaps = frame["oracle_gap"].abs() if "oracle_gap" in frame else pd.Series(dtype=float)
    return float(gaps.max()) if gaps.notna().any() else None


def _monotone_check(frame: pd.DataFrame, keys: list[str], claim: str, source: str = "paper") -> Check:
    worst = 0.0
    for _, g in _curves(frame, keys):
        worst = max(worst, float(np.max(np.diff(g["mi"].to_numpy()), initial=0.0)))
    return Check(claim, source, worst <= ZERO_TOL, f"largest increase between neighbouring budgets: {worst:.1e} nats")


def _convex_check(frame: pd.DataFrame, keys: list[str]) -> Check:
    worst = 0.0
    for _, g in _curves(frame, keys):
        d, v = g["budget"].to_numpy(), g["mi"].to_numpy()
        if d.size < 3:
            continue
        slopes = np.diff(v) / np.diff(d)
        worst = max(worst, float(np.max(-(np.diff(slopes)), initial=0.0)))
    return Check("I*(D) is convex in D (a value function of a convex problem, Lemma 2.1)", "added",
                 worst <= 1e-4, f"largest decrease of the slope between neighbouring intervals: {worst:.1e}")


def _zero_threshold_check(frame: pd.DataFrame, keys: list[str], threshold: Callable[[tuple], float], claim: str,
                          source: str = "paper", thr_name: str = "D0") -> Check:
    above, below = 0.0, math.inf
    for key, g in _curves(frame, keys):
        d0 = threshold(key)
        hi = g.loc[g["budget"] >= d0 * (1 + 1e-9), "mi"]
        lo = g.loc[g["budget"] < d0 * (1 - 1e-3), "mi"]
        if len(hi):
            above = max(above, float(hi.abs().max()))
        if len(lo) and d0 > 0:
            below = min(below, float(lo.min()))
    passed = above <= ZERO_TOL and (below == math.inf or below > ZERO_TOL)
    low_text = "no point below" if below == math.inf else f"smallest I below {thr_name}: {below:.2e}"
    return Check(claim, source, passed, f"largest |I| at D >= {thr_name}: {above:.1e} nats; {low_text} nats")


def _value_at(frame: pd.DataFrame, **where) -> float | None:
    mask = np.ones(len(frame), bool)
    for col, val in where.items():
        mask &= np.isclose(frame[col].to_numpy(float), val, rtol=1e-9, atol=1e-12)
    rows = frame.loc[mask, "mi"]
    return float(rows.iloc[0]) if len(rows) else None


def _fmt(value: float | None, digits: int = 3) -> str:
    return "n/a" if value is None else f"{value:.{digits}g}"


# ------------------------------------------------------------------ figures


def _figure3(cfg: _Config, out: Path, run: dict) -> FigureOutcome:
    fo = FigureOutcome(
        "fig3", "Figure 3: scalar Gaussian attack (Theorem 3.1)",
        "For fixed signal variance and noise variance the information decreases monotonically with the "
        "distortion D; reaching zero information needs a distortion comparable to the signal variance (for "
        "signal variance 1, D > 0.9 gives almost zero information whatever the noise); the adversarial "
        "perturbation does more damage than random noise (signal variance 1, D = 0.1: raising the noise variance "
        "from 0.1 to 1 lowers the information from about 0.6 to 0.2, while raising D from 0.1 to 1 at noise 0.1 "
        "lowers it from about 0.6 to 0).",
        method="`gaussian_scalar` (3x3 log-det SDP), swept by `sweep_grid` over signal and noise variance; "
               "oracle: the closed form of MATH.md section 1.",
    )
    frame = sweep_grid(gaussian_scalar, {"signal_var": list(cfg.fig3_signal), "noise_var": list(cfg.fig3_noise)},
                       list(cfg.fig3_budgets), **run)
    keys = ["signal_var", "noise_var"]
    checks = [
        _monotone_check(frame, keys, "I decreases monotonically with D (every curve)"),
        _zero_threshold_check(frame, keys, lambda k: k[0], "I = 0 exactly when D >= signal variance (so zero "
                              "information needs D comparable to the signal variance)", thr_name="signal_var"),
    ]
    worst_09 = [v for sn in cfg.fig3_noise if (v := _value_at(frame, signal_var=1.0, noise_var=sn, budget=0.9))
                is not None]
    checks.append(Check(
        "signal variance 1: D = 0.9 leaves almost zero information whatever the noise variance", "paper",
        (max(worst_09) < 0.02) if worst_09 else None,
        f"largest I at D = 0.9 over the noise variances: {_fmt(max(worst_09) if worst_09 else None)} nats"))
    a, b = _value_at(frame, signal_var=1.0, noise_var=0.1, budget=0.1), _value_at(frame, signal_var=1.0,
                                                                                   noise_var=1.0, budget=0.1)
    c = _value_at(frame, signal_var=1.0, noise_var=0.1, budget=1.0)
    evaluable = None not in (a, b, c)
    checks.append(Check(
        "signal variance 1, D = 0.1: noise variance 0.1 -> 1 lowers I from about 0.6 to about 0.2; at noise 0.1, "
        "D = 0.1 -> 1 lowers it from about 0.6 to 0", "paper",
        (abs(a - 0.6) < 0.1 and abs(b - 0.2) < 0.1 and abs(c) < ZERO_TOL) if evaluable else None,
        f"I(noise 0.1, D 0.1) = {_fmt(a)}, I(noise 1, D 0.1) = {_fmt(b)}, I(noise 0.1, D 1) = {_fmt(c, 2)} nats"))
    # The optimal attack beats independent noise of the same power.
    random_noise = 0.5 * np.log1p(frame["signal_var"] / (frame["noise_var"] + frame["budget"]))
    excess = float((frame["mi"] - random_noise).max())
    pos = frame["budget"] > 0
    saving = float((random_noise - frame["mi"])[pos].min()) if pos.any() else float("nan")
    checks.append(Check(
        "the optimal attack removes more information than independent Gaussian noise of the same power D "
        "(I* <= 0.5 log(1 + signal_var / (noise_var + D)), strictly for D > 0)", "added",
        excess <= ZERO_TOL and saving > 0,
        f"largest I* minus the random-noise information: {excess:.1e}; smallest saving for D > 0: {saving:.2e} nats"))
    checks.append(_convex_check(frame, keys))
    fig = _plot.plot_sweep(frame, panel="signal_var", hue="noise_var", oracle=True, xlabel="distortion budget D",
                           panel_label="signal variance", hue_label="noise variance",
                           title="Figure 3: scalar Gaussian, I*(D) (dashed: closed form)")
    return _finish(fo, frame, fig, out, checks)


def _projection_budgets(cfg: _Config, ratios, signal_var: float) -> list[float]:
    n = cfg.proj_n
    top = signal_var * max(float(np.sum(projection_matrix(round(r * n), n, cfg.seed) ** 2)) for r in ratios)
    grid = np.geomspace(0.1 * signal_var, 1.2 * top, cfg.proj_points)
    ref = _reference_budget(cfg, signal_var)
    return sorted({float(f"{d:.6g}") for d in grid} | {ref})


def _reference_budget(cfg: _Config, signal_var: float) -> float:
    return float(signal_var * cfg.proj_n / 4)


def _projection_frame(cfg: _Config, ratios, run: dict) -> pd.DataFrame:
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


def _projection_checks(frame: pd.DataFrame) -> list[Check]:
    keys = ["signal_var", "m"]
    checks = [
        _monotone_check(frame, keys, "I decreases monotonically with D (every curve)"),
        _zero_threshold_check(
            frame, keys, lambda k: float(frame.loc[(frame["signal_var"] == k[0]) & (frame["m"] == k[1]),
                                                   "total_power"].iloc[0]),
            "I goes to zero as D reaches signal_var x the sum of squared singular values of A (and not before)",
            thr_name="signal_var*sum(s_i^2)"),
    ]
    worst, count = 0.0, 0
    for _, g in frame.groupby(["signal_var", "budget"]):
        v = g.sort_values("m")["mi"].to_numpy()
        if v.size > 1:
            worst = max(worst, float(np.max(-np.diff(v), initial=0.0)))
            count += 1
    checks.append(Check("for a given D, more rows (larger m/n) give more information: the attack is harder",
                        "paper", worst <= ZERO_TOL if count else None,
                        f"largest drop of I when a row is added, over {count} budgets: {worst:.1e} nats "
                        "(the matrices are nested: A for m rows is the first m rows of one Gaussian matrix)"))
    return checks


def _scale_check(frame: pd.DataFrame) -> Check:
    """``I*(D; s2) = I*(D / s2; 1)``: the signal-variance panels are copies stretched in D."""
    levels = sorted(frame["signal_var"].unique())
    if len(levels) < 2:
        return Check("the panels for different signal variances are copies of each other stretched in D "
                     "(I*(D; signal_var) = I*(D / signal_var; 1))", "added", None, "only one signal variance")
    ref = levels[0]
    base = frame[frame["signal_var"] == ref]
    worst, compared = 0.0, 0
    for s2 in levels[1:]:
        for row in frame[frame["signal_var"] == s2].itertuples():
            match = base[(base["m"] == row.m) & np.isclose(base["budget"] * s2 / ref, row.budget, rtol=1e-5)]
            if len(match):
                worst = max(worst, abs(float(match["mi"].iloc[0]) - row.mi) / (1 + abs(row.mi)))
                compared += 1
    return Check("the panels for different signal variances are copies of each other stretched in D "
                 "(I*(D; signal_var) = I*(D / signal_var; 1): only the ratio matters)", "added",
                 (worst <= 1e-4) if compared else None,
                 f"{compared} matched points; largest relative difference {worst:.1e}")


def _growth(frame: pd.DataFrame, cfg: _Config, r_lo: float, r_hi: float) -> tuple[float | None, float | None]:
    s2 = 1.0 if 1.0 in cfg.proj_signal else cfg.proj_signal[0]
    d = _reference_budget(cfg, s2)
    lo = _value_at(frame, signal_var=s2, ratio=r_lo, budget=d)
    hi = _value_at(frame, signal_var=s2, ratio=r_hi, budget=d)
    return lo, hi


def _pct(lo, hi) -> float | None:
    return None if lo is None or hi is None or lo <= 0 else 100.0 * (hi - lo) / lo


def _fmt_pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value:+.0f}%"


def _figure45(cfg: _Config, out: Path, run: dict, tall: bool, other: pd.DataFrame | None) -> FigureOutcome:
    ratios = cfg.tall_ratios if tall else cfg.fat_ratios
    key, kind = ("fig5", "tall (m > n)") if tall else ("fig4", "fat (m < n)")
    paper = ("As D grows to the sum of the squared singular values of the projection (times the signal "
             "variance), the information goes to zero; for a given D, projecting onto more dimensions (larger "
             "m/n) gives more information, so the attack is harder; the gain is larger for fat matrices "
             "(m/n from 0.1 to 0.9: from about 6 to about 120 nats, +1900%) than for tall ones (m/n from 1.1 "
             "to 1.9: from about 150 to 200, +33%).")
    fo = FigureOutcome(key, f"Figure {key[-1]}: {kind} random projections (Theorem 3.2)", paper,
                       method=f"`gaussian_vector(A, D, signal_var, formulation=\"compact\")` (rate-distortion "
                              f"log-det SDP of size rank(A)), n = {cfg.proj_n}, A with i.i.d. N(0, 1) entries, "
                              f"swept by `sweep_grid`; oracle: the falling bar (Algorithm 1).")
    frame = _projection_frame(cfg, ratios, run)
    checks = _projection_checks(frame)
    s2 = 1.0 if 1.0 in cfg.proj_signal else cfg.proj_signal[0]
    d_ref = _reference_budget(cfg, s2)
    lo, hi = _growth(frame, cfg, ratios[0], ratios[-1])
    this_pct = _pct(lo, hi)
    detail = (f"signal_var = {s2:g}, D = {d_ref:g}: I goes from {_fmt(lo)} (m/n = {ratios[0]}) to {_fmt(hi)} nats "
              f"(m/n = {ratios[-1]}), {_fmt_pct(this_pct)}")
    if tall and other is not None:
        flo, fhi = _growth(other, cfg, cfg.fat_ratios[0], cfg.fat_ratios[-1])
        fat_pct = _pct(flo, fhi)
        ok = None if fat_pct is None or this_pct is None else fat_pct > this_pct
        checks.append(Check("the relative gain from more rows is much larger for fat matrices than for tall ones",
                            "paper", ok, f"fat: {_fmt(flo)} -> {_fmt(fhi)} nats ({_fmt_pct(fat_pct)}); tall: "
                            f"{_fmt(lo)} -> {_fmt(hi)} nats ({_fmt_pct(this_pct)}). The paper's absolute values "
                            "(6 -> 120, 150 -> 200) belong to its larger, unstated n and D; the shape is what "
                            "carries over"))
    else:
        checks.append(Check(f"growth of I from m/n = {ratios[0]} to {ratios[-1]} at a fixed D", "paper",
                            None if this_pct is None else this_pct > 0, detail))
    checks.append(_scale_check(frame))
    checks.append(_convex_check(frame, ["signal_var", "m"]))
    fig = _plot.plot_sweep(frame, panel="signal_var", hue="ratio", oracle=True, xlabel="distortion budget D "
                           "(log scale)", panel_label="signal variance", hue_label="m/n",
                           title=f"Figure {key[-1]}: {kind} projections, n = {cfg.proj_n}\n(dashed: falling bar; "
                                 "dotted: D = signal_var x sum of squared singular values)")
    for ax, s2v in zip(fig.axes, list(dict.fromkeys(frame["signal_var"])), strict=False):
        ax.set_xscale("log")
        for tp in frame.loc[frame["signal_var"] == s2v, "total_power"].unique():
            ax.axvline(tp, ls=":", lw=0.7, color="grey")
    return _finish(fo, frame, fig, out, checks)


def _figure6(cfg: _Config, out: Path, run: dict) -> FigureOutcome:
    fo = FigureOutcome(
        "fig6", "Figure 6: binary channel (Theorem 3.3)",
        "Increasing the flip budget D reduces the information; when the source is highly concentrated a small "
        "distortion (about 0.05) sets it to zero; when X and Y are nearly independent there is almost no "
        "information even at D close to 0; for a uniform source the information is zero for any D.",
        method="`binary_channel(p_xy, D)` (relative-entropy cone model), swept by `sweep` with a grid over the "
               "DPP parameter `p_xy` (one compiled problem); oracle: the total-variation form of MATH.md "
               "section 4; dashed grey: the paper's own grid search over q (coarser grid).",
    )
    fo.method += " Sources p[x, y]: " + "; ".join(f"{name} {np.array(p).tolist()}" for name, p in cfg.binary_sources)
    fo.method += "."
    try:
        from .discrete import binary_channel
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
        _monotone_check(frame, ["source"], "I decreases (never increases) with the flip budget D"),
        _zero_threshold_check(frame, ["source"], lambda k: d0[k[0]],
                              "I = 0 exactly when D >= D0 = min(p(y)) |P(X=1|Y=0) - P(X=1|Y=1)| (the zero-information "
                              "threshold of MATH.md section 4), and I > 0 below it", source="added"),
    ]
    if "concentrated" in d0:
        after = frame.loc[(frame["source"] == "concentrated") & (frame["budget"] >= 0.05), "mi"]
        checks.append(Check("highly concentrated source: about 0.05 distortion sets the information to zero",
                            "paper", bool(0.03 <= d0["concentrated"] <= 0.07 and after.abs().max() <= ZERO_TOL),
                            f"D0 = {d0['concentrated']:.4f}; largest I at D >= 0.05: {after.abs().max():.1e} nats"))
    if "nearly independent" in d0:
        at0 = _value_at(frame[frame["source"] == "nearly independent"], budget=0.0)
        checks.append(Check("nearly independent X, Y: almost no information even at D close to 0", "paper",
                            None if at0 is None else at0 < 0.01, f"I at D = 0: {_fmt(at0)} nats"))
    if "uniform" in d0:
        worst = float(frame.loc[frame["source"] == "uniform", "mi"].abs().max())
        checks.append(Check("uniform source: the information is zero for every D", "paper", worst <= ZERO_TOL,
                            f"largest I: {worst:.1e} nats"))
    excess = frame["mi"] - frame["paper_grid_mi"]
    checks.append(Check(
        f"the convex solve is never worse than the paper's grid search ({cfg.grid_points}^4 points), which is "
        "only accurate to the grid spacing", "added", float(excess.max()) <= ZERO_TOL,
        f"largest (convex - grid): {excess.max():.1e} nats; largest (grid - convex): {(-excess).max():.2e} nats"))
    fig = _plot.plot_sweep(frame, hue="source", oracle=False, xlabel="flip budget D", hue_label="p(x, y)",
                           ylabel="I(Y; Xhat) [nats]",
                           title="Figure 6: binary channel, I*(D)\n(dashed grey: the paper's grid search over q)")
    ax = fig.axes[0]
    for name in names:
        g = frame[frame["source"] == name]
        ax.plot(g["budget"], g["paper_grid_mi"], ls="--", lw=0.8, color="grey")
    return _finish(fo, frame, fig, out, checks)


def _redundancy(cfg: _Config, out: Path, run: dict) -> FigureOutcome:
    n, d = cfg.red_n, cfg.red_budget
    fo = FigureOutcome(
        "redundancy", "Redundancy: information against m/n at a fixed budget (not in the paper)",
        "Section 3.2 and Figures 4-5 argue that more (redundant) rows make the attack harder. In the paper's "
        "experiment the entries of A are i.i.d. N(0, 1), so each added row also adds signal power "
        "(E||AY||^2 = signal_var m n): redundancy and signal power are confounded.",
        method=f"`projection_problem(m, budget={d:g}, n={n}, noise_var, setting)`: `gaussian_vector` with the "
               "compact SDP when noiseless and the full joint-covariance SDP with noise; settings: `iid` (the "
               "paper's rows, power grows with m), `fixed_power` (the same rows scaled to ||A||_F^2 = n), "
               "`copies` (the first n rows repeated, scaled likewise: pure redundancy); oracle: the structured "
               "isotropic path.",
    )
    frame = sweep_grid(projection_problem, {"noise_var": list(cfg.red_noise), "setting": ["iid", "fixed_power",
                                                                                          "copies"],
                                            "m": list(cfg.red_m)},
                       [d], fixed={"n": n, "seed": cfg.seed}, **run)
    frame.insert(3, "ratio", frame["m"] / n)

    def curve(noise, setting):
        return frame[(frame["noise_var"] == noise) & (frame["setting"] == setting)].sort_values("m")

    checks = []
    worst = max(float(np.max(-np.diff(curve(nv, "iid")["mi"].to_numpy()), initial=0.0)) for nv in cfg.red_noise)
    checks.append(Check("paper's setting (i.i.d. rows, power growing with m): I grows with every added row",
                        "paper", worst <= ZERO_TOL, f"largest drop when a row is added: {worst:.1e} nats"))
    details, same = [], True
    m_top = max(cfg.red_m)
    for nv in cfg.red_noise:
        c = curve(nv, "copies").set_index("m")["mi"]
        if n in c.index and m_top in c.index and m_top % n == 0:
            diff = abs(float(c[m_top] - c[n]))
            same &= diff <= 1e-5 * (1 + abs(float(c[n])))
            details.append(f"noise {nv:g}: I(m={n}) = {c[n]:.4g}, I(m={m_top}) = {c[m_top]:.4g}")
    checks.append(Check(f"with the total signal power fixed, exact copies of the rows add nothing (m = {m_top} "
                        f"gives the same I as m = {n}), with or without noise", "added",
                        same if details else None, "; ".join(details)))
    details, smaller = [], True
    for nv in cfg.red_noise:
        iid, fixed = curve(nv, "iid").set_index("m")["mi"], curve(nv, "fixed_power").set_index("m")["mi"]
        if n in iid.index and m_top in iid.index and m_top > n:
            g_iid, g_fix = iid[m_top] - iid[n], fixed[m_top] - fixed[n]
            smaller &= g_fix < g_iid
            details.append(f"noise {nv:g}: m = {n} -> {m_top} adds {g_iid:.3g} nats with growing power but only "
                           f"{g_fix:.3g} with fixed power")
    checks.append(Check("beyond m = n, most of the paper's gain is signal power, not redundancy: with the power "
                        "fixed, extra i.i.d. rows add much less (they only even out the singular values)", "added",
                        smaller if details else None, "; ".join(details)))
    if 0.0 in cfg.red_noise and len(cfg.red_noise) > 1:
        nv = max(cfg.red_noise)
        lower = all((curve(nv, s)["mi"].to_numpy() <= curve(0.0, s)["mi"].to_numpy() + ZERO_TOL).all()
                    for s in ("iid", "fixed_power", "copies"))
        checks.append(Check(f"observation noise (variance {nv:g}) only lowers the information at every m", "added",
                            lower, "I(noise) <= I(noiseless) pointwise"))
    fig = _plot.plot_sweep(frame, x="ratio", panel="noise_var", hue="setting", oracle=True, xlabel="m / n",
                           panel_label="noise variance", hue_label="rows",
                           title=f"Redundancy: I* at D = {d:g} against m/n (n = {n}; dashed: closed form)")
    for ax in fig.axes:
        ax.axvline(1.0, ls=":", color="grey", lw=0.8)
    return _finish(fo, frame, fig, out, checks)


def _water_levels(cfg: _Config, out: Path, run: dict) -> FigureOutcome:
    m, n = cfg.water_m, cfg.water_n
    A = projection_matrix(m, n, cfg.seed)
    lam_all, U = np.linalg.eigh(A @ A.T)
    order = np.argsort(-lam_all)
    lam, U = lam_all[order], U[:, order]
    d = float(cfg.water_fraction * lam.sum())
    fo = FigureOutcome(
        "water_levels", "Water levels of an optimal projection attack (not in the paper)",
        "Theorem 3.2 / Algorithm 1: the optimal attack on X = A Y spends D_i = min(mu, lambda_i) on the i-th "
        "principal channel (lambda_i = signal_var s_i^2): a falling bar at level mu, found exactly.",
        method=f"one solve of `gaussian_vector(A, D={d:.4g}, formulation=\"compact\")`, m = {m}, n = {n}; D_i read "
               "off the SDP's error covariance in the eigenbasis of Cov(X); mu = 1 / (2 x budget multiplier); "
               "oracle: `oracles.falling_bar`.",
    )
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
    checks = [
        Check("the SDP's per-channel budgets are the falling bar's D_i = min(mu, lambda_i)", "paper",
              bool(adiff <= 1e-4), f"largest |D_i(SDP) - D_i(falling bar)| / max lambda: {adiff:.1e}"),
        Check("the water level read off the SDP's budget multiplier (mu = 1/(2 lambda)) is the falling bar's", "added",
              bool(abs(level - fb.level) <= 1e-4 * scale), f"mu(SDP) = {level:.6g}, mu(falling bar) = {fb.level:.6g}"),
        Check("the whole budget is spent: sum D_i = D", "added", bool(abs(np.nansum(alloc) - d) <= 1e-5 * scale),
              f"sum D_i = {np.nansum(alloc):.6g}, D = {d:.6g}; {erased} of {m} channels lie below the level and are "
                   "erased completely"),
    ]
    fig = _plot.plot_water_levels(lam, alloc, level, oracle_allocation=fb.allocation,
                                  title=f"Falling bar: m = {m}, n = {n}, D = {d:.3g}, I* = {result.mi:.3g} nats")
    fo.seconds = time.perf_counter() - start
    return _finish(fo, frame, fig, out, checks, points=1, failed=int(not result.ok))


def _finish(fo: FigureOutcome, frame: pd.DataFrame, fig, out: Path, checks: list[Check], *,
            points: int | None = None, failed: int | None = None) -> FigureOutcome:
    fo.csv = out / f"{fo.key}.csv"
    frame.to_csv(fo.csv, index=False)
    fo.frame = frame
    fo.png = _plot.save_figure(fig, out / f"{fo.key}.png")
    fo.checks = checks
    fo.max_oracle_gap = _max_gap(frame)
    fo.points = len(frame) if points is None else points
    fo.failed = int((~frame["ok"].astype(bool)).sum()) if failed is None else failed
    if fo.failed:
        checks.insert(0, Check("every point solved accurately", "added", False,
                               f"{fo.failed} of {fo.points} points flagged (see the error column of the CSV)"))
    return fo


# ------------------------------------------------------------------- driver


def reproduce(out: str | os.PathLike, *, quick: bool = False, n_jobs: int = 1, solver: str | None = None,
              backend: str = "loky", scheduler=None, progress: bool | None = False,
              figures: Iterable[str] | None = None) -> ReproduceReport:
    """Regenerate the paper's Figures 3-6, the redundancy and water-level figures, and ``REPORT.md``.

    Parameters
    ----------
    out : path
        Output directory (created if missing).
    quick : bool
        Small grids (a few seconds; for tests and smoke runs).  The full run
        takes about a minute or two on two cores.
    n_jobs, backend, scheduler
        Parallel execution of the sweeps (see :func:`mi_cvx.sweep`).
    solver : str, optional
        CVXPY solver for every solve (default: Clarabel when installed).
    progress : bool, optional
        Progress bars for the sweeps.
    figures : iterable of str, optional
        A subset of :data:`FIGURES` (default all).

    Returns
    -------
    ReproduceReport

    Raises
    ------
    InvalidInputError
        Unknown figure name, or ``out`` is an existing file.
    UnsupportedSolverError
        The solver is not installed or lacks a needed cone.
    """
    start = time.perf_counter()
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise InvalidInputError("out", f"{out} exists and is not a directory")
    wanted = list(FIGURES) if figures is None else list(figures)
    unknown = [f for f in wanted if f not in FIGURES]
    if unknown:
        raise InvalidInputError("figures", f"unknown figure(s) {unknown}; choose from {', '.join(FIGURES)}")
    out.mkdir(parents=True, exist_ok=True)
    cfg = _QUICK if quick else _FULL
    if solver is None and "CLARABEL" in _solvers.installed_solvers():
        solver = "CLARABEL"
    run = {"solver": solver, "n_jobs": n_jobs, "backend": backend, "scheduler": scheduler, "progress": progress}
    outcomes: list[FigureOutcome] = []
    fat = None
    for key in wanted:
        t0 = time.perf_counter()
        if key == "fig3":
            fo = _figure3(cfg, out, run)
        elif key == "fig4":
            fo = _figure45(cfg, out, run, tall=False, other=None)
            fat = fo.frame
        elif key == "fig5":
            if fat is None:  # the fat-vs-tall comparison needs Figure 4's numbers
                fat = _projection_frame(cfg, cfg.fat_ratios, run)
            fo = _figure45(cfg, out, run, tall=True, other=fat)
        elif key == "fig6":
            fo = _figure6(cfg, out, run)
        elif key == "redundancy":
            fo = _redundancy(cfg, out, run)
        else:
            fo = _water_levels(cfg, out, run)
        fo.seconds = time.perf_counter() - t0
        outcomes.append(fo)
    seconds = time.perf_counter() - start
    report = out / "REPORT.md"
    report.write_text(_markdown(outcomes, quick, solver, seconds), encoding="utf-8")
    return ReproduceReport(out, outcomes, report, seconds, quick)


def _markdown(outcomes: list[FigureOutcome], quick: bool, solver: str | None, seconds: float) -> str:
    from . import __version__

    lines = [
        "# mi-cvx reproduce: the paper's Figures 3-6, and two it lacks",
        "",
        f"Generated by `mi-cvx reproduce{' --quick' if quick else ''}` (mi_cvx {__version__}, "
        f"{_dt.date.today().isoformat()}, {_solver_text(solver)}, {seconds:.1f} s). "
        "Information is in nats. Every curve comes from solving the convex models with CVXPY; the closed-form "
        "oracles only check them. A check marked *paper* restates a claim of the paper's Section 5; *added* "
        "marks a property the theory says the figure must have." + (
            " **Quick mode: small grids, for smoke tests; run without --quick for the real figures.**"
            if quick else ""),
        "",
        "| figure | points | failed | max abs oracle gap (nats) | checks passed | time (s) |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for f in outcomes:
        ok = sum(c.passed is True for c in f.checks)
        evaluated = sum(c.passed is not None for c in f.checks)
        gap = "-" if f.max_oracle_gap is None else f"{f.max_oracle_gap:.1e}"
        checks = f"{ok}/{evaluated}" if f.png else "skipped"
        lines.append(f"| [{f.title}](#{f.key}) | {f.points} | {f.failed} | {gap} | {checks} | {f.seconds:.1f} |")
    for f in outcomes:
        lines += ["", f'<a id="{f.key}"></a>', f"## {f.title}", ""]
        if f.png is None:
            lines += [f"*{f.note or 'not produced'}*", ""]
            continue
        lines += [f"![{f.title}]({f.png.name})", "", f"**The paper's claim.** {f.paper}", "",
                  f"**How it was computed.** {f.method} Data: [{f.csv.name}]({f.csv.name}).", "",
                  "**What the numbers show.**", "", "| claim | source | holds | numbers |", "|---|---|---|---|"]
        for c in f.checks:
            lines.append(f"| {_cell(c.claim)} | {c.source} | {c.verdict} | {_cell(c.detail)} |")
        gap = "no oracle" if f.max_oracle_gap is None else f"{f.max_oracle_gap:.1e} nats"
        lines += ["", f"{f.points} points, {f.failed} flagged; largest |solver - oracle|: {gap}."]
        if f.key == "redundancy":
            lines += ["", _REDUNDANCY_TEXT]
    lines.append("")
    return "\n".join(lines)


def _cell(text: str) -> str:
    """Text for a Markdown table cell (a bare ``|`` would end the cell)."""
    return text.replace("|", "\\|")


def _solver_text(solver: str | None) -> str:
    if solver is None:
        return "the default solver"
    settings = _solvers.DEFAULT_OPTIONS.get(solver.upper())
    if not settings:
        return f"{solver} at its default settings"
    return f"{solver} with the package's settings " + ", ".join(f"{k} = {v:g}" for k, v in settings.items())


_REDUNDANCY_TEXT = (
    "**Reading.** With the paper's i.i.d. rows every added row brings fresh signal power, so the information "
    "keeps rising past m = n. Fix the total signal power E||AY||^2 and the picture changes: below m = n each "
    "row still opens a new direction of Y (the attack must now erase more independent channels out of the same "
    "budget, so I* still rises), but beyond m = n there are no new directions. Exact copies then add nothing at "
    "all -- without noise they carry the same X, and with independent noise the averaged copies have the same "
    "signal-to-noise ratio as one row of the summed power -- and fresh i.i.d. rows add only the small gain of a "
    "better-conditioned A (the reverse water-filling favours equal channel powers). Redundancy protects against "
    "the attacker through the signal power and the number of independent directions it carries, not through "
    "repetition itself."
)
