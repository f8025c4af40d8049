"""The reference solution tuned for speed: what `make bench` (bench_step.py) measures.

autograder.reference is written as the answer key (the text's formulas, plainly); the
hidden checks trust it. This module computes the same values faster on the 784-300-300-10
network: LeakyReLU as one product with a stored slope, the first layer's input gradient
skipped (the data needs none, as in torch), accuracy scored in cache-sized chunks, and the
optimizer updates run in place on blocks of rows that fit in a core's cache. The layers and
the network give the reference's values exactly; the optimizers' parameters differ from
the reference's by rounding only in Adam and AdaBelief (their bias-correction factors are
applied as products). bench_step.py checks that agreement before it times anything.

Speed: an update makes several passes over each parameter, and a 784 x 300 array with its
gradient, state and temporaries does not fit in a core's cache, so on whole arrays every
pass streams them from memory. The updates therefore run on blocks of rows (_blocks),
small enough that the passes after the first find the block in the cache.
"""
from collections import OrderedDict

import numpy as np

from autograder.reference import SoftmaxWithLoss, initialize_parameters

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


class ThreeLayerNet:
    """Tuned: Affine1 -> LeakyRelu1 -> Affine2 -> LeakyRelu2 -> Affine3 -> SoftmaxWithLoss."""

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


_BLOCK_BYTES = 128 * 1024  # of one array; an update touches about six (p, g, state, temporaries)


def _zeros_like_each(params):
    """A state dict: zeros shaped and typed like each parameter."""
    return {key: np.zeros_like(p) for key, p in params.items()}


def _blocks(*arrays):
    """Views of the same rows of each of the given same-shaped arrays, _BLOCK_BYTES of
    the first array at a time: yields tuples (block of arrays[0], block of arrays[1], ...).
    Updating a block in place updates the array."""
    first = arrays[0]
    if first.ndim == 0 or first.size == 0:
        yield arrays
        return
    rows = max(1, _BLOCK_BYTES * len(first) // first.nbytes)
    for start in range(0, len(first), rows):
        yield tuple(a[start:start + rows] for a in arrays)


class SGD:
    """p -= lr * g"""

    def __init__(self, learning_rate=0.001):
        self.learning_rate = learning_rate

    def update(self, params, grads):
        for key in params:
            for p, g in _blocks(params[key], grads[key]):
                p -= self.learning_rate * g


class AdaGrad:
    """G += g*g;  p -= lr * g / (sqrt(G) + eps)"""

    def __init__(self, learning_rate=0.001, epsilon=1e-7):
        self.learning_rate = learning_rate
        self.epsilon = epsilon
        self.grads_squared = None

    def update(self, params, grads):
        if self.grads_squared is None:
            self.grads_squared = _zeros_like_each(params)
        for key in params:
            for p, g, G in _blocks(params[key], grads[key], self.grads_squared[key]):
                G += g * g
                p -= self.learning_rate * g / (np.sqrt(G) + self.epsilon)


class RMSprop:
    """u = beta*u + (1-beta)*g*g;  p -= lr * g / (sqrt(u) + eps)"""

    def __init__(self, learning_rate=0.001, epsilon=1e-7, beta=0.999):
        self.learning_rate = learning_rate
        self.epsilon = epsilon
        self.beta = beta
        self.grads_squared = None

    def update(self, params, grads):
        if self.grads_squared is None:
            self.grads_squared = _zeros_like_each(params)
        for key in params:
            for p, g, u in _blocks(params[key], grads[key], self.grads_squared[key]):
                u *= self.beta
                u += (1 - self.beta) * g * g
                p -= self.learning_rate * g / (np.sqrt(u) + self.epsilon)


class Momentum:
    """v = beta*v + lr*g;  p -= v"""

    def __init__(self, learning_rate=0.001, beta=0.9):
        self.learning_rate = learning_rate
        self.beta = beta
        self.v = None

    def update(self, params, grads):
        if self.v is None:
            self.v = _zeros_like_each(params)
        for key in params:
            for p, g, v in _blocks(params[key], grads[key], self.v[key]):
                v *= self.beta
                v += self.learning_rate * g
                p -= v


class Nesterov:
    """v = beta*v + lr*g;  p -= beta*v + lr*g   (v already updated)"""

    def __init__(self, learning_rate=0.001, beta=0.9):
        self.learning_rate = learning_rate
        self.beta = beta
        self.v = None

    def update(self, params, grads):
        if self.v is None:
            self.v = _zeros_like_each(params)
        for key in params:
            for p, g, v in _blocks(params[key], grads[key], self.v[key]):
                step = self.learning_rate * g
                v *= self.beta
                v += step
                p -= self.beta * v + step


class Adam:
    """v = b1*v + (1-b1)*g;  u = b2*u + (1-b2)*g*g;
    p -= lr * (v / (1-b1^t)) / (sqrt(u / (1-b2^t)) + eps)"""

    def __init__(self, learning_rate=0.001, epsilon=1e-7, beta1=0.9, beta2=0.999):
        self.learning_rate = learning_rate
        self.epsilon = epsilon
        self.beta1 = beta1
        self.beta2 = beta2
        self.v = None
        self.u = None
        self.t = 0

    def update(self, params, grads):
        if self.v is None:
            self.v = _zeros_like_each(params)
            self.u = _zeros_like_each(params)
        self.t += 1
        # lr * (v / (1-b1^t)) and u / (1-b2^t) as products with factors computed once:
        # the same values up to rounding, and dividing each element costs several
        # multiplications. (np.divide: a zero 1-b^t gives inf, as array division does.)
        step_size = float(np.divide(self.learning_rate, 1 - self.beta1 ** self.t))
        u_scale = float(np.divide(1, 1 - self.beta2 ** self.t))
        for key in params:
            for p, g, v, u in _blocks(params[key], grads[key], self.v[key], self.u[key]):
                v *= self.beta1
                v += (1 - self.beta1) * g
                u *= self.beta2
                u += (1 - self.beta2) * g * g
                p -= step_size * v / (np.sqrt(u * u_scale) + self.epsilon)


class AdaBelief:
    """v = b1*v + (1-b1)*g;  s = b2*s + (1-b2)*(g-v)^2  (v already updated);
    p -= lr * (v / (1-b1^t)) / (sqrt(s / (1-b2^t)) + eps)"""

    def __init__(self, learning_rate=0.001, epsilon=1e-7, beta1=0.9, beta2=0.999):
        self.learning_rate = learning_rate
        self.epsilon = epsilon
        self.beta1 = beta1
        self.beta2 = beta2
        self.v = None
        self.s = None
        self.t = 0

    def update(self, params, grads):
        if self.v is None:
            self.v = _zeros_like_each(params)
            self.s = _zeros_like_each(params)
        self.t += 1
        # As in Adam: the divisions by 1-b^t as products with factors computed once.
        step_size = float(np.divide(self.learning_rate, 1 - self.beta1 ** self.t))
        s_scale = float(np.divide(1, 1 - self.beta2 ** self.t))
        for key in params:
            for p, g, v, s in _blocks(params[key], grads[key], self.v[key], self.s[key]):
                v *= self.beta1
                v += (1 - self.beta1) * g
                belief = g - v
                s *= self.beta2
                s += (1 - self.beta2) * belief * belief
                p -= step_size * v / (np.sqrt(s * s_scale) + self.epsilon)


OPTIMIZERS = {cls.__name__: cls for cls in (SGD, AdaGrad, RMSprop, Momentum, Nesterov, Adam, AdaBelief)}


def check_agreement(steps=3):
    """Raises AssertionError unless this module gives the reference's values (to rounding)
    for a small network's gradient and every optimizer's updates, in float32 and float64."""
    from autograder import reference
    rng = np.random.default_rng(0)
    for dtype, rtol in ((np.float32, 1e-5), (np.float64, 1e-10)):
        x = rng.standard_normal((8, 7)).astype(dtype)
        y = rng.integers(0, 4, 8)
        tuned_net, plain_net = ThreeLayerNet(7, 6, 4, 0.5, dtype), reference.ThreeLayerNet(7, 6, 4, 0.5, dtype)
        for name, cls in OPTIMIZERS.items():
            tuned, plain = cls(0.05), reference.OPTIMIZERS[name](0.05)
            for _ in range(steps):
                tuned.update(tuned_net.params, tuned_net.gradient(x, y))
                plain.update(plain_net.params, plain_net.gradient(x, y))
                for key, value in plain_net.params.items():
                    np.testing.assert_allclose(tuned_net.params[key], value, rtol=rtol, atol=rtol,
                                               err_msg=f"{name} {np.dtype(dtype).name} {key}")
        assert tuned_net.accuracy(x, y, chunk_size=3) == plain_net.accuracy(x, y)
