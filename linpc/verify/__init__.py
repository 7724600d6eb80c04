"""``linpc verify``: every identity of the theory checked by independent routes on random networks.

Each row compares computations that share no code path for the compared quantity — block
Cholesky against LAPACK's banded Cholesky, Gaussian conditioning and a dense SVD least-squares
reference; closed forms against iterative inference, ``scipy.differentiate`` finite differences,
Monte Carlo sampling, sympy-independent scalar formulas — with a named tolerance from
:mod:`linpc.numerics.tolerances`. Rows by theory area (docs/theory.md §9 maps each to the
statement it checks):

* :mod:`~linpc.verify.core_checks` — 2.5.x, the equilibrium identities (§1–§2);
* :mod:`~linpc.verify.landscape_checks` — 3.x, Hessians, saddles, flatness, escape (§3, §5);
* :mod:`~linpc.verify.trust_region_checks` — 2.5.7, 2.5.16, 2.5.17, 4.x, 5.x (§4, §5);
* :mod:`~linpc.verify.mupc_checks` — 6.x, parameterisations and conditioning (§1.4, §6).

The framework (:mod:`~linpc.verify.framework`), the random cases
(:mod:`~linpc.verify.random_networks`) and the dense references (:mod:`~linpc.verify.reference`)
are public so that other code can be checked the same way.
"""

# importing the row modules registers their identities in IDENTITIES
from linpc.verify import (  # noqa: F401
    core_checks,
    landscape_checks,
    mupc_checks,
    trust_region_checks,
)
from linpc.verify.framework import (
    IDENTITIES,
    CaseContext,
    Comparison,
    Identity,
    Row,
    battery,
    format_report,
    identity,
    run_verify,
)
from linpc.verify.random_networks import Case, NetworkSpec, build_case, draw_spec

__all__ = [
    "IDENTITIES", "Case", "CaseContext", "Comparison", "Identity", "NetworkSpec", "Row", "battery",
    "build_case", "draw_spec", "format_report", "identity", "run_verify",
]
