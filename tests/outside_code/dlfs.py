# Deep Learning from Scratch (《深度学习入门：基于 Python 的理论与实现》), common/optimizer.py
# repository: github.com/oreilly-japan/deep-learning-from-scratch
# path:       common/optimizer.py
# commit:     cfdcf92304c57c380d21cd23dc3f32b519a725c1
# The book's classes with the course's constructor names (lr -> learning_rate, momentum and
# decay_rate -> beta); update() is the book's, unchanged. The book has no epsilon parameter:
# its AdaGrad, RMSprop and Adam write 1e-7 into the denominator, so the adapters take the
# course's epsilon and ignore it, as the book does.
import numpy as np

EXPECTED = {
    "AdaGrad": (0.0, "adagrad_fixed_epsilon", "没有使用 epsilon 参数"),
    "RMSprop": (0.0, "rmsprop_fixed_epsilon", "没有使用 epsilon 参数"),
    "Momentum": (8.0, None, None),
    "Nesterov": (0.0, "nesterov_lookahead_on_new_velocity", "向前看的一步用了更新后的 v"),
    "Adam": (0.0, "adam_folded_step+adam_fixed_epsilon_1e7", "没有找到 self.u、self.t"),
}


class Momentum:
    """Momentum SGD"""

    def __init__(self, learning_rate=0.001, beta=0.9):
        self.lr = learning_rate
        self.momentum = beta
        self.v = None

    def update(self, params, grads):
        if self.v is None:
            self.v = {}
            for key, val in params.items():
                self.v[key] = np.zeros_like(val)

        for key in params.keys():
            self.v[key] = self.momentum*self.v[key] - self.lr*grads[key]
            params[key] += self.v[key]


class Nesterov:
    """Nesterov's Accelerated Gradient (http://arxiv.org/abs/1212.0901)"""

    def __init__(self, learning_rate=0.001, beta=0.9):
        self.lr = learning_rate
        self.momentum = beta
        self.v = None

    def update(self, params, grads):
        if self.v is None:
            self.v = {}
            for key, val in params.items():
                self.v[key] = np.zeros_like(val)

        for key in params.keys():
            self.v[key] *= self.momentum
            self.v[key] -= self.lr * grads[key]
            params[key] += self.momentum * self.momentum * self.v[key]
            params[key] -= (1 + self.momentum) * self.lr * grads[key]


class AdaGrad:
    """AdaGrad"""

    def __init__(self, learning_rate=0.001, epsilon=1e-7):
        self.lr = learning_rate
        self.h = None

    def update(self, params, grads):
        if self.h is None:
            self.h = {}
            for key, val in params.items():
                self.h[key] = np.zeros_like(val)

        for key in params.keys():
            self.h[key] += grads[key] * grads[key]
            params[key] -= self.lr * grads[key] / (np.sqrt(self.h[key]) + 1e-7)


class RMSprop:
    """RMSprop"""

    def __init__(self, learning_rate=0.001, epsilon=1e-7, beta=0.999):
        self.lr = learning_rate
        self.decay_rate = beta
        self.h = None

    def update(self, params, grads):
        if self.h is None:
            self.h = {}
            for key, val in params.items():
                self.h[key] = np.zeros_like(val)

        for key in params.keys():
            self.h[key] *= self.decay_rate
            self.h[key] += (1 - self.decay_rate) * grads[key] * grads[key]
            params[key] -= self.lr * grads[key] / (np.sqrt(self.h[key]) + 1e-7)


class Adam:
    """Adam (http://arxiv.org/abs/1412.6980v8)"""

    def __init__(self, learning_rate=0.001, epsilon=1e-7, beta1=0.9, beta2=0.999):
        self.lr = learning_rate
        self.beta1 = beta1
        self.beta2 = beta2
        self.iter = 0
        self.m = None
        self.v = None

    def update(self, params, grads):
        if self.m is None:
            self.m, self.v = {}, {}
            for key, val in params.items():
                self.m[key] = np.zeros_like(val)
                self.v[key] = np.zeros_like(val)

        self.iter += 1
        lr_t = self.lr * np.sqrt(1.0 - self.beta2**self.iter) / (1.0 - self.beta1**self.iter)

        for key in params.keys():
            self.m[key] += (1 - self.beta1) * (grads[key] - self.m[key])
            self.v[key] += (1 - self.beta2) * (grads[key]**2 - self.v[key])

            params[key] -= lr_t * self.m[key] / (np.sqrt(self.v[key]) + 1e-7)
