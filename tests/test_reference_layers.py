"""The reference layers and network against numerical gradients (float64), and the
loss functions on hand-computed values."""
import numpy as np
import pytest

from autograder.gradcheck import numerical_gradient, numerical_gradient_array, rel_error
from autograder.reference import (Affine, LeakyRelu, SoftmaxWithLoss, ThreeLayerNet,
                                  cross_entropy_error, initialize_parameters, softmax)


@pytest.fixture
def rng():
    return np.random.default_rng(42)


def exact_cross_entropy(scores, labels):
    """Mean cross-entropy of softmax(scores) without the 1e-7 guard inside the log:
    the function whose gradient SoftmaxWithLoss.backward computes. labels: (N,) indices."""
    shifted = scores - scores.max(axis=1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    return -log_probs[np.arange(len(labels)), labels].mean()


def away_from_zero(rng, shape):
    """Random float64 values with |x| >= 0.1, so that +-1e-5 never crosses LeakyReLU's kink."""
    x = rng.uniform(0.1, 2.0, size=shape)
    return x * rng.choice([-1.0, 1.0], size=shape)


def test_leaky_relu_forward_values():
    out = LeakyRelu().forward(np.array([[1.0, -0.5], [-2.0, 3.0], [0.0, 1e-3]]))
    np.testing.assert_array_equal(out, [[1.0, -0.05], [-0.2, 3.0], [0.0, 1e-3]])


def test_leaky_relu_backward_matches_numerical_gradient_and_leaves_inputs(rng):
    layer = LeakyRelu()
    x = away_from_zero(rng, (4, 6))
    dout = rng.standard_normal((4, 6))
    x_before, dout_before = x.copy(), dout.copy()
    layer.forward(x)
    dx = layer.backward(dout)
    np.testing.assert_array_equal(dout, dout_before)
    np.testing.assert_array_equal(x, x_before)
    dx_num = numerical_gradient_array(lambda x_: LeakyRelu().forward(x_), x, dout)
    assert rel_error(dx, dx_num) < 1e-7


def test_leaky_relu_backward_slope_is_alpha_for_non_positive_inputs():
    layer = LeakyRelu()
    layer.forward(np.array([2.0, -3.0, 0.0]))
    np.testing.assert_allclose(layer.backward(np.array([10.0, 10.0, 10.0])), [10.0, 1.0, 1.0])


def test_affine_forward_and_backward_on_the_seeds_example():
    affine = Affine(np.ones((2, 3)), np.ones(3))
    assert np.sum(affine.forward(np.ones((1, 2)))) == 9.0
    np.testing.assert_array_equal(affine.backward(np.ones((1, 3))), [[3.0, 3.0]])
    np.testing.assert_array_equal(affine.dW, np.ones((2, 3)))
    np.testing.assert_array_equal(affine.db, [1.0, 1.0, 1.0])


@pytest.mark.parametrize("x_shape", [(5, 4), (3, 2, 2)])
def test_affine_gradients_match_numerical(rng, x_shape):
    x = rng.standard_normal(x_shape)
    W = rng.standard_normal((4, 3))
    b = rng.standard_normal(3)
    dout = rng.standard_normal((x_shape[0], 3))
    layer = Affine(W, b)
    out = layer.forward(x)
    assert out.shape == (x_shape[0], 3)
    dx = layer.backward(dout)
    assert dx.shape == x_shape
    assert rel_error(dx, numerical_gradient_array(lambda x_: Affine(W, b).forward(x_), x, dout)) < 1e-7
    assert rel_error(layer.dW, numerical_gradient_array(lambda W_: Affine(W_, b).forward(x), W, dout)) < 1e-7
    assert rel_error(layer.db, numerical_gradient_array(lambda b_: Affine(W, b_).forward(x), b, dout)) < 1e-7


@pytest.mark.parametrize("one_hot", [True, False])
def test_softmax_with_loss_gradient_matches_numerical(rng, one_hot):
    x = rng.standard_normal((6, 5))
    labels = np.array([0, 4, 2, 2, 1, 3])
    y = np.eye(5)[labels] if one_hot else labels
    layer = SoftmaxWithLoss()
    layer.forward(x, y)
    dx = layer.backward()
    dx_num = numerical_gradient(lambda x_: exact_cross_entropy(x_, labels), x)
    assert rel_error(dx, dx_num) < 1e-7


def test_softmax_is_stable_for_large_inputs():
    x = np.array([[1e4, 1e4 + 1.0, 1e4 - 1.0], [-1e4, -1e4, -1e4]])
    p = softmax(x)
    assert np.all(np.isfinite(p))
    e = np.exp([0.0, 1.0, -1.0])
    np.testing.assert_allclose(p[0], e / e.sum(), rtol=1e-12)
    np.testing.assert_allclose(p[1], [1 / 3] * 3, rtol=1e-12)
    np.testing.assert_allclose(softmax(np.array([1e4, 1e4])), [0.5, 0.5])


def test_softmax_keeps_float32():
    assert softmax(np.zeros((2, 3), dtype=np.float32)).dtype == np.float32


def test_cross_entropy_mixed_labels_one_hot_and_indices_agree():
    pred = np.array([[0.7, 0.2, 0.1], [0.1, 0.8, 0.1], [0.25, 0.25, 0.5]])
    labels = np.array([0, 1, 2])
    expected = -(np.log(0.7 + 1e-7) + np.log(0.8 + 1e-7) + np.log(0.5 + 1e-7)) / 3
    assert cross_entropy_error(pred, labels) == pytest.approx(expected, rel=1e-12)
    assert cross_entropy_error(pred, np.eye(3)[labels]) == pytest.approx(expected, rel=1e-12)
    # the original's pred[:, y] would average a 3x3 block instead of picking one entry per row
    assert cross_entropy_error(pred, labels) != pytest.approx(
        -np.sum(np.log(pred[:, labels] + 1e-7)) / 3)


def test_cross_entropy_single_sample():
    pred = np.array([0.1, 0.6, 0.3])
    assert cross_entropy_error(pred, np.array([0, 1, 0])) == pytest.approx(-np.log(0.6 + 1e-7))
    assert cross_entropy_error(pred, 1) == pytest.approx(-np.log(0.6 + 1e-7))


def test_initialize_parameters_shapes_dtypes_and_seed():
    params = initialize_parameters(784, 300, 10, 0.01)
    shapes = {"W1": (784, 300), "b1": (300,), "W2": (300, 300), "b2": (300,),
              "W3": (300, 10), "b3": (10,)}
    assert {k: v.shape for k, v in params.items()} == shapes
    assert all(v.dtype == np.float32 for v in params.values())
    assert all(not np.any(params[b]) for b in ("b1", "b2", "b3"))
    np.random.seed(1)
    np.testing.assert_array_equal(params["W1"], (np.random.randn(784, 300) * 0.01).astype(np.float32))
    assert abs(float(params["W2"].std()) - 0.01) < 5e-4
    again = initialize_parameters(784, 300, 10, 0.01, dtype=np.float64)
    assert again["W3"].dtype == np.float64
    np.testing.assert_allclose(again["W3"], params["W3"], rtol=1e-6)


def test_network_layers_share_the_parameter_arrays():
    net = ThreeLayerNet(8, 6, 4)
    assert list(net.layers) == ["Affine1", "LeakyRelu1", "Affine2", "LeakyRelu2", "Affine3"]
    for i in (1, 2, 3):
        assert net.layers[f"Affine{i}"].W is net.params[f"W{i}"]
        assert net.layers[f"Affine{i}"].b is net.params[f"b{i}"]


@pytest.mark.parametrize("one_hot", [True, False])
def test_network_gradient_matches_numerical(rng, one_hot):
    net = ThreeLayerNet(7, 6, 4, weight_init_std=0.5, dtype=np.float64)
    for key in ("b1", "b2", "b3"):
        net.params[key][...] = rng.standard_normal(net.params[key].shape) * 0.1
    x = rng.standard_normal((5, 7))
    labels = np.array([0, 3, 1, 2, 3])
    y = np.eye(4)[labels] if one_hot else labels
    grads = net.gradient(x, y)
    assert net.lastLayer.loss == pytest.approx(net.loss(x, y))
    for key, param in net.params.items():
        numeric = numerical_gradient(lambda _: exact_cross_entropy(net.predict(x), labels), param)
        assert grads[key].shape == param.shape
        assert rel_error(grads[key], numeric) < 1e-6, key


def test_network_float32_stays_float32(rng):
    net = ThreeLayerNet(7, 6, 4)
    x = rng.standard_normal((5, 7)).astype(np.float32)
    y = np.eye(4, dtype=np.float32)[[0, 1, 2, 3, 0]]
    assert net.predict(x).dtype == np.float32
    assert all(g.dtype == np.float32 for g in net.gradient(x, y).values())


def test_accuracy_counts_matching_rows_in_chunks():
    net = ThreeLayerNet(3, 4, 3)
    x = np.random.default_rng(0).standard_normal((25, 3)).astype(np.float32)
    predicted = net.predict(x).argmax(axis=1)
    labels = predicted.copy()
    labels[:5] = (labels[:5] + 1) % 3
    assert net.accuracy(x, labels, chunk_size=7) == pytest.approx(20 / 25)
    assert net.accuracy(x, np.eye(3)[labels]) == pytest.approx(20 / 25)
