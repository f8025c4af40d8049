# Dive into Deep Learning (d2l, 《动手学深度学习》), chapter "Optimization Algorithms"
# repository: github.com/d2l-ai/d2l-en (d2l-ai/d2l-zh holds the same code)
# paths:      chapter_optimization/adagrad.md, rmsprop.md, momentum.md, adam.md
# commits:    adagrad.md 9ef48ae972d4361de6257529ac177899582cc177, adam.md 01bc4d01a191d686f58cc42749814267615d1656
# Each class keeps d2l's function (params, states, hyperparams) unchanged as a static method
# and calls it on views of the course's arrays that carry their gradient (d2l's p.grad). d2l
# writes eps = 1e-6 (and Adam's betas) inside its functions; the adapters pass the course's
# epsilon and betas in their place, through hyperparams.
import numpy as np

EXPECTED = {
    "AdaGrad": (4.0, "adagrad_epsilon_inside_sqrt", "已发表的写法"),
    "RMSprop": (4.0, "rmsprop_epsilon_inside_sqrt", "已发表的写法"),
    "Momentum": (8.0, None, None),
    "Adam": (11.0, None, None),
}


class AdaGrad:
    """d2l's adagrad behind the course's interface."""

    class _Param(np.ndarray):
        """A view of a parameter that carries its gradient, as a d2l tensor does (p.grad)."""

    def __init__(self, learning_rate=0.001, epsilon=1e-7):
        self.hyperparams = {'lr': learning_rate, 'eps': epsilon}
        self.states = None

    @staticmethod
    def adagrad(params, states, hyperparams):
        eps = hyperparams['eps']
        for p, s in zip(params, states):
            s[:] += np.square(p.grad)
            p[:] -= hyperparams['lr'] * p.grad / np.sqrt(s + eps)

    def update(self, params, grads):
        if self.states is None:
            self.states = {key: np.zeros_like(value) for key, value in params.items()}
        views = []
        for key in params:
            view = params[key].view(self._Param)
            view.grad = grads[key]
            views.append(view)
        self.adagrad(views, [self.states[key] for key in params], self.hyperparams)


class RMSprop:
    """d2l's rmsprop behind the course's interface."""

    class _Param(np.ndarray):
        """A view of a parameter that carries its gradient, as a d2l tensor does (p.grad)."""

    def __init__(self, learning_rate=0.001, epsilon=1e-7, beta=0.999):
        self.hyperparams = {'lr': learning_rate, 'gamma': beta, 'eps': epsilon}
        self.states = None

    @staticmethod
    def rmsprop(params, states, hyperparams):
        gamma, eps = hyperparams['gamma'], hyperparams['eps']
        for p, s in zip(params, states):
            s[:] = gamma * s + (1 - gamma) * np.square(p.grad)
            p[:] -= hyperparams['lr'] * p.grad / np.sqrt(s + eps)

    def update(self, params, grads):
        if self.states is None:
            self.states = {key: np.zeros_like(value) for key, value in params.items()}
        views = []
        for key in params:
            view = params[key].view(self._Param)
            view.grad = grads[key]
            views.append(view)
        self.rmsprop(views, [self.states[key] for key in params], self.hyperparams)


class Momentum:
    """d2l's sgd_momentum behind the course's interface."""

    class _Param(np.ndarray):
        """A view of a parameter that carries its gradient, as a d2l tensor does (p.grad)."""

    def __init__(self, learning_rate=0.001, beta=0.9):
        self.hyperparams = {'lr': learning_rate, 'momentum': beta}
        self.states = None

    @staticmethod
    def sgd_momentum(params, states, hyperparams):
        for p, v in zip(params, states):
            v[:] = hyperparams['momentum'] * v + p.grad
            p[:] -= hyperparams['lr'] * v

    def update(self, params, grads):
        if self.states is None:
            self.states = {key: np.zeros_like(value) for key, value in params.items()}
        views = []
        for key in params:
            view = params[key].view(self._Param)
            view.grad = grads[key]
            views.append(view)
        self.sgd_momentum(views, [self.states[key] for key in params], self.hyperparams)


class Adam:
    """d2l's adam behind the course's interface (d2l keeps t in hyperparams, from 1)."""

    class _Param(np.ndarray):
        """A view of a parameter that carries its gradient, as a d2l tensor does (p.grad)."""

    def __init__(self, learning_rate=0.001, epsilon=1e-7, beta1=0.9, beta2=0.999):
        self.hyperparams = {'lr': learning_rate, 't': 1, 'eps': epsilon, 'beta1': beta1, 'beta2': beta2}
        self.states = None

    @staticmethod
    def adam(params, states, hyperparams):
        beta1, beta2, eps = hyperparams['beta1'], hyperparams['beta2'], hyperparams['eps']
        for p, (v, s) in zip(params, states):
            v[:] = beta1 * v + (1 - beta1) * p.grad
            s[:] = beta2 * s + (1 - beta2) * np.square(p.grad)
            v_bias_corr = v / (1 - beta1 ** hyperparams['t'])
            s_bias_corr = s / (1 - beta2 ** hyperparams['t'])
            p[:] -= hyperparams['lr'] * v_bias_corr / (np.sqrt(s_bias_corr) + eps)
        hyperparams['t'] += 1

    def update(self, params, grads):
        if self.states is None:
            self.states = {key: (np.zeros_like(value), np.zeros_like(value)) for key, value in params.items()}
        views = []
        for key in params:
            view = params[key].view(self._Param)
            view.grad = grads[key]
            views.append(view)
        self.adam(views, [self.states[key] for key in params], self.hyperparams)
