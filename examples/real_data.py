"""From data to attack and back: scikit-learn's diabetes and breast-cancer data (no downloads).

Regression (docs/theory.md section 3): fit X = A Y + N on the diabetes data (Y the disease progression,
X the ten features), solve the optimal attack at a budget, draw the attacked samples, and retrain a linear
regression on them. Its in-sample error is what the model predicts: the MMSE of Y given the attacked Z.
The blind optimal attack and random noise of the same power are the baselines.

Classification (section 5): quantise one breast-cancer feature into four levels, fit the joint pmf with the
binary diagnosis, attack the samples (expected fraction of changed levels <= budget), and retrain the MAP
classifier on the attacked feature: its error is the Bayes error the model predicts.

Run ``python examples/real_data.py [OUT_DIR]``: prints both tables and writes real_data.png.
"""

import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from sklearn.datasets import load_breast_cancer, load_diabetes  # noqa: E402
from sklearn.linear_model import LinearRegression  # noqa: E402
from sklearn.naive_bayes import CategoricalNB  # noqa: E402

from mi_cvx import baselines, data  # noqa: E402

out = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(".")
rows = []

# ------------------------------------------------------------ regression: diabetes
x, y = load_diabetes(return_X_y=True)
fit = data.fit_gaussian(y, x)
total = float(np.trace(fit.A @ fit.signal_cov @ fit.A.T + fit.noise_cov))  # tr Cov(X)


def retrained_mse(features):
    model = LinearRegression().fit(features, y)
    return float(np.mean((model.predict(features) - y) ** 2))


print(f"diabetes: {len(y)} patients, {x.shape[1]} features; retrained linear regression, in-sample MSE")
print(f"{'budget':>8} {'attack':>15} {'predicted':>10} {'measured':>10}")
for fraction in (0.05, 0.1, 0.2):
    result = fit.attack_problem(fraction * total).solve()
    for name, attack in (("optimal", result), ("blind optimal", baselines.blind(result)),
                         ("random noise", baselines.random_noise(result))):
        predicted = attack.consequences().mmse_after
        measured = retrained_mse(attack.sample(x, y, rng=0))
        rows.append(("diabetes", fraction, name, predicted, measured))
        print(f"{fraction:8.2f} {name:>15} {predicted:10.1f} {measured:10.1f}")
print(f"no attack: predicted {result.consequences().mmse_before:.1f}, measured {retrained_mse(x):.1f}")

# -------------------------------------------------------- classification: breast cancer
features, label = load_breast_cancer(return_X_y=True)
level = np.digitize(features[:, 20], np.quantile(features[:, 20], [0.25, 0.5, 0.75]))  # "worst radius", 4 levels
fit_d = data.fit_discrete(level, label)


def map_error(levels):
    """In-sample error of scikit-learn's categorical naive Bayes retrained on (levels, label): with one
    feature and no smoothing it is the MAP classifier."""
    model = CategoricalNB(alpha=1e-10, min_categories=4).fit(levels[:, None], label)
    return 1.0 - model.score(levels[:, None], label)


print(f"\nbreast cancer: {len(label)} patients, 'worst radius' in 4 levels; retrained MAP classifier, error")
print(f"{'budget':>8} {'attack':>15} {'predicted':>10} {'measured':>10}")
for budget in (0.05, 0.1, 0.2):
    result = fit_d.attack_problem(budget).solve()
    for name, attack in (("optimal", result), ("blind optimal", baselines.blind(result)),
                         ("random noise", baselines.random_noise(result))):
        predicted = attack.consequences().bayes_error_after
        measured = map_error(np.asarray(attack.sample(level, label, rng=0)))
        rows.append(("breast cancer", budget, name, predicted, measured))
        print(f"{budget:8.2f} {name:>15} {predicted:10.3f} {measured:10.3f}")
print(f"no attack: predicted {result.consequences().bayes_error_before:.3f}, measured {map_error(level):.3f}")

# ------------------------------------------------------------------------------ plot
fig, axes = plt.subplots(1, 2, figsize=(10, 4))
for ax, dataset, unit in zip(axes, ("diabetes", "breast cancer"), ("MSE", "error rate"), strict=True):
    for name, marker in (("optimal", "o"), ("blind optimal", "s"), ("random noise", "^")):
        pts = [(p, m) for d, _, n, p, m in rows if d == dataset and n == name]
        ax.plot(*zip(*pts, strict=True), marker, label=name)
    lo = min(min(p, m) for d, _, _, p, m in rows if d == dataset)
    hi = max(max(p, m) for d, _, _, p, m in rows if d == dataset)
    ax.plot([lo, hi], [lo, hi], color="grey", lw=0.8)
    ax.set(xlabel=f"predicted {unit}", ylabel=f"measured {unit} (retrained)", title=dataset)
    ax.legend(fontsize=8)
fig.tight_layout()
fig.savefig(out / "real_data.png", dpi=110)
print(f"\nwrote {out / 'real_data.png'}")
