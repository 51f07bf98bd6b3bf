"""backprop: scikit-learn's MLPClassifier and MLPRegressor on libbackprop.

    from backprop import MLPClassifier      # instead of sklearn.neural_network
    clf = MLPClassifier(hidden_layer_sizes=(100,), random_state=0).fit(X, y)

The same parameters, attributes and (for the same random_state) numbers as
scikit-learn 1.2; docs/PYTHON.md has the details. Importing loads the float32
and float64 builds of libbackprop through ctypes and checks their version.

    backprop.save(clf, "model.safetensors")   # a fitted MLP (or scaler Pipeline) -> a model file
    est = backprop.load("model.safetensors")  # a model file -> a fitted estimator
"""
from ._lib import BackpropError, LIBRARIES, library
from ._mlp import MLPClassifier, MLPRegressor
from ._file import load, save

__version__ = "0.1.0"
__license__ = "MIT"  # LICENSE at the repository root
__all__ = ["MLPClassifier", "MLPRegressor", "BackpropError", "library", "libraries", "save",
           "load"]


def libraries():
    """The loaded builds of libbackprop, by dtype."""
    return dict(LIBRARIES)
