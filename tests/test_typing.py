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


def test_mypy_checks_the_nuke_plugin_against_nukes_api(tmp_path):
    """Every `nuke` call in the plugin matches the types-nuke stubs (no ignore-missing-imports: the stubs must
    be found, so a call Nuke does not have fails)."""
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "dubkernels_nuke", "init.py", "menu.py", "../scripts/dub_process.py",
         "--cache-dir", str(tmp_path)],
        cwd=REPO / "nuke_plugin", capture_output=True, text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Success" in result.stdout
