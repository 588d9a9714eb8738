"""Train a logistic-regression classifier on data/iris-like.csv.

Writes out/metrics.json (accuracy, confusion matrix) and
out/coefficients.csv (the fitted model). Deterministic: fixed split seed,
a deterministic solver, sorted JSON keys and fixed float formatting.
"""
import json
import os
import sys

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, confusion_matrix
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

path = sys.argv[1] if len(sys.argv) > 1 else "data/iris-like.csv"
data = np.loadtxt(path, delimiter=",", skiprows=1)
X, y = data[:, :4], data[:, 4].astype(int)
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.3, random_state=0, stratify=y)

scaler = StandardScaler().fit(X_train)
model = LogisticRegression(max_iter=1000, C=0.5).fit(scaler.transform(X_train), y_train)
pred = model.predict(scaler.transform(X_test))

os.makedirs("out", exist_ok=True)
metrics = {
    "accuracy": round(float(accuracy_score(y_test, pred)), 6),
    "confusion_matrix": confusion_matrix(y_test, pred).tolist(),
    "n_train": int(len(y_train)),
    "n_test": int(len(y_test)),
}
with open("out/metrics.json", "w") as f:
    json.dump(metrics, f, indent=2, sort_keys=True)
    f.write("\n")
with open("out/coefficients.csv", "w") as f:
    f.write("class,intercept,c0,c1,c2,c3\n")
    for k, (b, w) in enumerate(zip(model.intercept_, model.coef_)):
        f.write("%d,%.17g,%s\n" % (k, b, ",".join("%.17g" % v for v in w)))
print("accuracy %.4f" % metrics["accuracy"])
