"""Hypothesis strategies: draw the *structure* of a case, build arrays from a drawn seed.

Arrays are never drawn element by element (mostly-constant arrays are singular and shrink badly);
instead a :class:`linpc.random_networks.NetworkSpec` is drawn and built with
``np.random.default_rng(spec.seed)``, so every failing example is reproducible from the printed
spec.
"""

from __future__ import annotations

from hypothesis import strategies as st

from linpc.random_networks import NetworkSpec, build_case


@st.composite
def specs(
    draw,
    *,
    max_hidden: int = 4,
    max_width: int = 5,
    max_batch: int = 6,
    param_types=("sp", "ntp", "mupc"),
    skips: bool | None = None,
    biases: bool | None = None,
    precision_modes=("unit", "output", "layers"),
    gamma: bool | None = None,
) -> NetworkSpec:
    """A random network spec; keyword arguments restrict the configurations drawn."""
    H = draw(st.integers(1, max_hidden))
    use_skips = draw(st.booleans()) if skips is None else skips
    use_skips = bool(use_skips and H >= 2)
    d_x = draw(st.integers(1, max_width))
    d_y = draw(st.integers(1, max_width))
    if use_skips:
        hidden = [draw(st.integers(1, max_width))] * H
    else:
        hidden = draw(st.lists(st.integers(1, max_width), min_size=H, max_size=H))
    return NetworkSpec(
        widths=(d_x, *hidden, d_y),
        param_type=draw(st.sampled_from(param_types)),
        use_skips=use_skips,
        biases=draw(st.booleans()) if biases is None else biases,
        precision_mode=draw(st.sampled_from(precision_modes)),
        output_precision=draw(st.floats(0.2, 5.0)),
        gamma=(draw(st.one_of(st.none(), st.floats(0.5, 2.0))) if gamma is None
               else (1.5 if gamma else None)),
        weight_scale=draw(st.floats(0.5, 1.5)),
        batch=draw(st.integers(1, max_batch)),
        seed=draw(st.integers(0, 2**32 - 1)),
    )


def cases(**kwargs):
    """Strategy of built :class:`linpc.random_networks.Case` objects."""
    return specs(**kwargs).map(build_case)
