"""Dense linear algebra with numpy: products, a symmetric eigendecomposition,
an SVD and a linear solve on seeded random matrices.

Writes out/eigenvalues.npy, out/singular.npy and out/summary.csv. The work
goes through numpy's BLAS/LAPACK (OpenBLAS on Debian), multithreaded, so the
manifest records the kernel ("core type") and thread count in use.

Usage: linalg.py [--size N] [--repeat K]  (defaults 2000 and 16: about 7 s of CPU)
"""
import argparse
import os

import numpy as np

ap = argparse.ArgumentParser()
ap.add_argument("--size", type=int, default=2000)
ap.add_argument("--repeat", type=int, default=16)
args = ap.parse_args()

rng = np.random.RandomState(42)
n = args.size
a = rng.standard_normal((n, n))
b = rng.standard_normal((n, n))

c = a
for _ in range(args.repeat):
    c = (c @ b) / np.sqrt(n)
sym = (a + a.T) / 2
w = np.linalg.eigvalsh(sym)
s = np.linalg.svd(a[: n // 2, : n // 2], compute_uv=False)
x = np.linalg.solve(sym + n * np.eye(n), np.ones(n))

os.makedirs("out", exist_ok=True)
np.save("out/eigenvalues.npy", w)
np.save("out/singular.npy", s)
with open("out/summary.csv", "w") as f:
    f.write("quantity,value\n")
    f.write("trace_c,%.17g\n" % np.trace(c))
    f.write("max_eigenvalue,%.17g\n" % w[-1])
    f.write("min_eigenvalue,%.17g\n" % w[0])
    f.write("max_singular,%.17g\n" % s[0])
    f.write("solution_norm,%.17g\n" % np.linalg.norm(x))
print("n=%d max eigenvalue %.6f" % (n, w[-1]))
