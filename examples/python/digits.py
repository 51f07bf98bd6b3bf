"""backprop in place of scikit-learn's MLPClassifier: one import changes.

Trains on scikit-learn's digits inside a Pipeline, cross-validates, and shows
that scikit-learn's own MLPClassifier, given the same random_state, computes
the same model (same predictions, same loss curve), more slowly.

    make && PYTHONPATH=python /usr/bin/python3 examples/python/digits.py
"""
import time
import warnings

import numpy as np
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import cross_val_score, train_test_split
from sklearn.neural_network import MLPClassifier as SklearnMLP
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from backprop import MLPClassifier  # was: from sklearn.neural_network import MLPClassifier

warnings.simplefilter("ignore", ConvergenceWarning)  # 60 epochs on purpose

X, y = load_digits(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)

params = dict(hidden_layer_sizes=(100,), max_iter=60, random_state=0)
model = make_pipeline(StandardScaler(), MLPClassifier(**params))
print("5-fold accuracy: %.3f" % cross_val_score(model, X_train, y_train, cv=5).mean())

t = time.perf_counter()
ours = make_pipeline(StandardScaler(), MLPClassifier(**params)).fit(X_train, y_train)
t_ours = time.perf_counter() - t
t = time.perf_counter()
theirs = make_pipeline(StandardScaler(), SklearnMLP(**params)).fit(X_train, y_train)
t_theirs = time.perf_counter() - t

mlp, ref = ours[-1], theirs[-1]
print("test accuracy: %.3f after %d epochs (loss %.6f)" % (ours.score(X_test, y_test), mlp.n_iter_,
                                                           mlp.loss_))
same = np.array_equal(ours.predict(X_test), theirs.predict(X_test))
curve = max(abs(a - b) / b for a, b in zip(mlp.loss_curve_, ref.loss_curve_))
print("same predictions as scikit-learn: %s; loss curves within %.1e relative" % (same, curve))
print("fit: backprop %.3f s, scikit-learn %.3f s" % (t_ours, t_theirs))
assert same and curve < 1e-6
