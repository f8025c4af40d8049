"""Gradient-descent optimizers.

Every optimizer has update(params, grads): params and grads are dicts of arrays
with the same keys and shapes; each params[key] is changed IN PLACE (the network's
layers hold the same arrays). State dicts are keyed like params and created as
zeros on the first update; t counts updates and is 1 during the first one.

Speed: an update makes several passes over each parameter, and a 784 x 300 array
with its gradient, state and temporaries does not fit in a core's cache, so on whole
arrays every pass streams them from memory. The updates therefore run on blocks of
rows (_blocks), small enough that the passes after the first find the block in the
cache; the state arrays are updated in place (v *= beta; v += ...), block by block.
Blocking changes no value: the state is exactly the formulas', and so are the
parameters except in Adam and AdaBelief, whose step differs by rounding (see there).
"""
import numpy as np

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
