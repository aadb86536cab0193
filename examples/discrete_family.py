"""Binary and finite-alphabet attacks (Theorem 3.3, docs/theory.md sections 4-5).

The attacker flips a binary observation X (or remaps a finite one) to hide the
label Y; the budget bounds the expected distortion.  Run: python examples/discrete_family.py
"""

import numpy as np

import mi_cvx
from mi_cvx import oracles

# --- the binary channel of the paper's Figure 6 ---------------------------------
p_xy = np.array([[0.4, 0.1], [0.1, 0.4]])  # p[x, y]: X agrees with Y 80% of the time
problem = mi_cvx.binary_channel(p_xy, budget=0.1)
result = problem.solve()
print(f"binary, D = 0.1: I* = {result.mi:.6f} nats (oracle {result.oracle:.6f}, status {result.status})")
print("flip probabilities q[x, y]:\n", np.round(result.attack["flip_prob"], 4))
print(f"budget multiplier lambda = {result.dual_budget:.4f}; Theorem 3.3 log-ratio at the optimum:")
print(np.round(result.optimality().log_ratio, 4))

# The least budget that removes all information: D0 = min p(y) |P(X=1|Y=0) - P(X=1|Y=1)|.
d0 = oracles.binary_zero_threshold(p_xy)
print(f"zero-information threshold D0 = {d0:.4f}")

# A budget sweep re-solves the compiled problem through its Parameter; a grid over the
# DPP parameter p_xy needs no rebuild either.
frame = mi_cvx.sweep(problem, [0.0, 0.1, 0.2, d0, 0.4],
                     grid={"p_xy": [p_xy, np.array([[0.9, 0.02], [0.03, 0.05]])]})
print(frame[["p_xy", "budget", "mi", "oracle_gap", "ok"]].to_string(index=False))

# A label-blind attacker (sees only X) is never better:
blind = mi_cvx.binary_channel(p_xy, budget=0.1, knows="x").solve()
print(f"label-blind attacker: I* = {blind.mi:.6f} nats >= {result.mi:.6f}")

# --- three symbols, a custom distortion ------------------------------------------
p3 = np.array([[0.30, 0.05], [0.05, 0.30], [0.10, 0.20]])  # X in {0,1,2}, Y in {0,1}
cost = np.array([[0.0, 1.0, 2.0], [1.0, 0.0, 1.0], [2.0, 1.0, 0.0]])  # |x - xhat|
res3 = mi_cvx.discrete_channel(p3, budget=0.2, distortion=cost).solve()
print(f"3-ary source, |x - xhat| distortion, D = 0.2: I* = {res3.mi:.6f} nats "
      f"(I(X;Y) = {mi_cvx.info.mutual_information(p3):.6f}), spent {res3.budget_used:.4f}")
