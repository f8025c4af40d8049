"""The training loop shared by every optimizer."""
import numpy as np


def train_network(network, optimizer, x_train, y_train, x_test, y_test,
                  iters_num=10000, batch_size=100, seed=0, verbose=True,
                  train_eval_size=10000):
    """Mini-batch training of network with optimizer.

    x_train: (N, D), y_train: (N, C) one-hot or (N,) indices; likewise x_test, y_test.
    Each iteration draws batch_size training rows (with replacement, from a generator
    seeded with seed), computes the gradient, and updates network.params in place.
    Every iter_per_epoch = N // batch_size iterations, starting at iteration 0, it
    measures the accuracy on the test set and on train_eval_size training rows (a
    fixed random subset; None for all N) and, if verbose, prints both as
    "Train acc:... Test acc:...". Scoring all 60000 training rows every epoch would
    cost more than a quarter of the training time and tell the same.

    Returns history: dict with
        train_loss: list of float, the loss of each iteration's batch (taken from
                    the gradient pass, before the update),
        eval_iter:  list of int, the iterations at which accuracy was measured,
        train_acc, test_acc: list of float, the accuracies at those iterations.
    """
    rng = np.random.default_rng(seed)
    train_size = x_train.shape[0]
    iter_per_epoch = max(train_size // batch_size, 1)
    if train_eval_size is None or train_eval_size >= train_size:
        x_train_eval, y_train_eval = x_train, y_train
    else:
        rows = np.random.default_rng(seed).choice(train_size, train_eval_size, replace=False)
        x_train_eval, y_train_eval = x_train[rows], y_train[rows]
    history = {"train_loss": [], "eval_iter": [], "train_acc": [], "test_acc": []}
    for i in range(iters_num):
        batch_mask = rng.integers(0, train_size, batch_size)
        grads = network.gradient(x_train[batch_mask], y_train[batch_mask])
        optimizer.update(network.params, grads)
        history["train_loss"].append(float(network.lastLayer.loss))
        if i % iter_per_epoch == 0:
            train_acc = network.accuracy(x_train_eval, y_train_eval)
            test_acc = network.accuracy(x_test, y_test)
            history["eval_iter"].append(i)
            history["train_acc"].append(train_acc)
            history["test_acc"].append(test_acc)
            if verbose:
                print("Train acc:{:<.6f}\tTest acc:{:<.6f}".format(train_acc, test_acc))
    return history
