"""The layers of the network: LeakyRelu, Affine and SoftmaxWithLoss.

Each layer keeps what its backward pass needs from the last forward pass.
No method modifies the arrays it is given.
"""
import numpy as np

from .functions import cross_entropy_error, softmax


class LeakyRelu:
    """y = x for x > 0, alpha * x otherwise (alpha = 0.1)."""

    def __init__(self):
        self.alpha = 0.1
        self.mask = None  # (same shape as x) True where x > 0

    def forward(self, x):
        """x: any shape -> out: same shape and dtype."""
        self.mask = x > 0
        return np.where(self.mask, x, self.alpha * x)

    def backward(self, dout):
        """dout: dL/dout, shape of the last x -> dx: dL/dx, same shape."""
        return np.where(self.mask, dout, self.alpha * dout)


class Affine:
    """out = x @ W + b, for a batch of inputs."""

    def __init__(self, W, b):
        """W: (D, M), b: (M,). The arrays are shared, not copied: an optimizer
        that updates them in place updates this layer."""
        self.W = W
        self.b = b
        self.x = None  # (N, D) last input, flattened
        self.original_x_shape = None
        self.dW = None  # (D, M)
        self.db = None  # (M,)

    def forward(self, x):
        """x: (N, D) or (N, d1, d2, ...) with d1*d2*... = D -> out: (N, M)."""
        self.original_x_shape = x.shape
        self.x = x.reshape(x.shape[0], -1)
        out = self.x @ self.W
        out += self.b
        return out

    def backward(self, dout):
        """dout: (N, M) -> dx with the shape of the last x; sets dW (D, M) and db (M,)."""
        dx = dout @ self.W.T
        self.dW = self.x.T @ dout
        self.db = dout.sum(axis=0)
        return dx.reshape(self.original_x_shape)


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
