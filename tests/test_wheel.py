"""The package as a user gets it: a wheel built from this checkout, installed (not editable) into
a fresh venv, run from an empty directory where the checkout cannot be imported.

The wheel is built offline (``pip wheel --no-build-isolation`` with this venv's setuptools) from
a copy of the files it is made of, so nothing is written into the checkout. The new venv has no
system site-packages; torch, Qt and the rest come from this venv's site-packages through a
``.pth`` line, which adds that directory only (the editable install's own ``.pth`` there, which
would import the checkout, is not run). About 40 s, most of it importing torch and Qt.
"""

from __future__ import annotations

import csv
import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

from engine.presets import ARTICLE_ORDER

ROOT = Path(__file__).resolve().parent.parent
# What the wheel is built from (pyproject.toml decides what of it goes in).
SOURCES = ("pyproject.toml", "README.md", "MANIFEST.in", "LICENSE", "main.py", "engine", "gui", "resources")
TIMEOUT = 180


def _builder() -> str | None:
    """Why this venv cannot build the wheel offline (None: it can)."""
    try:
        import setuptools
    except ImportError:
        return "setuptools is not installed in this venv (pip wheel --no-build-isolation needs it)"
    if int(setuptools.__version__.split(".")[0]) < 77:
        return f"setuptools {setuptools.__version__} is older than pyproject.toml's build requirement (>=77)"
    return None


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """``(venv, wheel, cwd, env)``: the wheel installed into a new venv, an empty directory, an environment."""
    reason = _builder()
    if reason:
        pytest.skip(f"cannot build the wheel offline: {reason}")
    base = tmp_path_factory.mktemp("wheel")
    source = base / "source"
    source.mkdir()
    for name in SOURCES:
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, source / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        elif (ROOT / name).is_file():
            shutil.copy2(ROOT / name, source / name)
    dist = base / "dist"
    _check([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index",
            "--disable-pip-version-check", "--quiet", "-w", str(dist), str(source)])
    [wheel] = dist.glob("lrlab-*.whl")

    venv = base / "venv"
    _check([sys.executable, "-m", "venv", "--without-pip", str(venv)])
    python = venv / "bin" / "python"
    _check([sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "--no-index",
            "--disable-pip-version-check", "--quiet", str(wheel)])
    site = Path(subprocess.run([str(python), "-I", "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                               capture_output=True, text=True, check=True).stdout.strip())
    ours = {sysconfig.get_path("purelib"), sysconfig.get_path("platlib")}
    (site / "zz-lrlab-test-dependencies.pth").write_text("".join(f"{p}\n" for p in sorted(ours)))

    cwd = base / "empty"
    cwd.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP")}
    env["PYTHONNOUSERSITE"] = "1"
    env["QT_QPA_PLATFORM"] = "offscreen"
    return venv, wheel, cwd, env


def _check(command: list[str], **kwargs) -> subprocess.CompletedProcess:
    result = subprocess.run(command, capture_output=True, text=True, timeout=TIMEOUT, **kwargs)
    assert result.returncode == 0, f"{' '.join(command)}\n{result.stdout}\n{result.stderr}"
    return result


def _run(installed, *command: str) -> subprocess.CompletedProcess:
    venv, _, cwd, env = installed
    return subprocess.run([str(venv / "bin" / command[0]), *command[1:]], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=TIMEOUT)


def test_the_wheel_holds_every_module_and_the_presets_but_not_the_screenshots(installed):
    names = set(zipfile.ZipFile(installed[1]).namelist())
    modules = {p.relative_to(ROOT).as_posix() for top in ("engine", "gui") for p in (ROOT / top).rglob("*.py")
               if "__pycache__" not in p.parts}
    missing = sorted(modules - names)
    assert not missing, f"not in the wheel (a new package to list in pyproject.toml's packages?): {missing}"
    assert "main.py" in names
    presets = {f"engine/_resources/presets/{p.name}" for p in (ROOT / "resources" / "presets").glob("*.toml")}
    assert len(presets) == len(ARTICLE_ORDER) and presets <= names
    assert not [n for n in names if n.endswith(".png")]


def test_the_installed_package_is_imported_not_the_checkout(installed):
    venv, _, cwd, env = installed
    result = _check([str(venv / "bin" / "python"), "-I", "-c",
                     "import engine, gui, main, engine.presets as p\n"
                     "print(engine.__file__, gui.__file__, main.__file__, p.PRESETS_DIR, sep='\\n')"],
                    cwd=cwd, env=env)
    paths = [Path(line) for line in result.stdout.splitlines()]
    assert len(paths) == 4
    for path in paths:
        assert path.is_relative_to(venv) and not path.is_relative_to(ROOT), path
    assert paths[3].name == "presets" and paths[3].parent.name == "_resources"


def test_lrlab_presets_lists_them_in_the_articles_order(installed):
    result = _run(installed, "lrlab", "presets")
    assert result.returncode == 0, result.stderr
    assert [line.split()[0] for line in result.stdout.splitlines()] == list(ARTICLE_ORDER)


def test_lrlab_run_trains_a_preset_and_writes_its_csvs(installed):
    out = installed[2] / "out"
    result = _run(installed, "lrlab", "run", "--preset", "manual-vs-steplr", "--out", str(out), "--quiet")
    assert result.returncode == 0, result.stderr
    with open(out / "epochs.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert rows and {row["run"] for row in rows} == {"manual x0.9 every 5", "StepLR(5, 0.9)"}
    assert (out / "steps.csv").stat().st_size > 0


def test_lrlab_gui_opens_a_preset_in_the_window(installed):
    picture = installed[2] / "window.png"
    result = _run(installed, "lrlab-gui", "--preset", "steplr", "--screenshot", str(picture), "--quit")
    assert result.returncode == 0, result.stderr
    assert picture.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.fixture
def without_resources(installed):
    """The installed package with its presets moved away (a broken install), put back afterwards."""
    venv = installed[0]
    [data] = venv.glob("lib/python*/site-packages/engine/_resources")
    aside = data.with_name("_resources-aside")
    data.rename(aside)
    try:
        yield installed
    finally:
        aside.rename(data)


@pytest.mark.parametrize("command", [("lrlab", "run", "--preset", "steplr", "--out", "out", "--quiet"),
                                     ("lrlab-gui", "--quit")], ids=["run", "gui"])
def test_missing_resources_are_one_error_line_not_a_traceback(without_resources, command):
    result = _run(without_resources, *command)
    assert result.returncode == 2
    assert result.stderr.startswith("error: lrlab's data files are missing: no presets in ")
    assert "reinstall lrlab" in result.stderr and "Traceback" not in result.stderr


def test_lrlab_presets_without_resources_is_one_error_line(without_resources):
    result = _run(without_resources, "lrlab", "presets")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.startswith("error: lrlab's data files are missing")
