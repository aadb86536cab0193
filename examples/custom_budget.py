"""A custom attack budget on a factory's problem: per-coordinate power caps and a weighted budget.

The factories build the paper's problems; ``with_constraints`` adds your own
constraints on the named variables (here ``attack_cov`` = Cov(Delta)), and the
result stays a disciplined-convex, DPP problem.  Run: python examples/custom_budget.py
"""

import cvxpy as cp
import numpy as np

import mi_cvx

A = np.eye(3)
signal_cov = np.diag([3.0, 1.0, 0.5])
problem = mi_cvx.gaussian_vector(A, budget=2.0, signal_cov=signal_cov, noise_cov=0.1)
base = problem.solve()
print(f"total power budget 2.0: I* = {base.mi:.6f} nats (oracle {base.oracle:.6f})")
print("  per-coordinate power E[Delta_i^2]:", np.round(np.diag(base.attack["attack_cov"]), 4))

# 1. A cap on each coordinate's power, E[Delta_i^2] <= c_i (a cp.Parameter: DPP, re-solvable).
caps = cp.Parameter(3, nonneg=True, value=np.array([0.5, 1.0, 1.0]))
capped = problem.with_constraints(lambda v: [cp.diag(v["attack_cov"]) <= caps])
res = capped.solve()
print(f"with caps {caps.value}: I* = {res.mi:.6f} nats (>= {base.mi:.6f}; no oracle: {res.oracle})")
print("  per-coordinate power:", np.round(np.diag(res.attack["attack_cov"]), 4))
caps.value = np.array([2.0, 2.0, 2.0])  # loose caps: back to the plain budget, without rebuilding
print(f"with loose caps: I* = {capped.solve().mi:.6f} nats")

# 2. A weighted budget sum_i w_i E[Delta_i^2] <= B instead of the plain total (drop the
#    factory's budget by building with budget=None).
weights = np.array([4.0, 1.0, 1.0])  # perturbing coordinate 0 is four times as visible
free = mi_cvx.gaussian_vector(A, budget=None, signal_cov=signal_cov, noise_cov=0.1)
weighted = free.with_constraints(lambda v: [weights @ cp.diag(v["attack_cov"]) <= 2.0])
res = weighted.solve()
print(f"weighted budget: I* = {res.mi:.6f} nats; per-coordinate power",
      np.round(np.diag(res.attack["attack_cov"]), 4))

# Custom problems sweep like any other (the caps problem keeps its recipe, so even n_jobs > 1 works).
frame = mi_cvx.sweep(capped, [0.5, 1.0, 2.0, 4.0])
print(frame[["budget", "mi", "ok", "budget_used"]].to_string(index=False))
