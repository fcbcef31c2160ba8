"""The article's examples as ready-made experiments (``resources/presets/*.toml``)."""

from __future__ import annotations

import tomllib
from pathlib import Path

from .errors import ExperimentError, show_value

__all__ = ["PRESETS_DIR", "list_presets", "preset_path"]

PRESETS_DIR = Path(__file__).resolve().parent.parent / "resources" / "presets"


def list_presets() -> list[tuple[str, str]]:
    """``(name, description)`` of every preset, in name order."""
    out = []
    for path in sorted(PRESETS_DIR.glob("*.toml")):
        try:
            description = tomllib.loads(path.read_text(encoding="utf-8")).get("description", "")
        except (tomllib.TOMLDecodeError, OSError):
            description = "(unreadable)"
        out.append((path.stem, description))
    return out


def preset_path(name: str) -> Path:
    path = PRESETS_DIR / f"{name}.toml"
    if not name or "/" in name or "\\" in name or not path.is_file():
        names = ", ".join(n for n, _ in list_presets())
        raise ExperimentError("--preset", f"unknown preset {show_value(name)}; available: {names}")
    return path
