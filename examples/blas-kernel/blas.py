"""An experiment whose bits depend on the BLAS kernel.

A float64 matrix product and a symmetric eigendecomposition, written with
full precision. OpenBLAS picks its kernels for the CPU at run time (its
"core type"); kernels for different instruction sets (AVX-512, AVX2+FMA,
AVX, SSE) sum in different orders and with or without fused multiply-add, so
the last bits of the results change with the kernel. repro replay pins the
kernel the capture used (OPENBLAS_CORETYPE); with --no-pin-kernels and
another core type the replay reports the numeric differences.
"""
import numpy as np

N = 256
rng = np.random.default_rng(20240229)
a = rng.standard_normal((N, N))
b = rng.standard_normal((N, N))

product = a @ b
eigenvalues = np.linalg.eigvalsh(product + product.T)

np.save("product.npy", product)
np.save("eigenvalues.npy", eigenvalues)
with open("summary.txt", "w") as f:
    f.write("trace %r\n" % float(np.trace(product)))
    f.write("sum %r\n" % float(product.sum()))
    for v in eigenvalues[:5]:
        f.write("eigenvalue %r\n" % float(v))
print("largest eigenvalue %r" % float(eigenvalues[-1]))
