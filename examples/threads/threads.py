"""A multithreaded experiment: OpenBLAS threads inside numpy, plus joblib
running work on two Python threads at once (threading backend).

Writes out/threads.json with per-task results (in task order, so the bytes
do not depend on which thread finished first) and the thread counts the BLAS
runtime reported.
"""
import json
import os

import numpy as np
from joblib import Parallel, delayed
from threadpoolctl import threadpool_info


def task(i):
    rng = np.random.RandomState(i)
    m = rng.standard_normal((300, 300))
    g = m @ m.T
    return {"task": i, "trace": float(np.trace(g)), "max_eig": float(np.linalg.eigvalsh(g)[-1])}


results = Parallel(n_jobs=2, backend="threading")(delayed(task)(i) for i in range(8))
blas = [
    {"internal_api": p.get("internal_api"), "num_threads": p.get("num_threads")}
    for p in threadpool_info()
    if p.get("user_api") == "blas"
]
os.makedirs("out", exist_ok=True)
with open("out/threads.json", "w") as f:
    json.dump({"results": results, "blas": blas}, f, indent=2, sort_keys=True)
    f.write("\n")
print("tasks %d, blas threads %s" % (len(results), [b["num_threads"] for b in blas]))
