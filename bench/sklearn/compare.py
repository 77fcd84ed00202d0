"""Four of scikit-learn's bundled tables (iris, wine, breast cancer, diabetes), split 80/20 with
random_state=0 (stratified for classes), written as CSV for `backprop train --data ... --test ...`,
and scikit-learn's MLP on the same splits with the settings backprop's estimator uses: one hidden
layer of 32 ReLU, Adam with eta = 0.01, batches of 32, 100 epochs, standardised inputs (and target).
For the regression also with early_stopping=True (a tenth held out, patience 10), as backprop's
`train --data` does by default for a regression.

    python -m venv venv && venv/bin/pip install scikit-learn
    venv/bin/python bench/sklearn/compare.py OUT_DIR        # prints scikit-learn's test scores, seeds 0-4
    for s in 1 2 3 4 5; do backprop train --data OUT_DIR/iris_train.csv --target target \
        --test OUT_DIR/iris_test.csv --seed $s --json | tail -1; done  # backprop's, seeds 1-5
"""
import csv, sys
import numpy as np
from sklearn import datasets
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler
from sklearn.neural_network import MLPClassifier, MLPRegressor
from sklearn.metrics import accuracy_score, r2_score, mean_squared_error
out = sys.argv[1]
sets = {
  "iris": (datasets.load_iris(), "classify"),
  "wine": (datasets.load_wine(), "classify"),
  "breast_cancer": (datasets.load_breast_cancer(), "classify"),
  "diabetes": (datasets.load_diabetes(), "regress"),
}
for name, (d, task) in sets.items():
    X, y = d.data, d.target
    strat = y if task == "classify" else None
    Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=0.2, random_state=0, stratify=strat)
    cols = [f"f{i}" for i in range(X.shape[1])]
    for part, (A, b) in {"train": (Xtr, ytr), "test": (Xte, yte)}.items():
        with open(f"{out}/{name}_{part}.csv", "w", newline="") as f:
            w = csv.writer(f); w.writerow(cols + ["target"])
            for row, t in zip(A, b):
                w.writerow([repr(float(v)) for v in row] + [int(t) if task == "classify" else float(t)])
    s = StandardScaler().fit(Xtr)
    scores = []
    for seed in range(5):
        if task == "classify":
            m = MLPClassifier(hidden_layer_sizes=(32,), learning_rate_init=0.01, batch_size=32, max_iter=100, random_state=seed).fit(s.transform(Xtr), ytr)
            scores.append(accuracy_score(yte, m.predict(s.transform(Xte))))
        else:
            ys = StandardScaler().fit(ytr.reshape(-1, 1))
            m = MLPRegressor(hidden_layer_sizes=(32,), learning_rate_init=0.01, batch_size=32, max_iter=100, random_state=seed).fit(s.transform(Xtr), ys.transform(ytr.reshape(-1,1)).ravel())
            p = ys.inverse_transform(m.predict(s.transform(Xte)).reshape(-1,1)).ravel()
            scores.append(r2_score(yte, p))
    print(name, task, len(ytr), len(yte), "sklearn", " ".join(f"{v:.4f}" for v in scores), f"mean {np.mean(scores):.4f}")
    if task == "regress":
        scores = []
        for seed in range(5):
            m = MLPRegressor(hidden_layer_sizes=(32,), learning_rate_init=0.01, batch_size=32, max_iter=100, random_state=seed, early_stopping=True).fit(s.transform(Xtr), ys.transform(ytr.reshape(-1,1)).ravel())
            p = ys.inverse_transform(m.predict(s.transform(Xte)).reshape(-1,1)).ravel()
            scores.append(r2_score(yte, p))
        print(name, task, len(ytr), len(yte), "sklearn-early-stopping", " ".join(f"{v:.4f}" for v in scores), f"mean {np.mean(scores):.4f}")
