"""The engine type-checks with mypy (calls match the libraries' typed APIs)."""
from __future__ import annotations

import subprocess
import sys

from tests.conftest import REPO


def test_mypy_passes_on_the_engine(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "dubkernels", "--ignore-missing-imports", "--cache-dir", str(tmp_path)],
        cwd=REPO, capture_output=True, text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
