"""Every Python block in the README runs as written: extracted and run, one by one."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

README = Path(__file__).resolve().parent.parent / "README.md"


def python_blocks(text: str) -> list[str]:
    """The bodies of the ```python fences, in order."""
    return re.findall(r"^```python\n(.*?)^```$", text, flags=re.DOTALL | re.MULTILINE)


def test_the_extractor_finds_the_blocks() -> None:
    # An extractor that found nothing would let the test below pass vacuously.
    text = "a\n```python\nx = 1\n```\n```sh\nls\n```\n```python\ny = 2\n```\n"
    assert python_blocks(text) == ["x = 1\n", "y = 2\n"]
    assert len(python_blocks(README.read_text(encoding="utf-8"))) >= 4


@pytest.mark.parametrize("index", range(len(python_blocks(README.read_text(encoding="utf-8")))))
def test_readme_python_block_runs(index: int, tmp_path: Path) -> None:
    code = python_blocks(README.read_text(encoding="utf-8"))[index]
    proc = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, f"README block {index + 1}:\n{code}\n{proc.stderr[-3000:]}"
    assert "Traceback" not in proc.stderr
