"""Write data/iris-like.csv: a small, deterministic three-class data set.

The same bytes on every machine: a seeded generator and fixed formatting.
Run it once before capturing train.py.
"""
import os

import numpy as np

rng = np.random.RandomState(20240601)
centers = np.array([[5.0, 3.4, 1.5, 0.2], [5.9, 2.8, 4.3, 1.3], [6.6, 3.0, 5.6, 2.0]])
rows = []
for label, c in enumerate(centers):
    x = c + rng.normal(scale=0.35, size=(150, 4))
    rows += [(*r, label) for r in x]
order = rng.permutation(len(rows))

os.makedirs("data", exist_ok=True)
with open("data/iris-like.csv", "w") as f:
    f.write("sepal_length,sepal_width,petal_length,petal_width,species\n")
    for i in order:
        r = rows[i]
        f.write("%.3f,%.3f,%.3f,%.3f,%d\n" % r)
print("wrote data/iris-like.csv (%d rows)" % len(rows))
