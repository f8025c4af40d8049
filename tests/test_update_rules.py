"""The family of update rules (autograder/checks/update_rules.py) against independent oracles: each
optimizer's rule follows the reference optimizer's trajectory, and each single change follows the
reference with the hyper-parameter that change amounts to (a sign, swapped betas, a gain) or the
formula written out here."""
import numpy as np
import pytest

from autograder import reference
from autograder.checks.update_rules import RULES, changed_rules, defaults, rule_class

HYPER = {"learning_rate": 0.05, "epsilon": 1e-3, "beta": 0.8, "beta1": 0.7, "beta2": 0.95}
STEPS = 4


def hyper_of(name):
    """HYPER's values of the reference optimizer's hyper-parameters (none is its default)."""
    return {k: HYPER[k] for k in defaults(name)}


def trajectory(optimizer, seed=0):
    """The parameter W after each of STEPS updates, shape (STEPS, 3, 2); gradients drawn from seed."""
    rng = np.random.default_rng(seed)
    params = {"W": rng.standard_normal((3, 2))}
    path = []
    for _ in range(STEPS):
        optimizer.update(params, {"W": rng.standard_normal((3, 2))})
        path.append(params["W"].copy())
    return np.array(path)


def changed(name, change_id, **hyper):
    rule = next(rule for change, rule in changed_rules(name) if change.id == change_id)
    return rule_class(name, rule)(**(hyper or hyper_of(name)))


@pytest.mark.parametrize("name", list(RULES))
def test_each_optimizers_rule_is_the_reference(name):
    np.testing.assert_allclose(trajectory(rule_class(name, RULES[name])(**hyper_of(name))),
                               trajectory(getattr(reference, name)(**hyper_of(name))), rtol=1e-12)


@pytest.mark.parametrize("name, change_id, same_as", [
    ("Adam", "sign_flipped", {"learning_rate": -HYPER["learning_rate"]}),
    ("Adam", "betas_swapped", {"beta1": HYPER["beta2"], "beta2": HYPER["beta1"]}),
    ("AdaBelief", "betas_swapped", {"beta1": HYPER["beta2"], "beta2": HYPER["beta1"]}),
    ("Momentum", "momentum_gain_one_minus_beta", {"learning_rate": (1 - HYPER["beta"]) * HYPER["learning_rate"]}),
    ("RMSprop", "ignores_learning_rate", {"learning_rate": 0.001}),
    ("Nesterov", "ignores_beta", {"beta": 0.9}),
])
def test_a_change_is_the_reference_with_other_hyper_parameters(name, change_id, same_as):
    np.testing.assert_allclose(trajectory(changed(name, change_id)),
                               trajectory(getattr(reference, name)(**dict(hyper_of(name), **same_as))), rtol=1e-12)


def by_hand(update, **state):
    """An optimizer whose update(params, grads) is update(W, g, t, state) -> the step subtracted."""
    class ByHand:
        t = 0

        def update(self, params, grads):
            self.t += 1
            params["W"] -= update(params["W"], grads["W"], self.t, state)
    return ByHand()


def test_changes_written_out():
    lr, eps, beta, b1, b2 = (HYPER[k] for k in ("learning_rate", "epsilon", "beta", "beta1", "beta2"))

    def nesterov_book(W, g, t, s):
        s["v"] = beta * s.get("v", 0) + lr * g
        return beta * beta * s["v"] + (1 + beta) * lr * g

    def adam_without_correction(W, g, t, s):
        s["v"] = b1 * s.get("v", 0) + (1 - b1) * g
        s["u"] = b2 * s.get("u", 0) + (1 - b2) * g * g
        return lr * s["v"] / (np.sqrt(s["u"]) + eps)

    def adam_first_swapped(W, g, t, s):
        s["v"] = (1 - b1) * s.get("v", 0) + b1 * g
        s["u"] = b2 * s.get("u", 0) + (1 - b2) * g * g
        return lr * (s["v"] / (1 - b1 ** t)) / (np.sqrt(s["u"] / (1 - b2 ** t)) + eps)

    def rmsprop_epsilon_inside(W, g, t, s):
        s["h"] = beta * s.get("h", 0) + (1 - beta) * g * g
        return lr * g / np.sqrt(s["h"] + eps)

    def adagrad_no_root(W, g, t, s):
        s["h"] = s.get("h", 0) + g * g
        return lr * g / (s["h"] + eps)

    for name, change_id, update in [("Nesterov", "nesterov_book_form_with_new_v", nesterov_book),
                                    ("Adam", "no_bias_correction", adam_without_correction),
                                    ("Adam", "first_moment_coefficients_swapped", adam_first_swapped),
                                    ("RMSprop", "epsilon_inside_root", rmsprop_epsilon_inside),
                                    ("AdaGrad", "no_root", adagrad_no_root)]:
        np.testing.assert_allclose(trajectory(changed(name, change_id)), trajectory(by_hand(update)), rtol=1e-12,
                                   err_msg=change_id)


def test_every_change_makes_another_rule_that_runs():
    for name in RULES:
        base = trajectory(rule_class(name, RULES[name])(**hyper_of(name)))
        for change, rule in changed_rules(name):
            with np.errstate(all="ignore"):  # a bias correction one step behind divides by 0
                assert not np.allclose(trajectory(rule_class(name, rule)(**hyper_of(name))), base), (name, change.id)
