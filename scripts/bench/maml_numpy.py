"""Chapter 1's closed-form MAML meta-training in NumPy: the peer for `glassbox bench maml`.

The same computation as crates/maml/src/maml/outer_loop.rs at the notebook's settings (d = 501
Fourier features, true frequencies 3, 4, 5; 32 grid inner points, 64 uniform meta points, noise
0.1, 5 tasks per step, SGD 0.01, 100 iterations). Per task, with S = diag(c^2), K = Phi S Phi^T:
  w = K^-1 y, u = Phi^T w, alpha = s u, r = Phi_m alpha - y_m, g = 2 Phi_m^T r,
  v = K^-1 Phi (s g), h = Phi^T v,  dL/dc = 2 c u (g - h),
and c <- c - lr * (sum of the tasks' gradients). NumPy's random numbers are not ours, so the
weights differ in detail; the script prints where the true features' and their aliases' weights
end (they should grow to about 4 and fall to about 0.2, as in the book) next to the time.

Usage: python maml_numpy.py [RUST_SECONDS]   (RUST_SECONDS: `glassbox bench maml`'s best time for
the same 100 iterations, to print the ratio; scripts/bench.sh passes it.)
"""
import json
import sys
import time

import numpy as np

D, TRUE_F, N_INNER, N_META, NOISE, TASKS, LR, ITERS = 501, (3, 4, 5), 32, 64, 0.1, 5, 0.01, 100


def design(xs, d=D):
    f = np.arange(1, (d - 1) // 2 + 1)
    phi = np.empty((len(xs), d))
    phi[:, 0] = 1.0
    ang = np.pi * np.outer(xs, f)
    phi[:, 1::2] = np.sqrt(2) * np.sin(ang)
    phi[:, 2::2] = np.sqrt(2) * np.cos(ang)
    return phi


def solve(chol, b):
    """K^-1 b from K's Cholesky factor L (K = L L^T)."""
    return np.linalg.solve(chol.T, np.linalg.solve(chol, b))


COLUMNS = [c for f in TRUE_F for c in (2 * f - 1, 2 * f)]


def train(seed):
    rng = np.random.default_rng(seed)
    c = np.ones(D)
    phi_train = design(-1.0 + 2.0 * np.arange(N_INNER) / N_INNER)
    for _ in range(ITERS):
        grad = np.zeros(D)
        s = c * c
        for _ in range(TASKS):
            # As the book does, each task factors its own K (the grid makes them equal).
            a = phi_train * c
            chol = np.linalg.cholesky(a @ a.T)
            coef = rng.uniform(-1, 1, len(COLUMNS))
            coef /= np.linalg.norm(coef)
            y = phi_train[:, COLUMNS] @ coef + NOISE * rng.standard_normal(N_INNER)
            phi_m = design(np.sort(rng.uniform(-1, 1, N_META)))
            y_m = phi_m[:, COLUMNS] @ coef + NOISE * rng.standard_normal(N_META)
            u = phi_train.T @ solve(chol, y)
            r = phi_m @ (s * u) - y_m
            g = 2.0 * phi_m.T @ r
            h = phi_train.T @ solve(chol, phi_train @ (s * g))
            grad += 2.0 * c * u * (g - h)
        c = c - LR * grad
    return c


def main():
    rust_s = float(sys.argv[1]) if len(sys.argv) > 1 else None
    train(0)  # warm-up
    times, c = [], None
    for seed in range(5):
        t0 = time.perf_counter()
        c = train(seed)
        times.append(time.perf_counter() - t0)
    best = min(times)
    # Aliases of the true frequencies on the 32-point grid, below the top frequency.
    aliases = [k for k in range(1, (D - 1) // 2 + 1) if k not in TRUE_F
               and any(k % N_INNER in (f, N_INNER - f) for f in TRUE_F)]
    alias_cols = [col for k in aliases for col in (2 * k - 1, 2 * k)]
    out = {
        "numpy": np.__version__,
        "meta_training_100_iterations_s": best,
        "meta_iterations_per_s": ITERS / best,
        "true_feature_weight_mean": float(np.mean(c[COLUMNS])),
        "alias_weight_mean": float(np.mean(c[alias_cols])),
    }
    if rust_s:
        out["glassbox_native_s"] = rust_s
        out["numpy_over_glassbox"] = best / rust_s
    print(json.dumps(out))


if __name__ == "__main__":
    main()
