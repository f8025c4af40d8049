"""Numerical gradients by centered differences, and the relative error used to compare them."""
import numpy as np


def numerical_gradient(f, x, h=1e-5):
    """Gradient of a scalar function at x.

    f: callable taking x and returning a scalar; x: array of any shape, float64 for
    accurate results. Each entry of x is nudged by +-h in place and restored.
    Returns grad with x's shape: (f(x + h e_i) - f(x - h e_i)) / (2h).
    """
    grad = np.zeros_like(x)
    it = np.nditer(x, flags=["multi_index"])
    for _ in it:
        i = it.multi_index
        old = x[i]
        x[i] = old + h
        f_plus = f(x)
        x[i] = old - h
        f_minus = f(x)
        x[i] = old
        grad[i] = (f_plus - f_minus) / (2 * h)
    return grad


def numerical_gradient_array(f, x, dout, h=1e-5):
    """Gradient of sum(f(x) * dout) at x, for a function f returning an array.

    dout: upstream gradient, the shape of f(x). Returns an array of x's shape.
    """
    return numerical_gradient(lambda x_: np.sum(f(x_) * dout), x, h)


def rel_error(x, y):
    """max |x - y| / max(1e-8, |x| + |y|), elementwise over arrays of equal shape."""
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    return float(np.max(np.abs(x - y) / np.maximum(1e-8, np.abs(x) + np.abs(y))))
