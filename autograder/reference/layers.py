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
        self.slope = None  # (same shape as x) dout/dx: 1 where x > 0, alpha elsewhere

    def forward(self, x):
        """x: any shape -> out: same shape and dtype."""
        self.mask = x > 0
        # out = x * slope is exactly np.where(mask, x, alpha * x), and backward becomes
        # one product: np.where on a mask of random signs is several times slower than
        # these passes. slope = max(mask, alpha): 1 where x > 0, alpha elsewhere.
        self.slope = np.maximum(self.mask, self.alpha, dtype=np.result_type(x, self.alpha))
        return x * self.slope

    def backward(self, dout):
        """dout: dL/dout, shape of the last x -> dx: dL/dx, same shape."""
        return dout * self.slope


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
        self.backward_params(dout)
        dx = dout @ self.W.T
        return dx.reshape(self.original_x_shape)

    def backward_params(self, dout):
        """The parameter half of backward: dout: (N, M) -> sets dW (D, M) and db (M,).

        A first layer, whose input (the data) needs no gradient, calls only this and
        saves the (N, M) @ (M, D) product of dx."""
        self.dW = self.x.T @ dout
        self.db = dout.sum(axis=0)


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
