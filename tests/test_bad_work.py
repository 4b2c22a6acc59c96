"""A work folder that is damaged or not a dub's: clear errors naming the file and the fix, never a traceback."""
from __future__ import annotations

import json

import pytest

from dubkernels.cli.main import main
from dubkernels.errors import EXIT_USER_ERROR


@pytest.mark.parametrize("text, message", [
    ("{", "files.json: not valid JSON"),
    ("[1, 2]", "files.json: expected a JSON object"),
    (json.dumps({"name": "s"}), '"files" is not an object of paths'),
    (json.dumps({"files": {"actor": 3}}), '"files" is not an object of paths'),
])
def test_report_on_a_damaged_manifest_is_a_clear_error(tmp_path, capsys, text, message):
    (tmp_path / "files.json").write_text(text)
    assert main(["report", str(tmp_path), "--progress", "none"]) == EXIT_USER_ERROR
    err = capsys.readouterr().err
    assert message in err and "run `dubkernels dub`" in err and "Traceback" not in err
