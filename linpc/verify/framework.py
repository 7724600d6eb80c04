"""The framework of ``linpc verify``: registered identities, a battery of cases, a report.

An identity is a function ``check(ctx) -> list[Comparison]`` registered with :func:`identity`
under a key (``"2.5.1"``, ``"3.4"``, …) with a title, a tolerance rule
(:data:`linpc.numerics.tolerances.RULES`) and its source (paper and docs/theory.md section). A
row passes when every :class:`Comparison` of every applicable case has ``error ≤ tolerance``.
:func:`run_verify` runs every row on the random networks of :func:`battery` (built from
:class:`~linpc.verify.random_networks.NetworkSpec`), sharing the expensive quantities of a case
through :class:`CaseContext`. The rows themselves are in :mod:`linpc.verify.core_checks`,
:mod:`linpc.verify.landscape_checks`, :mod:`linpc.verify.trust_region_checks` and
:mod:`linpc.verify.mupc_checks`.
"""

from __future__ import annotations

import inspect
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from linpc.core.activity_hessian import ActivityHessian
from linpc.core.equilibrium import solve_equilibrium
from linpc.core.network import LinearPCN
from linpc.numerics.progress import progress_bar
from linpc.numerics.tolerances import EPS, RULES, SAFETY, solve_tolerance
from linpc.numerics.types import Array
from linpc.numerics.warnings import IllConditionedWarning, spd_condition_number
from linpc.verify import reference as ref
from linpc.verify.random_networks import Case, NetworkSpec, build_case, draw_spec

__all__ = [
    "IDENTITIES", "CaseContext", "Comparison", "Identity", "Row", "battery", "format_report",
    "identity", "rel_err", "run_verify",
]


@dataclass(frozen=True)
class Comparison:
    """One checked number: ``error ≤ tolerance`` passes."""

    error: float
    tolerance: float

    @property
    def ratio(self) -> float:
        if self.tolerance == 0:
            return 0.0 if self.error == 0 else np.inf
        return self.error / self.tolerance

    @property
    def ok(self) -> bool:
        return bool(np.isfinite(self.error) and self.error <= self.tolerance)


@dataclass(frozen=True)
class Identity:
    """A registered identity (one row of the report)."""

    key: str
    title: str
    rule: str
    source: str
    check: Callable[[CaseContext], list[Comparison]]
    applies: Callable[[NetworkSpec], bool]
    budget: str  # "all", "small" or "one"


#: The rows of ``linpc verify`` by id (``"2.5.1"``), filled by :func:`identity` as the row modules
#: are imported.
IDENTITIES: dict[str, Identity] = {}


def identity(key: str, title: str | None = None, *, rule: str, source: str,
             applies: Callable[[NetworkSpec], bool] | None = None, budget: str = "all"):
    """Register a check ``f(ctx) -> list[Comparison]`` as a row of ``linpc verify``.

    Parameters
    ----------
    key : str
        The row's id (``"2.5.1"``, ``"3.4"``, …); ``linpc verify --only KEY`` selects it.
    title : str, optional
        What the row checks; by default the first paragraph of the check's docstring.
    rule : str
        The tolerance rule, a key of :data:`linpc.numerics.tolerances.RULES` or a description.
    source : str
        The paper and the ``docs/theory.md`` section of the statement.
    applies : callable, optional
        ``applies(spec) -> bool`` selects the battery's cases the row runs on (default: all).
    budget : {"all", "small", "one"}
        Limits expensive checks: ``"all"`` runs on every case, ``"small"`` on cases with at most
        200 activities, ``"one"`` on the first applicable case only (plus its own sub-battery).
    """
    def deco(f):
        text = title if title is not None else (inspect.getdoc(f) or "").split("\n\n")[0]
        if not text.strip():
            raise ValueError(f"identity {key}: give a title or a docstring to the check")
        IDENTITIES[key] = Identity(key, " ".join(text.split()), rule, source, f,
                                   applies or (lambda s: True), budget)
        return f
    return deco


def rel_err(a, b) -> float:
    """``‖a − b‖ / max(‖a‖, ‖b‖)`` (0 when both vanish)."""
    a, b = np.asarray(a, float), np.asarray(b, float)
    den = max(np.linalg.norm(a), np.linalg.norm(b))
    return 0.0 if den == 0 else float(np.linalg.norm(a - b) / den)


class CaseContext:
    """A case with lazily computed shared quantities (κ, the routes' results, references)."""

    def __init__(self, case: Case) -> None:
        self.case = case
        self.spec = case.spec
        self.net: LinearPCN = case.net
        self.x = case.x
        self.y = case.y

    @property
    def n(self) -> int:
        return self.net.n_activities

    @cached_property
    def hessian(self) -> ActivityHessian:
        return ActivityHessian(self.net)

    @cached_property
    def eig(self):
        return self.hessian.extreme_eigenvalues()

    @cached_property
    def S(self) -> Array:
        return ref.dense_rescaling(self.net)

    @cached_property
    def kappa(self) -> float:
        """``max(κ(H_z), κ(S))``: the condition number used to scale solve tolerances."""
        w = np.linalg.eigvalsh(self.S)
        kappa_S, _ = spd_condition_number(w[0], w[-1], len(w), "the rescaling S", warn=False)
        return float(max(self.eig.condition_number, kappa_S))

    @cached_property
    def size(self) -> int:
        return max(self.n, self.net.d_y, max(self.net.widths))

    def solve_tol(self) -> float:
        return solve_tolerance(self.kappa, self.size)

    @cached_property
    def eq_chol(self):
        return solve_equilibrium(self.net, self.x, self.y, method="cholesky",
                                 hessian=self.hessian, warn_if_error_above=None)

    @cached_property
    def eq_gauss(self):
        return solve_equilibrium(self.net, self.x, self.y, method="gaussian",
                                 warn_if_error_above=None)

    @cached_property
    def dense(self) -> tuple[Array, Array]:
        return ref.dense_equilibrium(self.net, self.x, self.y)

    # ---- a-priori magnitudes for absolute (normwise) error bounds ----------------------------
    @cached_property
    def layer_norms(self) -> Array:
        """``‖M_l‖_F`` (an upper bound of ``‖M_l‖₂``), ``l = 1..L``."""
        Ms, _ = ref.dense_layer_maps(self.net)
        return np.array([np.linalg.norm(M) for M in Ms])

    @cached_property
    def forward_growth(self) -> float:
        """``max_l Π_{k≤l} ‖M_k‖ (‖x‖ + Σ‖c‖)``: scale of round-off in the forward pass."""
        _, cs = ref.dense_layer_maps(self.net)
        prod = np.cumprod(self.layer_norms)
        return float(prod.max() * (np.linalg.norm(self.x) + sum(np.linalg.norm(c) for c in cs)
                                   * np.sqrt(self.x.shape[0])) + np.linalg.norm(self.y))

    @cached_property
    def activity_norm(self) -> float:
        """``‖(x, z*, y)‖_F`` over the batch (Cholesky solution)."""
        zs = [self.x, *self.eq_chol.activities, self.y]
        return float(np.sqrt(sum(np.sum(z * z) for z in zs)))

    def z_abs_tol(self) -> float:
        """Normwise absolute bound on the error of a computed ``z*`` (whole batch)."""
        return self.solve_tol() * max(self.activity_norm, self.forward_growth)

    def error_abs_tol(self, l: int) -> float:
        """Absolute bound on the error of ``e_l = z_l − M_l z_{l-1} − c_l`` computed from ``z*``."""
        return self.z_abs_tol() * (1.0 + self.layer_norms[l - 1])

    def energy_abs_tol(self) -> Array:
        """Per-sample absolute bound for ``F(z*)`` vs ``½ rᵀS⁻¹r``.

        Rounding in ``e_l`` (``n eps (|z_l| + ‖M_l‖|z_{l-1}|)``) times ``π_l ‖e_l‖``; ``z*``'s own
        error
        enters only at second order (``∇F(z*) = 0``); the formula side carries ``κ(S)`` and the
        forward pass's round-off times ``‖S⁻¹r‖``.
        """
        net = self.net
        zs = [self.x, *self.eq_chol.activities, self.y]
        t = np.zeros(self.x.shape[0])
        for l in range(1, net.n_layers + 1):
            e = self.eq_chol.errors[l - 1]
            mag = (np.linalg.norm(zs[l], axis=1) + self.layer_norms[l - 1]
                   * np.linalg.norm(zs[l - 1], axis=1) + np.linalg.norm(net.layer_bias(l)))
            t += net.precisions[l - 1] * np.linalg.norm(e, axis=1) * mag
        delta = self.eq_chol.rescaled_residual
        t += np.linalg.norm(delta, axis=1) * self.forward_growth
        F = self.eq_chol.energies
        return SAFETY * self.size * EPS * (t + self.kappa * F)


# ---------------------------------------------------------------------------------------------
# identities of docs/theory.md §2.5 covered by the core (items 1–6 and 8–15)
# ---------------------------------------------------------------------------------------------
SMALL = 200


# ---------------------------------------------------------------------------------------------
# battery and runner
# ---------------------------------------------------------------------------------------------
def battery(*, quick: bool, seed: int = 0, n_random: int | None = None) -> list[NetworkSpec]:
    """The random networks of a run: fixed anchors covering the extremes, plus random draws.

    Covers 1 to 64 hidden layers, unequal widths, every parameterisation, skips, λ ≠ 1, per-layer
    precisions, biases and batch sizes 1 to 256. ``n_random`` random draws follow the eight anchors
    (default 4 quick, 120 full).
    """
    anchors = [
        NetworkSpec((3, 5, 2), "sp", batch=1, seed=seed + 1),
        NetworkSpec((4, 6, 3, 5, 2), "ntp", biases=True, precision_mode="output",
                    output_precision=3.0, batch=256, seed=seed + 2),
        NetworkSpec((5,) + (4,) * 8 + (3,), "mupc", use_skips=True, gamma=1.5, batch=32,
                    seed=seed + 3),
        NetworkSpec((3,) + (4,) * 64 + (2,), "sp", weight_scale=0.9, batch=8, seed=seed + 4),
        NetworkSpec((3,) + (4,) * 64 + (2,), "mupc", use_skips=True, biases=True, batch=16,
                    seed=seed + 5),
        NetworkSpec((6, 8, 3, 7, 1, 5, 4), "sp", biases=True, precision_mode="layers", batch=5,
                    seed=seed + 6),
        NetworkSpec((1, 1, 1, 1, 1), "sp", precision_mode="output", output_precision=0.5,
                    batch=9, seed=seed + 7),
        NetworkSpec((2,) + (3,) * 16 + (2,), "ntp", use_skips=True, precision_mode="layers",
                    batch=3, seed=seed + 8),
    ]
    rng = np.random.default_rng(seed)
    if n_random is None:
        n_random = 4 if quick else 120
    specs = list(anchors)
    for i in range(n_random):
        big = (not quick) and i % 10 == 0
        specs.append(draw_spec(rng, max_hidden=32 if big else 8, max_width=16 if big else 8,
                               max_batch=64))
    return specs


@dataclass
class Row:
    """Aggregated results of one identity over the battery."""

    identity: Identity
    comparisons: list[Comparison] = field(default_factory=list)
    cases: int = 0
    worst_case: str = ""
    seconds: float = 0.0
    errors: list[str] = field(default_factory=list)

    @property
    def worst(self) -> Comparison | None:
        if not self.comparisons:
            return None
        return max(self.comparisons, key=lambda c: c.ratio)

    @property
    def ok(self) -> bool:
        return (self.cases > 0 and not self.errors
                and all(c.ok for c in self.comparisons))


def run_verify(*, quick: bool = False, seed: int = 0, progress: bool = True,
               only: Iterable[str] | None = None, n_random: int | None = None) -> list[Row]:
    """Run every registered identity on the battery; return one :class:`Row` per identity."""
    import warnings


    keys = [k for k in IDENTITIES if only is None or k in set(only)]
    rows = {k: Row(IDENTITIES[k]) for k in keys}
    specs = battery(quick=quick, seed=seed, n_random=n_random)
    with progress_bar(total=len(specs), desc="verify", enabled=progress) as bar:
        for spec in specs:
            ctx = CaseContext(build_case(spec))
            for k in keys:
                row = rows[k]
                ident = row.identity
                if not ident.applies(spec):
                    continue
                if ident.budget == "one" and row.cases > 0:
                    continue
                t0 = time.perf_counter()
                try:
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore", IllConditionedWarning)
                        comps = ident.check(ctx)
                except Exception as exc:  # report, do not crash the whole run
                    row.errors.append(f"{spec.describe()}: {type(exc).__name__}: {exc}")
                    comps = []
                row.seconds += time.perf_counter() - t0
                row.cases += 1
                if comps:
                    w = max(comps, key=lambda c: c.ratio)
                    if row.worst is None or w.ratio >= row.worst.ratio:
                        row.worst_case = spec.describe()
                    row.comparisons.extend(comps)
            bar.update(1)
    return list(rows.values())


def format_report(rows: list[Row], *, verbose: bool = False) -> str:
    """Plain-text table: identity, cases, worst error, its tolerance, ratio, status."""
    lines = []
    head = f"{'id':<8} {'status':<6} {'cases':>5} {'checks':>6} {'worst err':>10} " \
           f"{'tolerance':>10} {'err/tol':>8}  identity"
    lines.append(head)
    lines.append("-" * len(head))
    for row in rows:
        w = row.worst
        status = "PASS" if row.ok else ("SKIP" if row.cases == 0 and not row.errors else "FAIL")
        we = f"{w.error:10.2e}" if w else f"{'-':>10}"
        wt = f"{w.tolerance:10.2e}" if w else f"{'-':>10}"
        wr = f"{w.ratio:8.2g}" if w else f"{'-':>8}"
        lines.append(f"{row.identity.key:<8} {status:<6} {row.cases:>5} "
                     f"{len(row.comparisons):>6} {we} {wt} {wr}  {row.identity.title}")
        if verbose or not row.ok:
            lines.append(f"{'':<16}rule: {RULES.get(row.identity.rule, row.identity.rule)}; "
                         f"source: {row.identity.source}")
            if w is not None and (verbose or not row.ok):
                lines.append(f"{'':<16}worst case: {row.worst_case}")
            for e in row.errors[:3]:
                lines.append(f"{'':<16}error: {e}")
    n_fail = sum(not r.ok for r in rows)
    lines.append("")
    lines.append(f"{len(rows) - n_fail} of {len(rows)} identities pass"
                 + ("" if n_fail == 0 else f"; {n_fail} FAIL"))
    lines.append("tolerance rules: " + "; ".join(f"{k}: {v}" for k, v in RULES.items()))
    return "\n".join(lines)
