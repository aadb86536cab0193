"""Stealth attacks on the IEEE power-grid test systems (not in the paper).

The smart-grid literature (Sun, Esnaola, Perlaza and Poor, "Stealth attacks on
the smart grid", IEEE Trans. Smart Grid 2020) studies a blind attacker who adds
``Delta ~ N(0, S)`` to the measurements of a DC state estimator and minimises
``I(Y; Z) + lambda KL(P_Z || P_X)``: the information left to the operator plus
a price on how visible the attack is.  :func:`power_grid_figure` draws, on the
14-, 30- and 118-bus systems (:mod:`mi_cvx.grids`), the information left and
the operator's detection probability (:func:`mi_cvx.detection_probability`)
against ``lambda``, from the closed form of docs/theory.md section 9, checked
against the conic model where it runs, and beside the paper's attacker (who
sees ``X`` and ``Y``) held to the same KL.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from .. import oracles as _oracles
from ..core import relative_error
from ..detection import detection_probability, gaussian_detection
from ..gaussian import gaussian_vector
from ..grids import grid_model
from .checks import ClaimCheck
from .claims import FIGURE_TEXT, claim
from .report import FigureOutcome


@dataclass(frozen=True)
class _Settings:
    cases: tuple[str, ...]
    weights: tuple[float, ...]
    conic: tuple[str, ...]  # systems whose conic model is solved too
    conic_weights: tuple[float, ...]
    paper: bool  # also the paper's attacker under the same KL (an 81 x 81 SDP on case14, about 10 s)
    samples: int


#: The figure's settings, full and quick (the conic checks dominate the time: about 5 s for the blind attacker
#: and 10 s for the paper's on case14).
FULL = _Settings(("case14", "case30", "case118"), tuple(float(w) for w in np.logspace(-1, 1, 9)), ("case14",),
                 (0.3, 3.0), True, 1)
QUICK = _Settings(("case14", "case30"), (0.1, 0.3, 1.0, 3.0, 10.0), ("case14",), (1.0,), False, 1)


def power_grid_figure(out: Path, *, quick: bool = False, solver: str | None = None,
                      finish: Any = None) -> FigureOutcome:
    """The ``power_grid`` figure of ``mi-cvx reproduce``: information and detection against the stealth weight.

    Parameters
    ----------
    out : pathlib.Path
        Where ``power_grid.png`` and ``power_grid.csv`` go.
    quick : bool
        Two systems and five weights instead of three and nine.
    solver : str, optional
        The backend of the conic checks (default Clarabel: a conic solve, not the exact path).
    finish : callable
        The figure driver's writer (``_finish`` of :mod:`mi_cvx.paper.figures`).

    Returns
    -------
    FigureOutcome
    """
    cfg = QUICK if quick else FULL
    backend = solver or "CLARABEL"
    samples = cfg.samples
    text = FIGURE_TEXT["power_grid"]
    fo = FigureOutcome("power_grid", text.title, text.paper, reading=text.reading, method=(
        "blind attacker: `oracles.stealth_blind_gaussian` (docs/theory.md section 9) on `grids.grid_model(case)` "
        f"(correlation 0.5, SNR 10), checked against `gaussian_vector(..., knows=\"nothing\", stealth_weight=lam)` "
        f"solved with {backend} on {', '.join(cfg.conic)}; the paper's attacker: `gaussian_vector(..., "
        "stealth=KL)` at the blind attack's KL, no power budget; detection: the operator's Neyman-Pearson test "
        f"at false-alarm rate 0.05 on {samples} measurement vector(s) (`detection_probability`)."))
    start = time.perf_counter()
    rows: list[dict] = []
    for case in cfg.cases:
        A, sy, sn = grid_model(case)
        x_cov = A @ sy @ A.T + sn
        clean = 0.5 * (np.linalg.slogdet(x_cov)[1] - np.linalg.slogdet(sn)[1])  # I(Y; X), no attack
        for lam in cfg.weights:
            sol = _oracles.stealth_blind_gaussian(A, float(lam), sy, sn)
            power = gaussian_detection(x_cov, x_cov + sol.attack_cov, samples=samples).power
            rows.append({"case": case, "m": A.shape[0], "n": A.shape[1], "attacker": "blind", "route": "closed form",
                         "weight": float(lam), "mi": sol.mi, "kl": sol.kl, "objective": sol.objective,
                         "detection": power, "oracle": sol.objective, "oracle_gap": 0.0, "ok": True, "error": "",
                         "mi_clean": clean})
        if case not in cfg.conic:
            continue
        for lam in cfg.conic_weights:
            sol = _oracles.stealth_blind_gaussian(A, float(lam), sy, sn)
            blind = gaussian_vector(A, None, sy, sn, knows="nothing", stealth_weight=float(lam)).solve(
                backend, raise_on_failure=False)
            rows.append(_row(case, A, "blind", backend, lam, blind, samples, sol.objective, clean))
            if cfg.paper:
                paper = gaussian_vector(A, None, sy, sn, stealth=float(sol.kl)).solve(backend, raise_on_failure=False)
                rows.append(_row(case, A, "paper, same KL", backend, lam, paper, samples, None, clean))
    frame = pd.DataFrame(rows)
    fo.seconds = time.perf_counter() - start
    checks = _checks(frame)
    return finish(fo, frame, _plot(frame, samples), out, checks)


def _row(case: str, A: np.ndarray, attacker: str, backend: str, lam: float, result, samples: int,
         oracle: float | None, clean: float) -> dict:
    power = detection_probability(result, samples=samples).power if result.ok else float("nan")
    gap = None if oracle is None else result.objective - oracle
    return {"case": case, "m": A.shape[0], "n": A.shape[1], "attacker": attacker, "route": backend,
            "weight": float(lam), "mi": result.mi, "kl": result.kl, "objective": result.objective,
            "detection": power, "oracle": oracle, "oracle_gap": gap, "ok": bool(result.ok), "error": result.message,
            "mi_clean": clean}


def _checks(frame: pd.DataFrame) -> list[ClaimCheck]:
    closed = frame[frame["route"] == "closed form"]
    conic_blind = frame[(frame["route"] != "closed form") & (frame["attacker"] == "blind")]
    paper = frame[frame["attacker"] == "paper, same KL"]
    c_form, c_trade, c_detect, c_order = (claim(f"power_grid.{n}") for n in
                                          ("closed_form", "tradeoff", "detection", "paper_below_blind"))
    pairs_of = zip(conic_blind["objective"], conic_blind["oracle"], strict=True)
    errors = [relative_error(float(obj), float(ref)) for obj, ref in pairs_of]
    worst = max(errors) if errors else float("nan")
    checks = [ClaimCheck.of(c_form, bool(errors) and worst <= c_form.params["rtol"] and bool(conic_blind["ok"].all()),
                            f"largest relative error of the conic solves: {worst:.1e} over {len(errors)} weights")]
    trade = detect = True
    for _, curve in closed.groupby("case"):
        curve = curve.sort_values("weight")
        trade &= bool(np.all(np.diff(curve["kl"]) <= 1e-12) and np.all(np.diff(curve["mi"]) >= -1e-12))
        detect &= bool(np.all(np.diff(curve["detection"]) <= 1e-9))
    span = ", ".join(f"{case}: KL {g['kl'].max():.3g} -> {g['kl'].min():.3g}, I {g['mi'].min():.3g} -> "
                     f"{g['mi'].max():.3g} nats" for case, g in closed.groupby("case", sort=False))
    checks.append(ClaimCheck.of(c_trade, trade, span))
    det = ", ".join(f"{case}: {g['detection'].max():.3g} -> {g['detection'].min():.3g}"
                    for case, g in closed.groupby("case", sort=False))
    checks.append(ClaimCheck.of(c_detect, detect, f"detection probability from the smallest to the largest weight: "
                                                   f"{det}"))
    if len(paper):
        pairs = [(p.mi, b.mi) for p, b in zip(paper.itertuples(), conic_blind.itertuples(), strict=True)]
        order = all(p <= b + c_order.params["tol"] for p, b in pairs) and bool(paper["ok"].all())
        checks.append(ClaimCheck.of(c_order, order, "; ".join(f"I = {p:.4g} (paper) vs {b:.4g} (blind) nats"
                                                              for p, b in pairs)))
    else:
        checks.append(ClaimCheck.of(c_order, None, "not run in a quick run (the paper's attacker under a KL cap is "
                                                   "a 81 x 81 SDP on case14, about 10 s)"))
    return checks


def _plot(frame: pd.DataFrame, samples: int):
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2))
    closed = frame[frame["route"] == "closed form"]
    for case, curve in closed.groupby("case", sort=False):
        curve = curve.sort_values("weight")
        m, n = int(curve["m"].iloc[0]), int(curve["n"].iloc[0])
        line, = left.plot(curve["weight"], curve["mi"] / curve["mi_clean"], marker="o", ms=3,
                          label=f"{case} ({m} x {n}), blind")
        right.plot(curve["weight"], curve["detection"], marker="o", ms=3, color=line.get_color(), label=case)
        conic = frame[(frame["case"] == case) & (frame["route"] != "closed form")]
        blind = conic[conic["attacker"] == "blind"]
        paper = conic[conic["attacker"] == "paper, same KL"]
        if len(blind):
            left.plot(blind["weight"], blind["mi"] / blind["mi_clean"], "x", color=line.get_color(), ms=8,
                      label=f"{case}, conic solve")
        if len(paper):
            left.plot(paper["weight"], paper["mi"] / paper["mi_clean"], "s--", color=line.get_color(), ms=4, mfc="none",
                      label=f"{case}, paper's attacker at the same KL")
            right.plot(paper["weight"], paper["detection"], "s--", color=line.get_color(), ms=4, mfc="none")
    left.set(xscale="log", xlabel="stealth weight lambda", ylabel="I(Y; Z) / I(Y; X)",
             title="Share of the information left to the operator")
    right.set(xscale="log", xlabel="stealth weight lambda", ylabel="detection probability",
              title=f"Operator's Neyman-Pearson test ({samples} sample), false alarm 0.05")
    right.axhline(0.05, color="grey", lw=0.8, ls=":")
    left.legend(fontsize=7)
    right.legend(fontsize=7)
    fig.tight_layout()
    return fig
