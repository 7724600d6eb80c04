"""Layer-wise parameter arrays and the flat parameter vector θ.

**Parameter order** (used by every gradient, Hessian and flat vector in linpc): the weight
matrices ``W_1, …, W_L``, each flattened row-major (numpy ``ravel``), then the biases ``b_l`` of
the layers that have one, in increasing ``l``. Under row-major flattening the Hessian of
``½ tr(A W C Wᵀ)`` with respect to ``W`` is ``A ⊗ C`` (docs/theory.md §0).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from linpc.core.network import LinearPCN, check_network
from linpc.numerics.threads import thread_policy
from linpc.numerics.types import Array
from linpc.numerics.validation import as_real_array

__all__ = ["ParameterArrays", "flatten_parameters", "with_flat_parameters"]


@thread_policy
@dataclass(frozen=True)
class ParameterArrays:
    """Arrays shaped like a network's parameters (a gradient, a direction, a step).

    Attributes
    ----------
    weights : tuple of ndarray
        One array per layer, shape ``(n_l, n_{l-1})``.
    biases : tuple of (ndarray or None)
        One entry per layer, shape ``(n_l,)``, ``None`` where the layer has no bias.
    """

    weights: tuple[Array, ...]
    biases: tuple[Array | None, ...]

    def flat(self) -> Array:
        """Concatenate into one vector in linpc's parameter order (module docstring)."""
        parts = [W.ravel() for W in self.weights] + [b for b in self.biases if b is not None]
        return np.concatenate(parts)

    def norm(self) -> float:
        """Euclidean norm of the flat vector."""
        return float(np.linalg.norm(self.flat()))

    def __iter__(self):
        return iter(self.weights)

    def __len__(self) -> int:
        return len(self.weights)

    def __getitem__(self, i: int) -> Array:
        return self.weights[i]

    @classmethod
    def from_flat(cls, net: LinearPCN, vec: ArrayLike) -> ParameterArrays:
        """Split a flat vector (parameter order of ``net``) into layer-wise arrays."""
        check_network(net)
        v = as_real_array(vec, "vec")
        if v.shape != (net.n_parameters,):
            raise ValueError(
                f"flat parameter vector must have shape ({net.n_parameters},), got {v.shape}"
            )
        out_w, pos = [], 0
        for W in net.weights:
            out_w.append(v[pos:pos + W.size].reshape(W.shape))
            pos += W.size
        out_b: list[Array | None] = []
        for b in net.biases:
            if b is None:
                out_b.append(None)
            else:
                out_b.append(v[pos:pos + b.size])
                pos += b.size
        return cls(tuple(out_w), tuple(out_b))

    @classmethod
    def zeros_like(cls, net: LinearPCN) -> ParameterArrays:
        """All-zero arrays with the shapes of ``net``'s parameters."""
        return cls(tuple(np.zeros_like(W) for W in net.weights),
                   tuple(None if b is None else np.zeros_like(b) for b in net.biases))


@thread_policy
def flatten_parameters(net: LinearPCN) -> Array:
    """The flat parameter vector θ of ``net`` (weights row-major, then present biases)."""
    check_network(net)
    return ParameterArrays(net.weights, net.biases).flat()


@thread_policy
def with_flat_parameters(net: LinearPCN, theta: ArrayLike) -> LinearPCN:
    """A copy of ``net`` whose parameters are the flat vector ``theta`` (same multipliers)."""
    check_network(net)
    p = ParameterArrays.from_flat(net, as_real_array(theta, "theta"))
    return net.replace(weights=p.weights, biases=p.biases if net.has_biases else None)
