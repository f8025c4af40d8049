"""Parameter initialisation and the three-layer network 784-300-300-10, written as the
answer key of the notebook. (A speed-tuned version lives in benchmarks/tuned.py.)"""
from collections import OrderedDict

import numpy as np

from .layers import Affine, LeakyRelu, SoftmaxWithLoss

PARAM_KEYS = ("W1", "b1", "W2", "b2", "W3", "b3")


def initialize_parameters(input_size, hidden_size, output_size, weight_init_std, dtype=np.float32):
    """Gaussian weights times weight_init_std, zero biases; np.random.seed(1) first.

    Returns a dict: W1 (input_size, hidden_size), b1 (hidden_size,),
    W2 (hidden_size, hidden_size), b2 (hidden_size,),
    W3 (hidden_size, output_size), b3 (output_size,), all of the given dtype.
    """
    np.random.seed(1)
    params = {}
    params['W1'] = (np.random.randn(input_size, hidden_size) * weight_init_std).astype(dtype)
    params['b1'] = np.zeros(hidden_size, dtype=dtype)
    params['W2'] = (np.random.randn(hidden_size, hidden_size) * weight_init_std).astype(dtype)
    params['b2'] = np.zeros(hidden_size, dtype=dtype)
    params['W3'] = (np.random.randn(hidden_size, output_size) * weight_init_std).astype(dtype)
    params['b3'] = np.zeros(output_size, dtype=dtype)
    return params


class ThreeLayerNet:
    """Affine1 -> LeakyRelu1 -> Affine2 -> LeakyRelu2 -> Affine3 -> SoftmaxWithLoss."""

    def __init__(self, input_size, hidden_size, output_size, weight_init_std=0.01, dtype=np.float32):
        self.params = initialize_parameters(input_size, hidden_size, output_size, weight_init_std, dtype)
        self.layers = OrderedDict()
        self.layers['Affine1'] = Affine(self.params['W1'], self.params['b1'])
        self.layers['LeakyRelu1'] = LeakyRelu()
        self.layers['Affine2'] = Affine(self.params['W2'], self.params['b2'])
        self.layers['LeakyRelu2'] = LeakyRelu()
        self.layers['Affine3'] = Affine(self.params['W3'], self.params['b3'])
        self.lastLayer = SoftmaxWithLoss()

    def predict(self, x):
        """x: (N, input_size) -> scores (N, output_size), before softmax."""
        pred = x
        for layer in self.layers.values():
            pred = layer.forward(pred)
        return pred

    def loss(self, x, y):
        """x: (N, input_size), y: (N, output_size) one-hot or (N,) indices -> scalar loss."""
        pred = self.predict(x)
        loss = self.lastLayer.forward(pred, y)
        return loss

    def accuracy(self, x, y, chunk_size=2000):
        """Fraction of rows of x whose highest score is the label y (one-hot or indices),
        scored chunk_size rows at a time (a 10000-row evaluation then needs little memory)."""
        labels = np.argmax(y, axis=1) if y.ndim != 1 else y
        correct = 0
        for start in range(0, x.shape[0], chunk_size):
            pred = np.argmax(self.predict(x[start:start + chunk_size]), axis=1)
            correct += np.sum(pred == labels[start:start + chunk_size])
        return correct / float(x.shape[0])

    def gradient(self, x, y):
        """Backpropagation. Returns grads with the keys and shapes of params; the loss of
        this forward pass stays in self.lastLayer.loss."""
        self.loss(x, y)
        dout = self.lastLayer.backward(1)
        for layer in reversed(self.layers.values()):
            dout = layer.backward(dout)
        grads = {}
        for i in ('1', '2', '3'):
            grads['W' + i] = self.layers['Affine' + i].dW
            grads['b' + i] = self.layers['Affine' + i].db
        return grads
