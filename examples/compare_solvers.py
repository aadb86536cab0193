"""Compare solver backends on attack problems, and check the convexity claim (Lemma 2.1).

Run: python examples/compare_solvers.py
"""

import numpy as np
import pandas as pd

import mi_cvx

pd.set_option("display.width", 160)
columns = ["solver", "status", "ok", "mi", "oracle_gap", "solve_time", "error"]

problem = mi_cvx.gaussian_vector(np.array([[1.0, 0.5], [0.2, 1.0], [0.3, -0.4]]), budget=1.0, noise_cov=0.2)
print(problem)
print(mi_cvx.compare_solvers(problem)[columns].to_string(index=False))

binary = mi_cvx.binary_channel([[0.4, 0.1], [0.1, 0.4]], budget=0.1)
print(binary)
print(mi_cvx.compare_solvers(binary, solvers=["CLARABEL", "SCS", "ECOS"])[columns].to_string(index=False))

# SCS is a first-order method: tighten its tolerances for accurate values.
tight = mi_cvx.compare_solvers(problem, solvers=["SCS"], solver_options={"SCS": {"eps_abs": 1e-9, "eps_rel": 1e-9}})
print(f"SCS with eps 1e-9: oracle gap {tight['oracle_gap'].iloc[0]:.2e}")

report = mi_cvx.verify_convexity(mi_cvx.gaussian_scalar(1.0, 0.5, 0.3), trials=30)
print(report.summary().splitlines()[1])
