# CS231n course notes, "Neural Networks Part 3", section "Parameter updates"
# repository: github.com/cs231n/cs231n.github.io
# path:       neural-networks-3.md
# commit:     9b2b45fe877d40e06a50a94fb8aee171a09e51c5
# The notes' update lines (x, dx, cache, m, v, mu, decay_rate) unchanged, applied to each
# parameter array in place; the adapters name the course's hyper-parameters as the notes do.
import numpy as np

EXPECTED = {
    "AdaGrad": (8.0, None, None),
    "RMSprop": (8.0, None, None),
    "Momentum": (8.0, None, None),
    "Nesterov": (9.0, None, None),
    "Adam": (11.0, None, None),
}


class AdaGrad:
    """The notes' Adagrad."""

    def __init__(self, learning_rate=0.001, epsilon=1e-7):
        self.learning_rate, self.eps = learning_rate, epsilon
        self.caches = {}

    def update(self, params, grads):
        learning_rate, eps = self.learning_rate, self.eps
        for key in params:
            x, dx = params[key], grads[key]
            cache = self.caches.setdefault(key, np.zeros_like(x))
            cache += dx**2
            x += - learning_rate * dx / (np.sqrt(cache) + eps)


class RMSprop:
    """The notes' RMSprop."""

    def __init__(self, learning_rate=0.001, epsilon=1e-7, beta=0.999):
        self.learning_rate, self.eps, self.decay_rate = learning_rate, epsilon, beta
        self.caches = {}

    def update(self, params, grads):
        learning_rate, eps, decay_rate = self.learning_rate, self.eps, self.decay_rate
        for key in params:
            x, dx = params[key], grads[key]
            cache = self.caches.get(key, np.zeros_like(x))
            cache = decay_rate * cache + (1 - decay_rate) * dx**2
            x += - learning_rate * dx / (np.sqrt(cache) + eps)
            self.caches[key] = cache


class Momentum:
    """The notes' Momentum update."""

    def __init__(self, learning_rate=0.001, beta=0.9):
        self.learning_rate, self.mu = learning_rate, beta
        self.velocities = {}

    def update(self, params, grads):
        learning_rate, mu = self.learning_rate, self.mu
        for key in params:
            x, dx = params[key], grads[key]
            v = self.velocities.get(key, np.zeros_like(x))
            v = mu * v - learning_rate * dx  # integrate velocity
            x += v  # integrate position
            self.velocities[key] = v


class Nesterov:
    """The notes' Nesterov Momentum (the form in terms of x_ahead)."""

    def __init__(self, learning_rate=0.001, beta=0.9):
        self.learning_rate, self.mu = learning_rate, beta
        self.velocities = {}

    def update(self, params, grads):
        learning_rate, mu = self.learning_rate, self.mu
        for key in params:
            x, dx = params[key], grads[key]
            v = self.velocities.get(key, np.zeros_like(x))
            v_prev = v  # back this up
            v = mu * v - learning_rate * dx  # velocity update stays the same
            x += -mu * v_prev + (1 + mu) * v  # position update changes form
            self.velocities[key] = v


class Adam:
    """The notes' Adam with the bias correction (t is the iteration counter, from 1)."""

    def __init__(self, learning_rate=0.001, epsilon=1e-7, beta1=0.9, beta2=0.999):
        self.learning_rate, self.eps, self.beta1, self.beta2 = learning_rate, epsilon, beta1, beta2
        self.moments = {}
        self.iteration = 0

    def update(self, params, grads):
        learning_rate, eps, beta1, beta2 = self.learning_rate, self.eps, self.beta1, self.beta2
        self.iteration += 1
        t = self.iteration
        for key in params:
            x, dx = params[key], grads[key]
            m, v = self.moments.get(key, (np.zeros_like(x), np.zeros_like(x)))
            m = beta1*m + (1-beta1)*dx
            mt = m / (1-beta1**t)
            v = beta2*v + (1-beta2)*(dx**2)
            vt = v / (1-beta2**t)
            x += - learning_rate * mt / (np.sqrt(vt) + eps)
            self.moments[key] = (m, v)
