"""Synthetic data sets of the papers' linear-network experiments (no downloads).

Every generator takes ``rng`` (a ``numpy.random.Generator``, an int seed or ``None``; SciPy
SPEC 7) and returns float64 arrays in linpc's batch-first layout: ``x`` of shape ``(B, d_x)``,
``y`` of shape ``(B, d_y)``.

* :func:`toy_gaussian` — the toy Gaussian of Innocenti et al. (NeurIPS 2024, arXiv:2408.11979,
  P1), Figs. 2, 3, 7–9: ``x ~ N(1, 0.1²)`` per coordinate and ``y = −x`` (P1 notebooks) or
  ``y = +x`` (the μPC toy notebook, P3); docs/theory.md §7 and §8.7.
  :func:`toy_gaussian_sampler` draws a fresh batch per training step, as the papers' SGD runs do.
* :func:`one_hot_classes` — a synthetic stand-in with the shapes of MNIST (``d_x = 784``) and
  MNIST-1D (``d_x = 40``), ``n_c`` classes with one-hot targets (P1 Figs. 4 and 10). For one-hot
  targets ``Σ_yy = diag(B_c / B)`` with ``B_c`` the class counts, which is all the origin-Hessian
  theorems need (docs/theory.md §3.2).
* :func:`linear_teacher` — ``y = T x + noise`` with a (possibly low-rank) teacher ``T``.
* :func:`matrix_completion` — the rank-3 matrix-completion task of P1 Fig. 6 (docs/theory.md §7).

The uncentred second moments that the theorems use are in :mod:`linpc.data.moments`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from linpc.numerics.threads import thread_policy
from linpc.numerics.types import Array
from linpc.numerics.validation import (
    as_real_array,
    check_bool,
    check_nonnegative,
    check_positive_int,
    check_real,
    check_rng,
)

__all__ = [
    "MNIST1D_SHAPE", "MNIST_SHAPE", "MatrixCompletionTask", "linear_teacher", "matrix_completion",
    "one_hot_classes", "toy_gaussian", "toy_gaussian_sampler",
]
RNG = np.random.Generator | int | None

#: ``(d_x, n_classes)`` of MNIST / Fashion-MNIST (28×28 images, 10 classes).
MNIST_SHAPE = (784, 10)
#: ``(d_x, n_classes)`` of MNIST-1D (Greydanus 2020: 40-dimensional signals, 10 classes).
MNIST1D_SHAPE = (40, 10)


def _positive_int(value: int, name: str) -> int:
    return check_positive_int(value, name)


def _toy_parameters(sign: float, mean: float, std: float) -> tuple[float, float, float]:
    return (check_real(sign, "sign"), check_real(mean, "mean"), check_nonnegative(std, "std"))


@thread_policy
def toy_gaussian(
    batch: int,
    dim: int = 1,
    *,
    sign: float = -1.0,
    mean: float = 1.0,
    std: float = 0.1,
    rng: RNG = None,
) -> tuple[Array, Array]:
    """The toy Gaussian of P1: ``x ~ N(mean, std²)`` per coordinate, ``y = sign · x``.

    Parameters
    ----------
    batch : int
        Number of samples ``B``.
    dim : int
        ``d_x = d_y``.
    sign : float
        ``−1`` for P1's ``y = −x`` (Figs. 2, 3, 7–9), ``+1`` for the μPC toy notebook (P3).
    mean, std : float
        Mean and standard deviation of each input coordinate (P1: 1 and 0.1).
    rng : Generator, int or None

    Returns
    -------
    x, y : ndarray, shape (batch, dim)
        Since ``y = sign·x``, ``Σ_yy = Σ_xx`` and ``Σ_yx = sign·Σ_xx``: the origin Hessian of ``F*``
        has eigenvalues ``σ_k(Σ_xx)(−1 ± √5)/2`` for one hidden layer (docs/theory.md §3.2).
    """
    B = _positive_int(batch, "batch")
    d = _positive_int(dim, "dim")
    sign, mean, std = _toy_parameters(sign, mean, std)
    gen = check_rng(rng)
    x = mean + std * gen.standard_normal((B, d))
    return x, sign * x


@thread_policy
def toy_gaussian_sampler(
    batch: int, dim: int = 1, *, sign: float = -1.0, mean: float = 1.0, std: float = 0.1
) -> Callable[[np.random.Generator], tuple[Array, Array]]:
    """A fresh-batch sampler ``sampler(rng) -> (x, y)`` of :func:`toy_gaussian` (one per SGD step).

    P1's toy runs draw a new batch of ``B = 64`` samples at every training step (docs/theory.md §7,
    Fig. 2). The sampler draws from the generator it is given, so a run is reproducible from the
    seed of that generator.
    """
    B = _positive_int(batch, "batch")
    d = _positive_int(dim, "dim")
    sign, mean, std = _toy_parameters(sign, mean, std)

    def sampler(rng: np.random.Generator) -> tuple[Array, Array]:
        return toy_gaussian(B, d, sign=sign, mean=mean, std=std, rng=rng)

    return sampler


@thread_policy
def one_hot_classes(
    batch: int,
    n_classes: int = 10,
    d_x: int = MNIST1D_SHAPE[0],
    *,
    separation: float = 1.0,
    noise: float = 1.0,
    balanced: bool = False,
    rng: RNG = None,
) -> tuple[Array, Array, NDArray[np.int64]]:
    """Synthetic classification data with one-hot targets (stand-in for MNIST / MNIST-1D).

    Each class ``c`` has a random mean ``μ_c ~ N(0, separation² I)``; ``x = μ_c + noise · N(0, I)``,
    ``y = e_c`` (one-hot). Use ``d_x = 784`` for MNIST's shape and ``d_x = 40`` for MNIST-1D's
    (:data:`MNIST_SHAPE`, :data:`MNIST1D_SHAPE`).

    Parameters
    ----------
    batch : int
        ``B``.
    n_classes : int
        ``n_c``, the output dimension.
    d_x : int
        Input dimension.
    separation, noise : float
        Scale of the class means and of the within-class noise.
    balanced : bool
        Equal class counts (``B`` must then be a multiple of ``n_classes``); otherwise labels are
        uniform at random.
    rng : Generator, int or None

    Returns
    -------
    x : ndarray, shape (B, d_x)
    y : ndarray, shape (B, n_classes)
        One-hot rows, so ``Σ_yy = diag(B_c/B)`` (docs/theory.md §3.2: the origin Hessian of ``F*``
        then has eigenvalues ``−λ²a_L² B_c/B`` for H ≥ 2).
    labels : ndarray of int, shape (B,)
    """
    B = _positive_int(batch, "batch")
    C = _positive_int(n_classes, "n_classes")
    d = _positive_int(d_x, "d_x")
    separation = check_nonnegative(separation, "separation")
    noise = check_nonnegative(noise, "noise")
    gen = check_rng(rng)
    if check_bool(balanced, "balanced"):
        if B % C:
            raise ValueError(f"balanced=True needs batch ({B}) to be a multiple of n_classes ({C})")
        labels = gen.permutation(np.repeat(np.arange(C), B // C))
    else:
        labels = gen.integers(0, C, size=B)
    means = separation * gen.standard_normal((C, d))
    x = means[labels] + noise * gen.standard_normal((B, d))
    y = np.zeros((B, C))
    y[np.arange(B), labels] = 1.0
    return x, y, labels.astype(np.int64)


@thread_policy
def linear_teacher(
    batch: int,
    d_x: int,
    d_y: int,
    *,
    rank: int | None = None,
    noise: float = 0.0,
    rng: RNG = None,
) -> tuple[Array, Array, Array]:
    """Data from a linear teacher: ``x ~ N(0, I)``, ``y = T x + noise · N(0, I)``.

    Parameters
    ----------
    batch, d_x, d_y : int
    rank : int, optional
        Rank of ``T = U Vᵀ`` with Gaussian ``U ∈ R^{d_y×r}``, ``V ∈ R^{d_x×r}`` scaled by
        ``1/√(d_x r)``; default full rank (``T ~ N(0, 1/d_x)``).
    noise : float
        Standard deviation of the label noise (``0`` = realisable).
    rng : Generator, int or None

    Returns
    -------
    x : ndarray, shape (B, d_x)
    y : ndarray, shape (B, d_y)
    teacher : ndarray, shape (d_y, d_x)
    """
    B = _positive_int(batch, "batch")
    dx = _positive_int(d_x, "d_x")
    dy = _positive_int(d_y, "d_y")
    noise = check_nonnegative(noise, "noise")
    gen = check_rng(rng)
    if rank is None:
        T = gen.standard_normal((dy, dx)) / np.sqrt(dx)
    else:
        r = _positive_int(rank, "rank")
        if r > min(dx, dy):
            raise ValueError(f"rank {r} exceeds min(d_x, d_y) = {min(dx, dy)}")
        T = gen.standard_normal((dy, r)) @ gen.standard_normal((r, dx)) / np.sqrt(dx * r)
    x = gen.standard_normal((B, dx))
    y = x @ T.T + noise * gen.standard_normal((B, dy))
    return x, y, T


@thread_policy
@dataclass(frozen=True)
class MatrixCompletionTask:
    """The linear matrix-completion task of P1 Fig. 6 (docs/theory.md §7).

    Attributes
    ----------
    target : ndarray, shape (n, n)
        The rank-``r`` matrix ``A B`` (``A ∈ R^{n×r}``, ``B ∈ R^{r×n}`` standard Gaussian).
    mask : ndarray, shape (n, n)
        1.0 where an entry is observed (``rand > 0.2`` in the notebook), else 0.0.
    inputs : ndarray, shape (n, n)
        The masked matrix ``mask ⊙ target``; its rows are the ``n`` samples of ``n`` features.
    factors : tuple of ndarray
        ``(A, B)``.

    Notes
    -----
    The network maps each row of ``inputs`` to the corresponding row of ``target``. In the
    authors' notebook BP's loss is the *masked* MSE, ``nn.MSELoss()(mask ⊙ ŷ, mask ⊙ target)``,
    while PC clamps the output to the *unmasked* target (docs/theory.md §8.5): the two methods
    then optimise different objectives. :mod:`linpc.dynamics.training` reproduces that setting and
    offers a matched one.
    """

    target: Array
    mask: Array
    inputs: Array
    factors: tuple[Array, Array]

    @property
    def n(self) -> int:
        return self.target.shape[0]

    def masked_mse(self, prediction: Array) -> float:
        """The notebook's tracked loss: ``mean((mask ⊙ (ŷ − target))²)`` over all ``n²`` entries.

        This is PyTorch's ``nn.MSELoss()`` of the masked output and target: a mean over samples
        *and* outputs, without the ½ of linpc's ``ℒ``.
        """
        p = as_real_array(prediction, "prediction")
        if p.shape != self.target.shape:
            raise ValueError(f"prediction must have the shape of the target, {self.target.shape}, "
                             f"got {p.shape}")
        d = self.mask * (p - self.target)
        return float(np.mean(d * d))


@thread_policy
def matrix_completion(
    n: int = 10, rank: int = 3, *, observed_threshold: float = 0.2, rng: RNG = None
) -> MatrixCompletionTask:
    """Draw the matrix-completion task of P1 Fig. 6: rank-3 ``10×10`` target, ~80 % observed.

    ``A ∈ R^{n×rank}`` and ``B ∈ R^{rank×n}`` are standard Gaussian, ``target = A B``; the mask is
    ``U(0, 1) > observed_threshold`` entrywise (0.2 in the notebook), and the inputs are the
    masked target (docs/theory.md §7, Fig. 6).
    """
    nn = _positive_int(n, "n")
    r = _positive_int(rank, "rank")
    if not 0 <= check_real(observed_threshold, "observed_threshold") < 1:
        raise ValueError(f"observed_threshold must be in [0, 1), got {observed_threshold}")
    gen = check_rng(rng)
    A = gen.standard_normal((nn, r))
    Bm = gen.standard_normal((r, nn))
    target = A @ Bm
    mask = (gen.random((nn, nn)) > observed_threshold).astype(np.float64)
    return MatrixCompletionTask(target, mask, mask * target, (A, Bm))
