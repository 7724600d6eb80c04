"""One figure style and one save function for every linpc figure.

Requires the ``figures`` extra (matplotlib). ``use_style()`` applies ``linpc.mplstyle`` (Okabe–Ito
colour-blind-safe cycle, TrueType fonts in PDFs, no LaTeX); ``save_figure`` writes PDF (vector)
and PNG (300 dpi) with fixed metadata so that reruns produce identical PDFs.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

__all__ = ["COLORS", "STYLE", "new_figure", "save_figure", "use_style"]

#: Path of the matplotlib style file shared by every figure (``linpc.mplstyle``).
STYLE = str(Path(__file__).with_name("linpc.mplstyle"))
#: Colours of the style's cycle, by role, so that BP and PC look the same in every figure.
COLORS = {"bp": "#0072B2", "pc": "#D55E00", "theory": "#000000", "pc_exact": "#009E73",
          "other": "#CC79A7", "extra": "#E69F00"}
def use_style() -> None:
    """Select the non-interactive Agg backend and apply linpc's style."""
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    plt.style.use(STYLE)


def new_figure(nrows: int = 1, ncols: int = 1, *, width: float = 6.0, height: float | None = None,
               **kwargs):
    """``plt.subplots`` in linpc's style with a width in inches (thesis text width ≈ 6 in)."""
    use_style()
    import matplotlib.pyplot as plt

    if height is None:
        height = 2.4 * nrows + 0.4
    return plt.subplots(nrows, ncols, figsize=(width, height), squeeze=False, **kwargs)


def save_figure(fig, stem: str | Path, formats: Sequence[str] = ("pdf", "png")) -> list[Path]:
    """Save ``fig`` as ``stem.pdf`` and ``stem.png`` (by default); return the paths written.

    PDF metadata (creation date, producer) is fixed, so reruns write identical files; each file is
    written to a temporary name and moved into place, so an interrupted run leaves no truncated
    figure.
    """
    import logging
    import os

    import matplotlib.pyplot as plt

    # fontTools (PDF font subsetting) warns about the fixed (zero) timestamps: harmless noise
    logging.getLogger("fontTools").setLevel(logging.ERROR)

    stem = Path(stem)
    stem.parent.mkdir(parents=True, exist_ok=True)
    paths = []
    for fmt in formats:
        path = stem.with_suffix(f".{fmt}")
        tmp = path.with_name(f".{path.name}.tmp")
        meta = {"CreationDate": None, "ModDate": None, "Producer": None} if fmt == "pdf" else None
        if fmt == "png":
            meta = {"Software": None}
        fig.savefig(tmp, format=fmt, metadata=meta)
        os.replace(tmp, path)
        paths.append(path)
    plt.close(fig)
    return paths
