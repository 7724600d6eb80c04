"""The test-suite bites: every deliberate defect of scripts/check_defects.py must be caught.

Each defect (flip the sign of an off-diagonal block of H_z, drop γ, transpose a weight, drop the ½,
drop λ⁻¹I from S, the wrong μPC output multiplier, jpc's 2aW symmetrisation bug, the wrong sign
of the PC gradient, a missing bias term) is applied to a copy of the library and the core tests
are run against the copy; the script fails if any defect survives or no longer applies.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_every_deliberate_defect_is_caught():
    proc = subprocess.run([sys.executable, str(ROOT / "scripts" / "check_defects.py")],
                          cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "MISSED" not in proc.stdout
