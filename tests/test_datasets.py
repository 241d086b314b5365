"""Toy datasets (autograd_lite/datasets.py): seeded, balanced, and the shape they promise.

Every maker returns numpy ``(X, y)``: X float32 ``(n, features)``, y int64 labels ``(n,)`` for
classification or float32 ``(n, 1)`` targets for regression. The same seed gives the same
bytes. Beyond shapes, each test checks the geometry the docstring states: circles have radii 1
and ``factor``, moons lie on their arcs and the nearer arc is the label, the corners of XOR are
the truth table, spirals follow their formula, linear data is fitted exactly by least squares.
"""

from __future__ import annotations

import numpy as np
import pytest

from autograd_lite import datasets
from autograd_lite.datasets import (
    make_blobs,
    make_circles,
    make_linear,
    make_moons,
    make_spirals,
    make_xor,
)

CLASSIFIERS = {  # maker -> number of classes with the defaults
    make_blobs: 3, make_moons: 2, make_circles: 2, make_spirals: 3, make_xor: 2}
MAKERS = [make_linear, *CLASSIFIERS]


def linear_accuracy(X, y):
    """Accuracy of the best least-squares line on labels 0/1: ~0.5 when no line separates."""
    A = np.c_[X, np.ones(len(X))].astype(np.float64)
    w = np.linalg.lstsq(A, 2.0 * y - 1, rcond=None)[0]
    return np.mean((A @ w > 0) == (y == 1))


# ---- for every maker -------------------------------------------------------------------------


@pytest.mark.parametrize("maker", MAKERS, ids=lambda m: m.__name__)
def test_the_same_seed_gives_identical_data_another_seed_other_data(maker):
    X1, y1 = maker(seed=3)
    X2, y2 = maker(seed=3)
    X3, _ = maker(seed=4)
    assert X1.tobytes() == X2.tobytes() and y1.tobytes() == y2.tobytes()
    assert not np.array_equal(X1, X3)
    assert not np.array_equal(maker()[0], maker()[0])  # no seed: fresh randomness


@pytest.mark.parametrize("maker", MAKERS, ids=lambda m: m.__name__)
def test_shapes_and_dtypes(maker):
    X, y = maker(n=60, seed=0)
    assert X.dtype == np.float32 and X.ndim == 2 and len(X) == 60
    if maker is make_linear:
        assert y.dtype == np.float32 and y.shape == (60, 1)
    else:
        assert y.dtype == np.int64 and y.shape == (60,) and X.shape[1] == 2
    assert np.isfinite(X).all() and np.isfinite(y).all()


@pytest.mark.parametrize("maker", CLASSIFIERS, ids=lambda m: m.__name__)
@pytest.mark.parametrize("n", [12, 13, 101, 302])
def test_classes_are_balanced_and_the_rows_come_shuffled(maker, n):
    X, y = maker(n=n, seed=0)
    sizes = np.bincount(y)
    assert len(sizes) == CLASSIFIERS[maker] and sizes.max() - sizes.min() <= 1
    assert sorted(y.tolist()) != y.tolist()  # not class after class


def test_more_classes_stay_balanced():
    for y in [make_blobs(100, centers=6, seed=0)[1], make_spirals(100, classes=7, seed=0)[1]]:
        sizes = np.bincount(y)
        assert sizes.max() - sizes.min() <= 1 and sizes.sum() == 100


@pytest.mark.parametrize("call, error, message", [
    (lambda: make_moons(0), ValueError, "n must be at least"),
    (lambda: make_moons(10.0), TypeError, "n must be an int"),
    (lambda: make_moons(True), TypeError, "n must be an int"),
    (lambda: make_moons(noise=-0.1), ValueError, "noise"),
    (lambda: make_xor(noise=float("nan")), ValueError, "noise"),
    (lambda: make_circles(noise="a"), TypeError, "noise"),
    (lambda: make_circles(factor=1.0), ValueError, "factor"),
    (lambda: make_spirals(classes=1), ValueError, "classes"),
    (lambda: make_spirals(n=2, classes=3), ValueError, "n must be at least 3"),
    (lambda: make_xor(3), ValueError, "at least 4"),
    (lambda: make_blobs(2, centers=3), ValueError, "too small"),
    (lambda: make_blobs(centers=[1, 2]), ValueError, "shape"),
    (lambda: make_blobs(centers=[[0, 0], [1, 1]], n_features=3), ValueError, "n_features"),
    (lambda: make_blobs(std=[1.0, 2.0]), ValueError, "one per cluster"),
    (lambda: make_blobs(std=-1.0), ValueError, "std"),
    (lambda: make_linear(n_features=2, weights=[1.0]), ValueError, r"shape \(2,\)"),
    (lambda: make_linear(bias=float("inf")), ValueError, "bias"),
    (lambda: make_linear(seed="x"), TypeError, "seed"),
    (lambda: make_moons(seed=-1), ValueError, "seed"),
])
def test_bad_arguments_are_clear_errors_naming_the_maker(call, error, message):
    with pytest.raises(error, match=message) as info:
        call()
    assert str(info.value).startswith("make_")


def test_every_maker_documents_its_formula():
    for maker in MAKERS:
        assert "=" in maker.__doc__ or "Normal(" in maker.__doc__, maker.__name__
    assert set(datasets.__all__) == {m.__name__ for m in MAKERS}


# ---- the geometry of each dataset ------------------------------------------------------------


def test_linear_data_is_fitted_by_its_true_weights():
    X, y, w, b = make_linear(500, n_features=3, noise=0.0, bias=0.5, seed=0, return_params=True)
    assert w.shape == (3, 1) and b == 0.5
    A = np.c_[X, np.ones(len(X))].astype(np.float64)
    fit = np.linalg.lstsq(A, y.astype(np.float64), rcond=None)[0]
    np.testing.assert_allclose(fit[:3], w, atol=1e-5)
    np.testing.assert_allclose(fit[3], b, atol=1e-5)
    X, y, w, b = make_linear(2000, n_features=3, noise=0.1, bias=0.5, seed=0, return_params=True)
    fit = np.linalg.lstsq(np.c_[X, np.ones(len(X))], y, rcond=None)[0]
    np.testing.assert_allclose(fit[:3], w, atol=0.02)  # noise moves it a little
    residual = y - (X @ w + b)
    assert abs(residual.std() - 0.1) < 0.01 and abs(residual.mean()) < 0.01


def test_linear_data_uses_the_given_weights_and_inputs_in_the_unit_box():
    X, y = make_linear(50, noise=0.0, weights=[2.0], bias=1.0, seed=0)  # y = 2x + 1
    np.testing.assert_allclose(y, 2 * X + 1, atol=1e-6)
    assert X.min() >= -1 and X.max() <= 1
    X, y = make_linear(40, n_features=3, weights=np.ones((3, 2)), seed=0)  # two targets
    assert y.shape == (40, 2)


def test_blobs_are_gaussians_around_their_centers():
    centers = np.array([[-3.0, 0.0], [3.0, 0.0], [0.0, 4.0]])
    X, y = make_blobs(3000, centers=centers, std=0.5, seed=0)
    for k, c in enumerate(centers):
        np.testing.assert_allclose(X[y == k].mean(0), c, atol=0.05)
        np.testing.assert_allclose(X[y == k].std(0), 0.5, atol=0.05)
    nearest = np.argmin(np.linalg.norm(X[:, None] - centers[None], axis=2), axis=1)
    assert np.mean(nearest == y) > 0.99
    X, y = make_blobs(300, centers=2, n_features=5, std=[0.1, 2.0], seed=0)
    assert X.shape == (300, 5) and X[y == 0].std(0).max() < 0.5 < X[y == 1].std(0).min()


def test_blob_centers_are_drawn_in_the_box():
    X, y = make_blobs(400, centers=4, std=0.0, seed=1)
    centers = np.array([X[y == k][0] for k in range(4)])
    assert np.abs(centers).max() <= 10 and len(np.unique(centers, axis=0)) == 4
    for k in range(4):
        assert (X[y == k] == centers[k]).all()


def test_circles_have_radius_one_and_factor():
    X, y = make_circles(200, noise=0.0, factor=0.3, seed=0)
    radius = np.linalg.norm(X, axis=1)
    np.testing.assert_allclose(radius[y == 0], 1.0, atol=1e-6)
    np.testing.assert_allclose(radius[y == 1], 0.3, atol=1e-6)
    X, y = make_circles(200, noise=0.05, factor=0.5, seed=0)
    radius = np.linalg.norm(X, axis=1)
    assert np.array_equal(radius < 0.75, y == 1)  # the middle circle separates them
    assert linear_accuracy(X, y) < 0.6  # no line does


def test_moons_lie_on_their_arcs_and_the_nearer_arc_is_the_label():
    X, y = make_moons(200, noise=0.0, seed=0)
    upper, lower = X[y == 0].astype(np.float64), X[y == 1].astype(np.float64)
    np.testing.assert_allclose(np.hypot(upper[:, 0], upper[:, 1]), 1, atol=1e-6)
    np.testing.assert_allclose(np.hypot(lower[:, 0] - 1, lower[:, 1] - 0.5), 1, atol=1e-6)
    assert (upper[:, 1] >= -1e-6).all() and (lower[:, 1] <= 0.5 + 1e-6).all()

    X, y = make_moons(200, noise=0.1, seed=0)
    t = np.linspace(0, np.pi, 1000)
    arcs = [np.c_[np.cos(t), np.sin(t)], np.c_[1 - np.cos(t), 0.5 - np.sin(t)]]
    distance = [np.linalg.norm(X[:, None] - arc[None], axis=2).min(1) for arc in arcs]
    assert np.mean((distance[1] < distance[0]) == (y == 1)) >= 0.98
    assert linear_accuracy(X, y) < 0.92  # a line does worse: the point of the picture


def test_spirals_follow_their_formula():
    X, y = make_spirals(300, classes=3, noise=0.0, seed=0)
    r = np.hypot(X[:, 0], X[:, 1]).astype(np.float64)
    for k in range(3):
        np.testing.assert_allclose(np.sort(r[y == k]), np.arange(1, 101) / 100, atol=1e-6)
    theta = np.arctan2(X[:, 1], X[:, 0])
    expected = 2 * np.pi * y / 3 + 4 * r
    gap = np.angle(np.exp(1j * (theta - expected)))  # difference modulo 2 pi
    assert np.abs(gap).max() < 1e-4
    X, y = make_spirals(300, classes=3, noise=0.2, seed=0)
    assert np.abs(np.hypot(X[:, 0], X[:, 1]) - r).max() < 1e-6  # noise turns, never stretches


def test_xor_is_the_truth_table_with_a_spread():
    X, y = make_xor(400, noise=0.1, seed=0)
    a, b = X[:, 0] > 0.5, X[:, 1] > 0.5
    assert np.array_equal(a ^ b, y == 1)
    for corner in [(0, 0), (0, 1), (1, 0), (1, 1)]:
        near = np.all(np.abs(X - corner) < 0.5, axis=1)
        assert near.sum() == 100 and np.all(y[near] == (corner[0] ^ corner[1]))
    assert linear_accuracy(X, y) < 0.6
    X, y = make_xor(4, noise=0.0, seed=0)
    assert sorted(zip(X.tolist(), y.tolist())) == [
        ([0, 0], 0), ([0, 1], 1), ([1, 0], 1), ([1, 1], 0)]
