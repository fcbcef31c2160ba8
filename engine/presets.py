"""The article's examples as ready-made experiments (``resources/presets/*.toml``).

Found by :mod:`engine.resources`, in an installed wheel or in a checkout; when neither has any
preset (a broken install), :class:`~engine.resources.ResourcesMissing` says so.

>>> [p.name for p in list_presets()][:3]
['optimizer-attributes', 'train-only-layer', 'per-layer-lr']
>>> list_presets()[5].title
'StepLR(step_size=5, gamma=0.5)'
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .errors import ExperimentError, show_value
from .files import read_raw
from .resources import ResourcesMissing, candidates, resource_dir

__all__ = ["PRESETS_DIR", "ARTICLE_ORDER", "Preset", "list_presets", "preset_path"]


def _find() -> Path | None:
    try:
        return resource_dir("presets")
    except ResourcesMissing:
        return None  # importing this module still works (the window opens); using it says why not


PRESETS_DIR: Path | None = _find()

# The order the article shows its examples in; a preset not named here comes after, by name.
ARTICLE_ORDER = (
    "optimizer-attributes", "train-only-layer", "per-layer-lr", "article-manual-decay", "lambdalr", "steplr",
    "manual-vs-steplr", "multisteplr", "exponentiallr", "cosineannealinglr", "reducelronplateau",
    "fine-tune-add-param-group",
)


@dataclass(frozen=True)
class Preset:
    """A preset: its file name (``--preset NAME``), its ``title`` and its one-line ``description``."""

    name: str
    title: str
    description: str


_READ: dict[Path, tuple[tuple, Preset]] = {}  # path -> ((mtime, size), what it said): read once, not per window


def _read(path: Path) -> Preset:
    try:
        stat = path.stat()
        stamp = (stat.st_mtime_ns, stat.st_size)
    except OSError:
        stamp = None
    cached = _READ.get(path)
    if cached is not None and stamp is not None and cached[0] == stamp:
        return cached[1]
    preset = _read_file(path)
    if stamp is not None:
        _READ[path] = (stamp, preset)
    return preset


def _read_file(path: Path) -> Preset:
    try:
        raw = read_raw(path)
    except ExperimentError:
        return Preset(path.stem, path.stem, "(unreadable)")
    title, description = raw.get("title"), raw.get("description")
    return Preset(path.stem, title if isinstance(title, str) and title else path.stem,
                  description if isinstance(description, str) else "")


def list_presets() -> list[Preset]:
    """Every preset, in the article's order (:data:`ARTICLE_ORDER`), then any other by name."""
    rank = {name: i for i, name in enumerate(ARTICLE_ORDER)}
    paths = sorted(_directory().glob("*.toml"), key=lambda p: (rank.get(p.stem, len(rank)), p.stem))
    if not paths:
        raise ResourcesMissing("presets", [PRESETS_DIR])
    return [_read(path) for path in paths]


def preset_path(name: str) -> Path:
    path = _directory() / f"{name}.toml"
    if not name or "/" in name or "\\" in name or not path.is_file():
        names = ", ".join(p.name for p in list_presets())
        raise ExperimentError("--preset", f"unknown preset {show_value(name)}; available: {names}")
    return path


def _directory() -> Path:
    """:data:`PRESETS_DIR`, or :class:`ResourcesMissing` naming where the presets were looked for."""
    if PRESETS_DIR is None:
        raise ResourcesMissing("presets", candidates("presets"))
    return PRESETS_DIR
