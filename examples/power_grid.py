"""Stealth attacks on IEEE power-grid test systems (docs/theory.md sections 3, 8 and 9).

A DC state estimator observes X = A Y + N on the IEEE 14-, 30- and 118-bus
systems (mi_cvx.grids). A blind attacker adds Delta ~ N(0, S), independent of
everything, and minimises I(Y; Z) + lambda KL(P_Z || P_X): the information left
to the operator plus a price on how visible the attack is. For each system and
weight this prints the share of the information left, the KL and the
probability that the operator's Neyman-Pearson test (false alarm 0.05, one
measurement vector) detects the attack; then it checks the closed form against
the conic model on the 14-bus system, and puts the paper's attacker (who sees X
and Y) under the same KL cap.
"""

import numpy as np

import mi_cvx
from mi_cvx import oracles
from mi_cvx.detection import gaussian_detection
from mi_cvx.grids import grid_model

print(f"{'case':8} {'m x n':>9} {'lambda':>7} {'I/I(Y;X)':>9} {'KL':>8} {'detection':>10}")
for case in ("case14", "case30", "case118"):
    A, signal_cov, noise_cov = grid_model(case, correlation=0.5, snr=10.0)
    x_cov = A @ signal_cov @ A.T + noise_cov
    clean = 0.5 * (np.linalg.slogdet(x_cov)[1] - np.linalg.slogdet(noise_cov)[1])  # I(Y; X)
    for lam in (0.1, 1.0, 10.0):
        blind = oracles.stealth_blind_gaussian(A, lam, signal_cov, noise_cov)  # section 9's closed form
        power = gaussian_detection(x_cov, x_cov + blind.attack_cov).power
        print(f"{case:8} {f'{A.shape[0]}x{A.shape[1]}':>9} {lam:7.1f} {blind.mi / clean:9.3f} {blind.kl:8.3f} "
              f"{power:10.3f}")

# The conic model of the same attack reaches the closed form (14-bus system, lambda = 1).
A, signal_cov, noise_cov = grid_model("case14")
problem = mi_cvx.gaussian_vector(A, None, signal_cov, noise_cov, knows="nothing", stealth_weight=1.0)
conic = problem.solve("CLARABEL")
closed = oracles.stealth_blind_gaussian(A, 1.0, signal_cov, noise_cov)
print(f"case14, lambda = 1: conic objective {conic.objective:.6f} vs closed form {closed.objective:.6f} "
      f"(ok={conic.ok}); detection {mi_cvx.detection_probability(conic).power:.3f}")

# The paper's attacker held to the blind attack's KL leaves far less information.
paper = mi_cvx.gaussian_vector(A, None, signal_cov, noise_cov, stealth=float(conic.kl)).solve("CLARABEL")
print(f"paper's attacker at KL <= {conic.kl:.3f}: I = {paper.mi:.3g} nats vs the blind attacker's "
      f"{conic.mi:.3f} (ok={paper.ok}); detection {mi_cvx.detection_probability(paper).power:.3f}")
