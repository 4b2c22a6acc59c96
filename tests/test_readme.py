"""README.md holds exactly two set-up commands, and CI runs the same test command."""
from __future__ import annotations

import re

from tests.conftest import REPO


def _readme_commands() -> list[str]:
    text = (REPO / "README.md").read_text()
    return [block.strip() for block in re.findall(r"```bash\n(.*?)```", text, re.S)]


def test_readme_has_two_commands_demo_and_tests():
    commands = _readme_commands()
    assert len(commands) == 2 and all("\n" not in c for c in commands)
    assert "dubkernels demo" in commands[0] and "pytest" in commands[1]


def test_ci_runs_the_readme_test_command():
    ci = (REPO / ".ci" / "run").read_text()
    assert _readme_commands()[1].replace("pip install -e", "pip install -q -e") in ci


def _printout() -> list[str]:
    text = (REPO / "README.md").read_text()
    block = re.search(r"```\n(shot file: .*?)```", text, re.S)
    assert block, "README shows the demo's printout"
    return block.group(1).strip().splitlines()


def _labels(lines: list[str]) -> list[str]:
    """What each printed line is (its label, or the bar line's kind), not its figures."""
    out = []
    for line in lines:
        stripped = line.strip()
        if stripped.startswith(("pass ", "MISS ")):
            out.append("bar line")
        elif stripped.startswith(("A/V ", "FLAG ")):
            out.append(stripped.split()[0])
        else:
            out.append(stripped.split(":")[0] if ":" in stripped else stripped)
    return out


def test_the_readme_demo_printout_is_what_the_demo_prints(tmp_path, monkeypatch, capsys):
    from dubkernels.cli.main import main

    monkeypatch.chdir(tmp_path)
    assert main(["demo", "dubkernels_demo", "--frames", "1001-1006", "--progress", "none"]) == 0
    printed = [line for line in capsys.readouterr().out.splitlines()
               if not line.startswith(("[", "    ", "report: measuring"))]
    readme = _printout()
    assert _labels(printed) == _labels(readme)
    assert printed[:1] == readme[:1] and printed[3:7] == readme[3:7]  # the same paths, where a user finds them
