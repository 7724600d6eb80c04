"""Sympy derivations of the deep-linear PCN theorems of linpc (one script per theorem).

Run them all with ``python -m proofs`` from the repository root; see ``proofs/README.md``.
"""
