"""mi_cvx benchmarks: scripts that measure and print figures; run ``python -m benchmarks``."""
