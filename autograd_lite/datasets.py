"""Seeded toy datasets for the pictures of a first course in learning (numpy only).

Every maker returns numpy arrays ``(X, y)``: ``X`` is float32 of shape ``(n, features)``; ``y``
holds int64 class labels ``0 .. classes-1`` of shape ``(n,)`` for classification, float32
targets of shape ``(n, 1)`` for regression (the shape ``nn.Linear(features, 1)`` predicts).
The same ``seed`` gives identical data; classes are balanced (their sizes differ by at most
one) and, for classification, the rows come in random order, so an unshuffled loader still
sees every class in each batch. Each docstring gives the generating formula.

>>> X, y = make_moons(200, noise=0.1, seed=0)
>>> X.shape, X.dtype, y.dtype
((200, 2), dtype('float32'), dtype('int64'))

The exact four-point XOR needs no maker:
``X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], np.float32); y = np.array([0, 1, 1, 0])``.
"""

from __future__ import annotations

import math
import numbers
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from ._tensor import Tensor
from .creation import random_generator

if TYPE_CHECKING:
    from .creation import SeedLike

__all__ = ["make_linear", "make_blobs", "make_moons", "make_circles", "make_spirals",
           "make_xor"]


def _count(value, name: str, maker: str, minimum: int = 1) -> int:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{maker}: {name} must be an int, got {type(value).__name__} {value!r}")
    if value < minimum:
        raise ValueError(f"{maker}: {name} must be at least {minimum}, got {value}")
    return int(value)


def _scale(value, name: str, maker: str) -> float:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"{maker}: {name} must be a number, got {type(value).__name__} "
                        f"{value!r}")
    if not (math.isfinite(value) and value >= 0):  # type: ignore[operator]  # (mypy#3186)
        raise ValueError(f"{maker}: {name} must be finite and >= 0, got {value!r}")
    return float(value)


def _balanced(n: int, parts: int) -> np.ndarray:
    """Sizes of ``parts`` groups of ``n`` samples that differ by at most one (first ones larger)."""
    return np.array([n // parts + (i < n % parts) for i in range(parts)])


def _finish(X: np.ndarray, y: np.ndarray, rng: np.random.Generator
            ) -> tuple[np.ndarray, np.ndarray]:
    """float32 features, int64 labels, rows in random order."""
    order = rng.permutation(len(y))
    return X[order].astype(np.float32), y[order].astype(np.int64)


def make_linear(n: int = 100, n_features: int = 1, noise: float = 0.1,
                weights: npt.ArrayLike | None = None, bias: float = 0.0, seed: SeedLike = None,
                return_params: bool = False) -> tuple[Any, ...]:
    """Linear regression data: ``y = X @ w + b + noise * eps``.

    ``X ~ Uniform(-1, 1)`` of shape ``(n, n_features)``, ``eps ~ Normal(0, 1)``. When
    ``weights`` is None, ``w ~ Normal(0, 1)`` of shape ``(n_features,)`` is drawn from the
    seed; pass ``weights`` (shape ``(n_features,)``, or ``(n_features, k)`` for k targets) to
    choose it. ``y`` has shape ``(n, 1)`` (or ``(n, k)``), float32.

    Args:
        return_params: also return the true parameters, as ``(X, y, w, b)`` with ``w`` a float64
            array of shape ``(n_features, k)`` (k = 1 unless weights say otherwise) and ``b`` a
            float. Least squares on noiseless data recovers them exactly.

    >>> X, y = make_linear(50, noise=0.0, weights=[2.0], bias=1.0, seed=0)   # y = 2x + 1
    >>> X.shape, y.shape, np.allclose(y, 2 * X + 1)
    ((50, 1), (50, 1), True)
    >>> X, y, w, b = make_linear(200, n_features=3, seed=0, return_params=True)
    >>> w.shape, b
    ((3, 1), 0.0)
    """
    maker = "make_linear"
    n = _count(n, "n", maker)
    n_features = _count(n_features, "n_features", maker)
    noise = _scale(noise, "noise", maker)
    if isinstance(bias, (bool, np.bool_)) or not isinstance(bias, numbers.Real):
        raise TypeError(f"{maker}: bias must be a number, got {type(bias).__name__} {bias!r}")
    if not math.isfinite(bias):
        raise ValueError(f"{maker}: bias must be finite, got {bias!r}")
    rng = random_generator(seed, maker)
    X = rng.uniform(-1.0, 1.0, size=(n, n_features))
    if weights is None:
        w = rng.standard_normal(n_features)
    else:
        w = np.asarray(weights.data if isinstance(weights, Tensor) else weights,
                       dtype=np.float64)
        if w.shape[:1] != (n_features,) or w.ndim > 2 or not np.isfinite(w).all():
            raise ValueError(f"{maker}: weights must be finite, of shape ({n_features},) or "
                             f"({n_features}, k) for n_features={n_features}, got shape "
                             f"{w.shape}")
    w = w.reshape(n_features, -1)
    y = X @ w + float(bias) + noise * rng.standard_normal((n, w.shape[1]))
    X, y = X.astype(np.float32), y.astype(np.float32)
    return (X, y, w, float(bias)) if return_params else (X, y)


def make_blobs(n: int = 300, centers: int | npt.ArrayLike = 3, n_features: int | None = None,
               std: float | npt.ArrayLike = 1.0,
               seed: SeedLike = None) -> tuple[np.ndarray, np.ndarray]:
    """Gaussian clusters: ``x = center[y] + std[y] * eps``, ``eps ~ Normal(0, I)``.

    Args:
        centers: the number of clusters, whose centers are drawn ``Uniform(-10, 10)`` in
            ``n_features`` dimensions (default 2), as scikit-learn does; or an array of shape
            ``(k, n_features)`` giving them.
        std: the standard deviation of every cluster, or one per cluster.

    The label of a sample is the index of its cluster; each cluster gets ``n // k`` or
    ``n // k + 1`` samples.

    >>> X, y = make_blobs(300, centers=[[-2, 0], [2, 0]], std=0.5, seed=0)
    """
    maker = "make_blobs"
    n = _count(n, "n", maker)
    rng = random_generator(seed, maker)
    if isinstance(centers, numbers.Integral) and not isinstance(centers, (bool, np.bool_)):
        k = _count(centers, "centers", maker)
        d = 2 if n_features is None else _count(n_features, "n_features", maker)
        points = rng.uniform(-10.0, 10.0, size=(k, d))
    else:
        points = np.asarray(centers, dtype=np.float64)
        if points.ndim != 2 or len(points) == 0 or not np.isfinite(points).all():
            raise ValueError(f"{maker}: centers must be a count or a finite array of shape "
                             f"(k, n_features), got shape {points.shape}")
        k, d = points.shape
        if n_features is not None and n_features != d:
            raise ValueError(f"{maker}: n_features={n_features} but the centers have {d} "
                             "columns")
    if n < k:
        raise ValueError(f"{maker}: n={n} is too small for {k} clusters (at least one sample "
                         "each)")
    try:
        spread = np.asarray(std, dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError(f"{maker}: std must be a number or one per cluster, got {std!r}") from None
    spread = np.full(k, float(spread)) if spread.ndim == 0 else spread
    if spread.shape != (k,) or not (np.isfinite(spread).all() and (spread >= 0).all()):
        raise ValueError(f"{maker}: std must be finite and >= 0, a number or one per cluster "
                         f"({k}), got {std!r}")
    y = np.repeat(np.arange(k), _balanced(n, k))
    X = points[y] + spread[y, None] * rng.standard_normal((n, d))
    return _finish(X, y, rng)


def make_moons(n: int = 200, noise: float = 0.1,
               seed: SeedLike = None) -> tuple[np.ndarray, np.ndarray]:
    """Two interleaving half circles of radius 1, as scikit-learn's ``make_moons``.

    Class 0 (``n // 2`` samples): ``(cos t, sin t)``, the upper half circle about (0, 0).
    Class 1 (the rest): ``(1 - cos t, 0.5 - sin t)``, the lower half circle about (1, 0.5).
    ``t`` is evenly spaced on ``[0, pi]``, then ``noise * Normal(0, I)`` is added. Not linearly
    separable; each point is nearest to its own arc while the noise is small.
    """
    maker = "make_moons"
    n = _count(n, "n", maker, minimum=2)
    noise = _scale(noise, "noise", maker)
    rng = random_generator(seed, maker)
    n_upper = n // 2
    t_upper = np.linspace(0.0, np.pi, n_upper)
    t_lower = np.linspace(0.0, np.pi, n - n_upper)
    X = np.concatenate([np.stack([np.cos(t_upper), np.sin(t_upper)], axis=1),
                        np.stack([1 - np.cos(t_lower), 0.5 - np.sin(t_lower)], axis=1)])
    y = np.repeat([0, 1], [n_upper, n - n_upper])
    X = X + noise * rng.standard_normal(X.shape)
    return _finish(X, y, rng)


def make_circles(n: int = 200, noise: float = 0.05, factor: float = 0.5,
                 seed: SeedLike = None) -> tuple[np.ndarray, np.ndarray]:
    """Two concentric circles, as scikit-learn's ``make_circles``.

    Class 0 (``n // 2`` samples): ``(cos t, sin t)``, radius 1. Class 1 (the rest):
    ``factor * (cos t, sin t)``, radius ``factor`` in (0, 1). ``t`` is evenly spaced on
    ``[0, 2 pi)``, then ``noise * Normal(0, I)`` is added. A circle, ``|x| = (1 + factor) / 2``,
    separates the classes while the noise is small.
    """
    maker = "make_circles"
    n = _count(n, "n", maker, minimum=2)
    noise = _scale(noise, "noise", maker)
    if not (isinstance(factor, numbers.Real) and 0 < factor < 1):
        raise ValueError(f"{maker}: factor (inner radius / outer radius) must be in (0, 1), "
                         f"got {factor!r}")
    rng = random_generator(seed, maker)
    n_outer = n // 2
    t_outer = np.linspace(0.0, 2 * np.pi, n_outer, endpoint=False)
    t_inner = np.linspace(0.0, 2 * np.pi, n - n_outer, endpoint=False)
    X = np.concatenate([np.stack([np.cos(t_outer), np.sin(t_outer)], axis=1),
                        factor * np.stack([np.cos(t_inner), np.sin(t_inner)], axis=1)])
    y = np.repeat([0, 1], [n_outer, n - n_outer])
    X = X + noise * rng.standard_normal(X.shape)
    return _finish(X, y, rng)


def make_spirals(n: int = 300, classes: int = 3, noise: float = 0.2,
                 seed: SeedLike = None) -> tuple[np.ndarray, np.ndarray]:
    """Interleaved spiral arms, one per class (the CS231n picture).

    Arm ``k`` of ``K = classes`` has ``m`` points (``n // K`` or one more) at radii
    ``r = 1/m, 2/m, ..., 1`` and angles ``theta = 2 pi k / K + 4 r + noise * Normal(0, 1)``:
    ``x = (r cos theta, r sin theta)``. The noise is on the angle, so it smears each arm
    sideways; each arm turns 4 radians from the centre to the rim.
    """
    maker = "make_spirals"
    classes = _count(classes, "classes", maker, minimum=2)
    n = _count(n, "n", maker, minimum=classes)
    noise = _scale(noise, "noise", maker)
    rng = random_generator(seed, maker)
    sizes = _balanced(n, classes)
    r = np.concatenate([np.arange(1, m + 1) / m for m in sizes])
    y = np.repeat(np.arange(classes), sizes)
    theta = 2 * np.pi * y / classes + 4 * r + noise * rng.standard_normal(n)
    X = np.stack([r * np.cos(theta), r * np.sin(theta)], axis=1)
    return _finish(X, y, rng)


def make_xor(n: int = 200, noise: float = 0.1,
             seed: SeedLike = None) -> tuple[np.ndarray, np.ndarray]:
    """Noisy XOR: clouds around the four corners of the unit square.

    A sample is a corner ``(a, b)`` of ``{0, 1}^2`` plus ``noise * Normal(0, I)``, labelled
    ``a XOR b`` (1 when exactly one coordinate is 1): the truth table, with a spread. The
    corners get ``n // 4`` or one more sample each, in the order (0, 0), (0, 1), (1, 1), (1, 0),
    so the two classes differ by at most one. Not linearly separable; the lines ``x = 0.5`` and
    ``y = 0.5`` split the classes while the noise is small.
    """
    maker = "make_xor"
    n = _count(n, "n", maker, minimum=4)
    noise = _scale(noise, "noise", maker)
    rng = random_generator(seed, maker)
    corners = np.array([[0, 0], [0, 1], [1, 1], [1, 0]], dtype=np.float64)
    corner = np.repeat(np.arange(4), _balanced(n, 4))
    X = corners[corner] + noise * rng.standard_normal((n, 2))
    y = np.logical_xor(corners[corner, 0], corners[corner, 1])
    return _finish(X, y, rng)
