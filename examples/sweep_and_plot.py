"""Budget sweeps over a grid, in parallel, resumable, and plotted (the paper's Figure 3).

Run: python examples/sweep_and_plot.py [OUTPUT_DIR]
"""

import sys
import tempfile
from pathlib import Path

import mi_cvx
from mi_cvx.plotting import plot_sweep, save_figure

out = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(tempfile.mkdtemp())
budgets = [0.05, 0.1, 0.2, 0.4, 0.6, 0.8, 1.0]

# One problem per (signal_var, noise_var); budgets re-solve through the Parameter.  With
# out=..., every finished point is appended to the CSV; a rerun skips the finished points.
# n_jobs=2 would run on two local processes (worth it for big SDPs; each worker pays the
# import once), backend="dask", scheduler="tcp://host:8786" on a Dask cluster.
frame = mi_cvx.sweep_grid(mi_cvx.gaussian_scalar, {"signal_var": [0.4, 1.0], "noise_var": [0.1, 1.0]}, budgets,
                          out=out / "scalar.csv")
print(frame[["signal_var", "noise_var", "budget", "mi", "oracle_gap", "ok"]].head(8).to_string(index=False))
print(f"{len(frame)} points, {int((~frame['ok']).sum())} flagged, "
      f"largest |oracle gap| {frame['oracle_gap'].abs().max():.1e} nats")

fig = plot_sweep(frame, panel="signal_var", hue="noise_var", oracle=True, xlabel="budget D")
print("wrote", save_figure(fig, out / "scalar.png"))
