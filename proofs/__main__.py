"""``python -m proofs``: run every derivation script and print a summary table.

See :mod:`proofs.run_all` for the options (``--only``, ``--quiet``, ``--defect``, ``--jobs``,
``--list``) and for the Python API ``run_all(names=None) -> list[dict]``.
"""

from __future__ import annotations

try:
    from proofs.run_all import main, run_all
except ImportError:  # run as ``python proofs/__main__.py``
    from run_all import main, run_all

__all__ = ["main", "run_all"]

if __name__ == "__main__":
    raise SystemExit(main())
