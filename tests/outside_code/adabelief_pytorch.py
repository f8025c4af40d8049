# The AdaBelief authors' package adabelief-pytorch 0.2.1, AdaBelief.step (rectify=False,
# weight_decay=0, amsgrad=False: the paper's Algorithm 2 without its options)
# repository: github.com/juntang-zhuang/Adabelief-Optimizer
# path:       pypi_packages/adabelief_pytorch0.2.1/adabelief_pytorch/AdaBelief.py
# commit:     1059ccab1bdf0d18bfd44028579e4909bb866cee
# The step's arithmetic for one parameter in numpy: torch's in-place mul_/add_/addcmul_/
# addcdiv_ become numpy's in-place operators, state keeps the package's names.
import numpy as np

EXPECTED = {
    "AdaBelief": (5.5, "adabelief_epsilon_in_s", "已发表的写法"),
}


class AdaBelief:
    """adabelief_pytorch.AdaBelief's default update behind the course's interface."""

    def __init__(self, learning_rate=0.001, epsilon=1e-7, beta1=0.9, beta2=0.999):
        self.group = {'lr': learning_rate, 'eps': epsilon, 'betas': (beta1, beta2)}
        self.state = {}

    def update(self, params, grads):
        import math
        group = self.group
        for key in params:
            p, grad = params[key], grads[key]
            state = self.state.setdefault(key, {})
            beta1, beta2 = group['betas']
            if len(state) == 0:
                state['step'] = 0
                state['exp_avg'] = np.zeros_like(p)
                state['exp_avg_var'] = np.zeros_like(p)
            exp_avg, exp_avg_var = state['exp_avg'], state['exp_avg_var']

            state['step'] += 1
            bias_correction1 = 1 - beta1 ** state['step']
            bias_correction2 = 1 - beta2 ** state['step']

            # exp_avg.mul_(beta1).add_(grad, alpha=1 - beta1)
            exp_avg *= beta1
            exp_avg += (1 - beta1) * grad
            grad_residual = grad - exp_avg
            # exp_avg_var.mul_(beta2).addcmul_(grad_residual, grad_residual, value=1 - beta2)
            exp_avg_var *= beta2
            exp_avg_var += (1 - beta2) * grad_residual * grad_residual
            # denom = (exp_avg_var.add_(group['eps']).sqrt() / math.sqrt(bias_correction2)).add_(group['eps'])
            exp_avg_var += group['eps']
            denom = np.sqrt(exp_avg_var) / math.sqrt(bias_correction2) + group['eps']
            step_size = group['lr'] / bias_correction1
            # p.data.addcdiv_(exp_avg, denom, value=-step_size)
            p += -step_size * exp_avg / denom
