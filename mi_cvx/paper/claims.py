"""The paper's claims, and the properties added to them, as data.

Every sentence :func:`mi_cvx.paper.reproduce` checks against the numbers is a
:class:`Claim` in :data:`CLAIMS`; the prose shown above each figure of
``REPORT.md`` (its title, what the paper says, the reading of the redundancy
figure) is a :class:`FigureText` in :data:`FIGURE_TEXT`.  The figure code in
:mod:`mi_cvx.paper.figures` looks claims up by id (:func:`claim`) and passes
the numbers to the generic checks of :mod:`mi_cvx.paper.checks`; it holds no
claim text of its own.

A claim's ``statement`` may contain ``str.format`` fields (``{lo}``,
``{m_top}``...) filled in from the figure's grid by :meth:`Claim.text`;
``params`` holds the numbers the verdict uses (tolerances, the paper's values,
the points of the grid a claim is about).

The theory the added claims rest on is in docs/theory.md (section 0: Lemma
2.1, convexity of ``I*(D)``; section 1: the scalar Gaussian closed form;
section 2: projections and the falling bar; section 4: the binary channel and
its zero-information threshold).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Literal

__all__ = ["CLAIMS", "FIGURE_TEXT", "ZERO_TOL", "Claim", "FigureText", "claim", "claims_for"]

Source = Literal["paper", "added"]

#: Information below this many nats counts as zero (solver accuracy is ~1e-8).
ZERO_TOL = 1e-6


def _frozen(params: Mapping[str, Any] | None = None) -> Mapping[str, Any]:
    return MappingProxyType(dict(params or {}))


@dataclass(frozen=True)
class Claim:
    """One claim about a figure, checked against the numbers.

    Attributes
    ----------
    id : str
        Stable identifier, ``"<figure>.<name>"`` (``"fig3.monotone"``).
    figure : str
        The figure key (:data:`mi_cvx.paper.FIGURES`), or ``"all"`` for a
        claim every figure makes.
    statement : str
        The claim in words, as ``REPORT.md`` prints it; may contain
        ``str.format`` fields that :meth:`text` fills in.
    source : {"paper", "added"}
        ``"paper"`` for the paper's own claim (Section 5), ``"added"`` for a
        property the theory says the figure must have.
    kind : str
        Which check decides it: ``"monotone"``, ``"convex"``,
        ``"zero_threshold"``, ``"value"``, ``"bound"``, ``"scale"``,
        ``"growth"``, ``"redundancy"``, ``"water_level"``, ``"solved"``.
    params : mapping
        The numbers behind the verdict (read-only).
    """

    id: str
    figure: str
    statement: str
    source: Source
    kind: str
    params: Mapping[str, Any] = field(default_factory=_frozen, hash=False)

    def __post_init__(self) -> None:
        if self.source not in ("paper", "added"):
            raise ValueError(f"claim {self.id}: source must be 'paper' or 'added', got {self.source!r}")
        if not isinstance(self.params, MappingProxyType):
            object.__setattr__(self, "params", _frozen(self.params))

    def text(self, **fields: Any) -> str:
        """The statement with its ``str.format`` fields filled in."""
        return self.statement.format(**fields)


@dataclass(frozen=True)
class FigureText:
    """The prose around one figure of ``REPORT.md``.

    Attributes
    ----------
    key : str
        The figure key.
    title : str
        The section title (may contain ``{kind}`` for Figures 4-5).
    paper : str
        What the paper says the figure shows ("The paper's claim").
    reading : str
        An optional paragraph after the checks.
    """

    key: str
    title: str
    paper: str
    reading: str = ""


# ------------------------------------------------------------- shared prose

_MONOTONE = "I decreases monotonically with D (every curve)"
_CONVEX = "I*(D) is convex in D (a value function of a convex problem, Lemma 2.1)"
_PROJ_ZERO = "I goes to zero as D reaches signal_var x the sum of squared singular values of A (and not before)"
_MORE_ROWS = "for a given D, more rows (larger m/n) give more information: the attack is harder"
_SCALE = ("the panels for different signal variances are copies of each other stretched in D "
          "(I*(D; signal_var) = I*(D / signal_var; 1){qualifier})")
_PROJECTIONS = ("As D grows to the sum of the squared singular values of the projection (times the signal "
                "variance), the information goes to zero; for a given D, projecting onto more dimensions (larger "
                "m/n) gives more information, so the attack is harder; the gain is larger for fat matrices "
                "(m/n from 0.1 to 0.9: from about 6 to about 120 nats, +1900%) than for tall ones (m/n from 1.1 "
                "to 1.9: from about 150 to 200, +33%).")


def _projection_claims(fig: str) -> tuple[Claim, ...]:
    """The claims Figures 4 and 5 share."""
    return (
        Claim(f"{fig}.monotone", fig, _MONOTONE, "paper", "monotone", {"tol": ZERO_TOL}),
        Claim(f"{fig}.zero_threshold", fig, _PROJ_ZERO, "paper", "zero_threshold",
              {"threshold": "signal_var*sum(s_i^2)", "tol": ZERO_TOL}),
        Claim(f"{fig}.more_rows", fig, _MORE_ROWS, "paper", "monotone",
              {"tol": ZERO_TOL, "note": "the matrices are nested: A for m rows is the first m rows of one Gaussian "
                                        "matrix"}),
    )


def _tail_claims(fig: str) -> tuple[Claim, ...]:
    """The added claims that close Figures 4 and 5."""
    return (
        Claim(f"{fig}.scale", fig, _SCALE, "added", "scale",
              {"qualifier": ": only the ratio matters", "rtol": 1e-4, "match_rtol": 1e-5}),
        Claim(f"{fig}.convex", fig, _CONVEX, "added", "convex", {"tol": 1e-4}),
    )


#: Every claim :func:`mi_cvx.paper.reproduce` checks, in the order ``REPORT.md`` lists them.
CLAIMS: tuple[Claim, ...] = (
    # ------------------------------------------------------------ any figure
    Claim("all.solved", "all", "every point solved accurately", "added", "solved"),
    # ----------------------------------------------------- Figure 3 (Thm 3.1)
    Claim("fig3.monotone", "fig3", _MONOTONE, "paper", "monotone", {"tol": ZERO_TOL}),
    Claim("fig3.zero_threshold", "fig3",
          "I = 0 exactly when D >= signal variance (so zero information needs D comparable to the signal variance)",
          "paper", "zero_threshold", {"threshold": "signal_var", "tol": ZERO_TOL}),
    Claim("fig3.almost_zero_at_0.9", "fig3",
          "signal variance 1: D = 0.9 leaves almost zero information whatever the noise variance",
          "paper", "value", {"signal_var": 1.0, "budget": 0.9, "below": 0.02}),
    Claim("fig3.noise_vs_budget", "fig3",
          "signal variance 1, D = 0.1: noise variance 0.1 -> 1 lowers I from about 0.6 to about 0.2; at noise 0.1, "
          "D = 0.1 -> 1 lowers it from about 0.6 to 0",
          "paper", "value",
          {"signal_var": 1.0, "noise": (0.1, 1.0), "budget": (0.1, 1.0), "about": (0.6, 0.2), "within": 0.1,
           "tol": ZERO_TOL}),
    Claim("fig3.beats_random_noise", "fig3",
          "the optimal attack removes more information than independent Gaussian noise of the same power D "
          "(I* <= 0.5 log(1 + signal_var / (noise_var + D)), strictly for D > 0)",
          "added", "bound", {"tol": ZERO_TOL}),
    Claim("fig3.convex", "fig3", _CONVEX, "added", "convex", {"tol": 1e-4}),
    # ------------------------------------------- Figures 4-5 (Thm 3.2)
    *_projection_claims("fig4"),
    Claim("fig4.growth", "fig4", "growth of I from m/n = {lo} to {hi} at a fixed D", "paper", "growth",
          {"paper_ratios": (0.1, 0.9), "paper_nats": (6.0, 120.0), "paper_pct": 1900.0}),
    *_tail_claims("fig4"),
    *_projection_claims("fig5"),
    Claim("fig5.fat_vs_tall", "fig5",
          "the relative gain from more rows is much larger for fat matrices than for tall ones", "paper", "growth",
          {"paper_pct": {"fat": 1900.0, "tall": 33.0},
           "caveat": "The paper's absolute values (6 -> 120, 150 -> 200) belong to its larger, unstated n and D; "
                     "the shape is what carries over"}),
    *_tail_claims("fig5"),
    # ----------------------------------------------------- Figure 6 (Thm 3.3)
    Claim("fig6.monotone", "fig6", "I decreases (never increases) with the flip budget D", "paper", "monotone",
          {"tol": ZERO_TOL}),
    Claim("fig6.zero_threshold", "fig6",
          "I = 0 exactly when D >= D0 = min(p(y)) |P(X=1|Y=0) - P(X=1|Y=1)| (the zero-information threshold of "
          "docs/theory.md section 4), and I > 0 below it",
          "added", "zero_threshold", {"threshold": "D0", "tol": ZERO_TOL}),
    Claim("fig6.concentrated", "fig6",
          "highly concentrated source: about 0.05 distortion sets the information to zero", "paper", "zero_threshold",
          {"source": "concentrated", "budget": 0.05, "d0_range": (0.03, 0.07), "tol": ZERO_TOL}),
    Claim("fig6.nearly_independent", "fig6",
          "nearly independent X, Y: almost no information even at D close to 0", "paper", "value",
          {"source": "nearly independent", "budget": 0.0, "below": 0.01}),
    Claim("fig6.uniform", "fig6", "uniform source: the information is zero for every D", "paper", "value",
          {"source": "uniform", "tol": ZERO_TOL}),
    Claim("fig6.beats_grid_search", "fig6",
          "the convex solve is never worse than the paper's grid search ({points}^4 points), which is only "
          "accurate to the grid spacing",
          "added", "bound", {"tol": ZERO_TOL, "paper_points": 100}),
    # ----------------------------------------------------------- redundancy
    Claim("redundancy.iid_grows", "redundancy",
          "paper's setting (i.i.d. rows, power growing with m): I grows with every added row", "paper", "redundancy",
          {"setting": "iid", "tol": ZERO_TOL}),
    Claim("redundancy.copies_add_nothing", "redundancy",
          "with the total signal power fixed, exact copies of the rows add nothing (m = {m_top} gives the same I as "
          "m = {n}), with or without noise",
          "added", "redundancy", {"setting": "copies", "rtol": 1e-5}),
    Claim("redundancy.power_not_rows", "redundancy",
          "beyond m = n, most of the paper's gain is signal power, not redundancy: with the power fixed, extra i.i.d. "
          "rows add much less (they only even out the singular values)",
          "added", "redundancy", {"settings": ("iid", "fixed_power")}),
    Claim("redundancy.noise_lowers", "redundancy",
          "observation noise (variance {noise:g}) only lowers the information at every m", "added", "redundancy",
          {"settings": ("iid", "fixed_power", "copies"), "tol": ZERO_TOL}),
    # --------------------------------------------------------- water levels
    Claim("water_levels.falling_bar", "water_levels",
          "the SDP's per-channel budgets are the falling bar's D_i = min(mu, lambda_i)", "paper", "water_level",
          {"rtol": 1e-4}),
    Claim("water_levels.level", "water_levels",
          "the water level read off the SDP's budget multiplier (mu = 1/(2 lambda)) is the falling bar's", "added",
          "water_level", {"rtol": 1e-4}),
    Claim("water_levels.budget_spent", "water_levels", "the whole budget is spent: sum D_i = D", "added",
          "water_level", {"rtol": 1e-5}),
    # ------------------------------------------------ power grid (not in the paper)
    Claim("power_grid.closed_form", "power_grid",
          "the conic model of the blind stealth attack (knows='nothing', stealth_weight) reaches the closed form "
          "of docs/theory.md section 9", "added", "value", {"rtol": 1e-5}),
    Claim("power_grid.tradeoff", "power_grid",
          "a higher stealth weight buys stealth with information: KL(P_Z || P_X) falls and I(Y; Z) rises", "added",
          "monotone"),
    Claim("power_grid.detection", "power_grid",
          "the operator's detection probability falls as the stealth weight grows", "added", "monotone"),
    Claim("power_grid.paper_below_blind", "power_grid",
          "held to the same KL, the paper's attacker (who sees X and Y) leaves no more information than the blind "
          "one", "added", "bound", {"tol": 1e-5}),
)

#: The prose of each figure's section of ``REPORT.md``, by figure key.
FIGURE_TEXT: Mapping[str, FigureText] = MappingProxyType({t.key: t for t in (
    FigureText(
        "fig3", "Figure 3: scalar Gaussian attack (Theorem 3.1)",
        "For fixed signal variance and noise variance the information decreases monotonically with the "
        "distortion D; reaching zero information needs a distortion comparable to the signal variance (for "
        "signal variance 1, D > 0.9 gives almost zero information whatever the noise); the adversarial "
        "perturbation does more damage than random noise (signal variance 1, D = 0.1: raising the noise variance "
        "from 0.1 to 1 lowers the information from about 0.6 to 0.2, while raising D from 0.1 to 1 at noise 0.1 "
        "lowers it from about 0.6 to 0)."),
    FigureText("fig4", "Figure 4: {kind} random projections (Theorem 3.2)", _PROJECTIONS),
    FigureText("fig5", "Figure 5: {kind} random projections (Theorem 3.2)", _PROJECTIONS),
    FigureText(
        "fig6", "Figure 6: binary channel (Theorem 3.3)",
        "Increasing the flip budget D reduces the information; when the source is highly concentrated a small "
        "distortion (about 0.05) sets it to zero; when X and Y are nearly independent there is almost no "
        "information even at D close to 0; for a uniform source the information is zero for any D."),
    FigureText(
        "redundancy", "Redundancy: information against m/n at a fixed budget (not in the paper)",
        "Section 3.2 and Figures 4-5 argue that more (redundant) rows make the attack harder. In the paper's "
        "experiment the entries of A are i.i.d. N(0, 1), so each added row also adds signal power "
        "(E||AY||^2 = signal_var m n): redundancy and signal power are confounded.",
        reading=(
            "**Reading.** With the paper's i.i.d. rows every added row brings fresh signal power, so the "
            "information keeps rising past m = n. Fix the total signal power E||AY||^2 and the picture changes: "
            "below m = n each row still opens a new direction of Y (the attack must now erase more independent "
            "channels out of the same budget, so I* still rises), but beyond m = n there are no new directions. "
            "Exact copies then add nothing at all -- without noise they carry the same X, and with independent "
            "noise the averaged copies have the same signal-to-noise ratio as one row of the summed power -- and "
            "fresh i.i.d. rows add only the small gain of a better-conditioned A (the reverse water-filling favours "
            "equal channel powers). Redundancy protects against the attacker through the signal power and the "
            "number of independent directions it carries, not through repetition itself.")),
    FigureText(
        "power_grid", "Stealth attacks on IEEE power-grid test systems (not in the paper)",
        "Not in the paper. The smart-grid literature (Sun, Esnaola, Perlaza and Poor, \"Stealth attacks on the "
        "smart grid\", IEEE Trans. Smart Grid 2020) prices how visible an attack on a DC state estimator is: a "
        "blind attacker adds Gaussian noise to the measurements and minimises I(Y; Z) + lambda KL(P_Z || P_X), "
        "trading the information left to the operator against the operator's chance of detecting it, on the IEEE "
        "14-, 30- and 118-bus systems."),
    FigureText(
        "water_levels", "Water levels of an optimal projection attack (not in the paper)",
        "Theorem 3.2 / Algorithm 1: the optimal attack on X = A Y spends D_i = min(mu, lambda_i) on the i-th "
        "principal channel (lambda_i = signal_var s_i^2): a falling bar at level mu, found exactly."),
)})

_BY_ID: Mapping[str, Claim] = MappingProxyType({c.id: c for c in CLAIMS})
if len(_BY_ID) != len(CLAIMS):  # pragma: no cover - a typo in the table above
    raise RuntimeError("duplicate claim ids in mi_cvx.paper.claims.CLAIMS")


def claim(claim_id: str) -> Claim:
    """The claim with id ``claim_id``.

    Raises
    ------
    KeyError
        No such claim.
    """
    try:
        return _BY_ID[claim_id]
    except KeyError:
        raise KeyError(f"no claim {claim_id!r}; known: {', '.join(_BY_ID)}") from None


def claims_for(figure: str) -> tuple[Claim, ...]:
    """The claims about ``figure`` (a figure key), in report order (claims about ``"all"`` not included)."""
    return tuple(c for c in CLAIMS if c.figure == figure)
