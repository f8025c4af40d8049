"""Gradient-descent optimizers, written as the answer key of the notebook: the text's
formulas (docs/design.md), in the text's order.

Every optimizer has update(params, grads): params and grads are dicts of arrays with the
same keys and shapes; each params[key] is changed IN PLACE (the network's layers hold the
same arrays). State dicts are keyed like params and created as zeros on the first update;
t counts updates and is 1 during the first one. (A speed-tuned version lives in
benchmarks/tuned.py.)
"""
import numpy as np


class SGD:
    """p -= lr * g"""

    def __init__(self, learning_rate=0.001):
        self.learning_rate = learning_rate

    def update(self, params, grads):
        for key in params:
            params[key] -= self.learning_rate * grads[key]


class AdaGrad:
    """G += g * g;  p -= lr * g / (sqrt(G) + eps)"""

    def __init__(self, learning_rate=0.001, epsilon=1e-7):
        self.learning_rate = learning_rate
        self.epsilon = epsilon
        self.grads_squared = None

    def update(self, params, grads):
        if self.grads_squared is None:
            self.grads_squared = {key: np.zeros_like(value) for key, value in params.items()}
        for key in params:
            self.grads_squared[key] += grads[key] * grads[key]
            params[key] -= self.learning_rate * grads[key] / (np.sqrt(self.grads_squared[key]) + self.epsilon)


class RMSprop:
    """u = beta * u + (1 - beta) * g * g;  p -= lr * g / (sqrt(u) + eps)"""

    def __init__(self, learning_rate=0.001, epsilon=1e-7, beta=0.999):
        self.learning_rate = learning_rate
        self.epsilon = epsilon
        self.beta = beta
        self.grads_squared = None

    def update(self, params, grads):
        if self.grads_squared is None:
            self.grads_squared = {key: np.zeros_like(value) for key, value in params.items()}
        for key in params:
            self.grads_squared[key] = self.beta * self.grads_squared[key] + (1 - self.beta) * grads[key] * grads[key]
            params[key] -= self.learning_rate * grads[key] / (np.sqrt(self.grads_squared[key]) + self.epsilon)


class Momentum:
    """v = beta * v + lr * g;  p -= v"""

    def __init__(self, learning_rate=0.001, beta=0.9):
        self.learning_rate = learning_rate
        self.beta = beta
        self.v = None

    def update(self, params, grads):
        if self.v is None:
            self.v = {key: np.zeros_like(value) for key, value in params.items()}
        for key in params:
            self.v[key] = self.beta * self.v[key] + self.learning_rate * grads[key]
            params[key] -= self.v[key]


class Nesterov:
    """v = beta * v + lr * g;  p -= beta * v + lr * g   (v already updated)"""

    def __init__(self, learning_rate=0.001, beta=0.9):
        self.learning_rate = learning_rate
        self.beta = beta
        self.v = None

    def update(self, params, grads):
        if self.v is None:
            self.v = {key: np.zeros_like(value) for key, value in params.items()}
        for key in params:
            self.v[key] = self.beta * self.v[key] + self.learning_rate * grads[key]
            params[key] -= self.beta * self.v[key] + self.learning_rate * grads[key]


class Adam:
    """v = b1 * v + (1 - b1) * g;  u = b2 * u + (1 - b2) * g * g;
    v_corrected = v / (1 - b1^t);  u_corrected = u / (1 - b2^t);
    p -= lr * v_corrected / (sqrt(u_corrected) + eps)"""

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
            self.v = {key: np.zeros_like(value) for key, value in params.items()}
            self.u = {key: np.zeros_like(value) for key, value in params.items()}
        self.t += 1
        for key in params:
            self.v[key] = self.beta1 * self.v[key] + (1 - self.beta1) * grads[key]
            self.u[key] = self.beta2 * self.u[key] + (1 - self.beta2) * grads[key] * grads[key]
            v_corrected = self.v[key] / (1 - self.beta1 ** self.t)
            u_corrected = self.u[key] / (1 - self.beta2 ** self.t)
            params[key] -= self.learning_rate * v_corrected / (np.sqrt(u_corrected) + self.epsilon)


class AdaBelief:
    """v = b1 * v + (1 - b1) * g;  s = b2 * s + (1 - b2) * (g - v)^2   (v already updated);
    v_corrected = v / (1 - b1^t);  s_corrected = s / (1 - b2^t);
    p -= lr * v_corrected / (sqrt(s_corrected) + eps)"""

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
            self.v = {key: np.zeros_like(value) for key, value in params.items()}
            self.s = {key: np.zeros_like(value) for key, value in params.items()}
        self.t += 1
        for key in params:
            self.v[key] = self.beta1 * self.v[key] + (1 - self.beta1) * grads[key]
            self.s[key] = self.beta2 * self.s[key] + (1 - self.beta2) * (grads[key] - self.v[key]) ** 2
            v_corrected = self.v[key] / (1 - self.beta1 ** self.t)
            s_corrected = self.s[key] / (1 - self.beta2 ** self.t)
            params[key] -= self.learning_rate * v_corrected / (np.sqrt(s_corrected) + self.epsilon)


OPTIMIZERS = {cls.__name__: cls for cls in (SGD, AdaGrad, RMSprop, Momentum, Nesterov, Adam, AdaBelief)}
