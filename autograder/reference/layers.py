"""The layers of the network: LeakyRelu, Affine and SoftmaxWithLoss.

Written as the answer key of the notebook: the text's formulas, in the text's order. Each
layer keeps what its backward pass needs from the last forward pass; no method modifies
the arrays it is given. (A speed-tuned version lives in benchmarks/tuned.py.)
"""
import numpy as np

from .functions import cross_entropy_error, softmax


class LeakyRelu:
    """out = x where x > 0, alpha * x where x <= 0 (alpha = 0.1)."""

    def __init__(self):
        self.mask = None  # same shape as x: True where x <= 0
        self.alpha = 0.1

    def forward(self, x):
        """x: any shape -> out: same shape and dtype."""
        self.mask = (x <= 0)
        out = np.where(self.mask, self.alpha * x, x)
        return out

    def backward(self, dout):
        """dout: dL/dout, shape of the last x -> dx = dL/dx: dout where x > 0, alpha * dout elsewhere."""
        dx = np.where(self.mask, self.alpha * dout, dout)
        return dx


class Affine:
    """out = x @ W + b, for a batch of inputs."""

    def __init__(self, W, b):
        """W: (D, M), b: (M,). The arrays are kept, not copied: an optimizer that updates
        them in place updates this layer."""
        self.W = W
        self.b = b
        self.x = None  # (N, D) last input, flattened
        self.original_x_shape = None
        self.dW = None  # (D, M)
        self.db = None  # (M,)

    def forward(self, x):
        """x: (N, D) or (N, d1, d2, ...) with d1*d2*... = D -> out: (N, M)."""
        self.original_x_shape = x.shape
        x = x.reshape(x.shape[0], -1)
        self.x = x
        out = np.dot(x, self.W) + self.b
        return out

    def backward(self, dout):
        """dout: (N, M) -> dx with the shape of the last x; sets dW and db (backward_params)."""
        self.backward_params(dout)
        dx = np.dot(dout, self.W.T)
        return dx.reshape(*self.original_x_shape)

    def backward_params(self, dout):
        """dout: (N, M) -> sets dW = x^T dout (D, M) and db = the sum of dout over the batch
        (M,), without dx (the first layer's input, the data, needs none)."""
        self.dW = np.dot(self.x.T, dout)
        self.db = np.sum(dout, axis=0)


class SoftmaxWithLoss:
    """Softmax followed by the mean cross-entropy loss."""

    def __init__(self):
        self.loss = None  # scalar, loss of the last forward pass
        self.pred = None  # (N, C) softmax output
        self.y = None  # (N, C) one-hot or (N,) class indices

    def forward(self, x, y):
        """x: (N, C) scores, y: (N, C) one-hot or (N,) indices -> scalar loss."""
        self.y = y
        self.pred = softmax(x)
        self.loss = cross_entropy_error(self.pred, y)
        return self.loss

    def backward(self, dout=1):
        """dout: dL/dloss (scalar) -> dx: (N, C) = dout * (pred - onehot(y)) / N."""
        batch_size = self.pred.shape[0]
        if self.y.size == self.pred.size:
            dx = self.pred - self.y
        else:
            dx = self.pred.copy()
            dx[np.arange(batch_size), self.y] -= 1
        dx *= dout / batch_size
        return dx
