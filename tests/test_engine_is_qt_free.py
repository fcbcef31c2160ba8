"""engine/ and the headless CLI never import Qt, pyqtgraph or gui/ (they run on machines without a display)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FORBIDDEN = ("PySide6", "shiboken6", "pyqtgraph", "gui")

CHECK = """
import sys
{body}
loaded = sorted(m for m in sys.modules if m.split('.')[0] in {forbidden!r})
print(loaded)
assert not loaded, loaded
"""


def run_python(body: str, tmp_path) -> subprocess.CompletedProcess:
    code = CHECK.format(body=body, forbidden=FORBIDDEN)
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300)


def test_importing_every_engine_module_loads_no_qt(tmp_path):
    modules = sorted("engine." + p.stem for p in (ROOT / "engine").glob("*.py") if p.stem != "__init__")
    body = "import engine, engine.registry\n" + "\n".join(f"import {m}" for m in modules)
    result = run_python(body, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr


def test_main_run_trains_without_loading_qt(tmp_path):
    # the steplr preset cut to 3 epochs: what is imported does not depend on how long it trains
    text = (ROOT / "resources" / "presets" / "steplr.toml").read_text().replace("epochs = 100", "epochs = 3")
    assert "epochs = 3" in text
    (tmp_path / "short.toml").write_text(text)
    out = tmp_path / "out"
    body = (f"import main\ncode = main.main(['run', {str(tmp_path / 'short.toml')!r}, '--out', {str(out)!r}, "
            "'--quiet'])\nassert code == 0, code")
    result = run_python(body, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert (out / "epochs.csv").is_file()


def test_no_engine_source_imports_qt():
    for path in (ROOT / "engine").rglob("*.py"):
        tree = ast.parse(path.read_text(), str(path))
        for node in ast.walk(tree):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module or ""] if isinstance(node, ast.ImportFrom) and node.level == 0 else []
            for name in names:
                assert name.split(".")[0] not in FORBIDDEN, f"{path}: imports {name}"
