"""Softmax and cross-entropy, the two functions the loss layer is built from."""
import numpy as np


def softmax(x):
    """Row-wise softmax, stable for large inputs.

    x: (N, C) scores, or (C,) for one sample.
    Returns probabilities of the same shape and dtype; each row sums to 1.
    """
    shifted = x - x.max(axis=-1, keepdims=True)
    exp = np.exp(shifted)
    exp /= exp.sum(axis=-1, keepdims=True)
    return exp


def cross_entropy_error(pred, y):
    """Mean cross-entropy of a batch.

    pred: (N, C) probabilities, or (C,) for one sample.
    y: (N, C) one-hot labels or (N,) class indices (a single label for one sample).
    Returns a scalar: -mean over the batch of log(pred[i, y_i] + 1e-7).
    """
    if pred.ndim == 1:
        pred = pred.reshape(1, -1)
        y = np.reshape(y, (1, -1))
    if np.size(y) == pred.size:  # one-hot -> class indices
        y = np.argmax(y, axis=1)
    y = np.reshape(y, -1)
    batch_size = pred.shape[0]
    return -np.sum(np.log(pred[np.arange(batch_size), y] + 1e-7)) / batch_size
