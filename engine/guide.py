"""The Guide: the article's examples as pages, in its order (``resources/guide/*.toml``). No Qt.

A page is data, one TOML file each; the files' names give the order (``01-optimizer-basics.toml``,
``02-...``), so adding a page needs no Python::

    title = "StepLR: a drop every few epochs"
    explanation = \"\"\"What the page teaches, in a few sentences (blank lines part paragraphs).\"\"\"
    watch = "one line on what to look for in the plots"
    preset = "steplr"          # a preset of resources/presets/, or an [experiment] table instead
    run = "StepLR(5, 0.5)"     # optional: the run whose code the page shows (default: every run)
    focus = "scheduler.step()" # optional: the code line the page opens at (default: the run's code)

Each page's experiment is checked with :func:`engine.parse.parse_experiment`, and its code is
:func:`engine.codegen.generate`'s (never written by hand, so it cannot drift from what trains).
A page that cannot be used is an :class:`ExperimentError` naming its file and the field.

>>> pages = load_guide()
>>> pages[0].title
'The training step: backward, then step'
>>> pages[0].code == generate(pages[0].experiment, pages[0].run)
True
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from pathlib import Path

from .codegen import generate, run_index
from .config import Experiment
from .errors import ExperimentError, join_path, show_value
from .files import read_source
from .parse import parse_experiment
from .presets import list_presets, preset_path
from .resources import ResourcesMissing, resource_dir

__all__ = ["GuidePage", "PAGE_FIELDS", "load_guide", "load_page", "guide_dir", "find_page"]

# The fields of a page: required ones, then optional ones (exactly one of preset and experiment).
PAGE_FIELDS = {"title": "a short title, on one line",
               "explanation": "what the page teaches, in the project's own words",
               "watch": "one line on what to watch for in the plots",
               "preset": "the name of a preset (resources/presets/NAME.toml)",
               "experiment": "an experiment table, as an experiment file holds it",
               "run": "the name of the run whose code the page shows",
               "focus": "text of the code line the page opens at"}
REQUIRED = ("title", "explanation", "watch")
DEFAULT_FOCUS = "def train"  # the run's own code, below the data and the model it shares with every page
MAX_TITLE = 80


@dataclass(frozen=True)
class GuidePage:
    """One page: its words, its experiment (checked) and the code of it that it shows."""

    name: str                # the file's name without .toml ("01-optimizer-basics")
    path: Path
    title: str
    explanation: str
    watch: str
    experiment: Experiment
    raw: dict = field(repr=False)       # the experiment as TOML gives it: what the window loads
    source: str | None = field(default=None, repr=False)  # a preset's text (its comments are kept)
    preset: str | None = None
    run: str | None = None
    focus: str = DEFAULT_FOCUS
    code: str = field(default="", repr=False)

    @property
    def paragraphs(self) -> list[str]:
        """The explanation's paragraphs (parted by blank lines), each on one line."""
        return [" ".join(p.split()) for p in self.explanation.split("\n\n") if p.strip()]

    @property
    def focus_line(self) -> int:
        """The index of the code's first line holding :attr:`focus`."""
        return next(i for i, line in enumerate(self.code.splitlines()) if self.focus in line)

    @property
    def experiment_name(self) -> str:
        """What the window calls the loaded experiment."""
        return f"guide {self.name}"


def guide_dir() -> Path:
    """``resources/guide`` (installed or in the checkout); :class:`ResourcesMissing` if neither has it."""
    return resource_dir("guide")


def _text(raw: dict, key: str, where: str, *, one_line: bool = False, required: bool = True) -> str | None:
    if key not in raw:
        if required:
            raise ExperimentError(where, f"{key}: missing; a page needs {PAGE_FIELDS[key]}")
        return None
    value = raw[key]
    if not isinstance(value, str) or not value.strip():
        raise ExperimentError(where, f"{key}: expected {PAGE_FIELDS[key]}, got {show_value(value)}")
    if one_line and "\n" in value.strip():
        raise ExperimentError(where, f"{key}: expected one line, got {value.strip().count(chr(10)) + 1}")
    return value.strip()


_PAGES: dict[Path, tuple[tuple, GuidePage]] = {}  # path -> (what it was read from, page)


def _stamp(path: Path) -> tuple | None:
    """What a file's contents are known by without reading it (None when it cannot be looked at)."""
    try:
        stat = path.stat()
    except OSError:
        return None
    return stat.st_mtime_ns, stat.st_size


def load_page(path: str | Path) -> GuidePage:
    """Read and check one page file; :class:`ExperimentError` naming the file (and field) otherwise.

    A page read before is given again while neither its file nor the preset it names changed
    (every window builds the Guide, and reading, checking and generating 18 pages costs ~50 ms)."""
    path = Path(path)
    key = path.resolve()
    stamp = _stamp(path)
    cached = _PAGES.get(key)
    if cached is not None and stamp is not None and cached[0] == (stamp, _preset_stamp(cached[1])):
        return cached[1]
    page = _read_page(path)
    if stamp is not None:
        _PAGES[key] = ((stamp, _preset_stamp(page)), page)
    return page


def _preset_stamp(page: GuidePage) -> tuple | None:
    """The stamp of the preset a page shows (None: it has its own experiment, or the preset is gone)."""
    if page.preset is None:
        return None
    try:
        return _stamp(preset_path(page.preset))
    except ExperimentError:
        return None


def _read_page(path: Path) -> GuidePage:
    where = f"guide page {path.name}"
    try:
        raw, _ = read_source(path)
    except ExperimentError as error:
        raise ExperimentError(where, error.message) from None
    for key in raw:
        if key not in PAGE_FIELDS:
            close = difflib.get_close_matches(str(key), list(PAGE_FIELDS), n=1, cutoff=0.6)
            hint = f" (did you mean {show_value(close[0])}?)" if close else ""
            raise ExperimentError(where, f"{key}: unknown field{hint}; a page has {', '.join(PAGE_FIELDS)}")
    title = _text(raw, "title", where, one_line=True)
    if len(title) > MAX_TITLE:
        raise ExperimentError(where, f"title: at most {MAX_TITLE} characters (a presenter reads it from afar), "
                                     f"got {len(title)}")
    explanation = _text(raw, "explanation", where)
    watch = _text(raw, "watch", where, one_line=True)
    if ("preset" in raw) == ("experiment" in raw):
        raise ExperimentError(where, "needs exactly one of preset (a preset's name) or an [experiment] table")
    preset, source = None, None
    if "preset" in raw:
        preset = _text(raw, "preset", where, one_line=True)
        try:
            experiment_raw, source = read_source(preset_path(preset))
        except ExperimentError:
            names = ", ".join(p.name for p in list_presets())
            raise ExperimentError(where, f"preset: unknown preset {show_value(preset)}; available: {names}") from None
    else:
        experiment_raw = raw["experiment"]
        if not isinstance(experiment_raw, dict):
            raise ExperimentError(where, f"experiment: expected a table, got {show_value(experiment_raw)}")
    try:
        experiment = parse_experiment(experiment_raw)
    except ExperimentError as error:
        inner = join_path("experiment", error.path) if preset is None else f"preset {preset}: {error.path}"
        raise ExperimentError(where, f"{inner}: {error.message}") from None
    run = _text(raw, "run", where, one_line=True, required=False)
    if run is not None:
        try:
            run_index(experiment, run)
        except ExperimentError as error:
            raise ExperimentError(where, f"run: {error.message}") from None
    code = generate(experiment, run)
    focus = _text(raw, "focus", where, one_line=True, required=False) or DEFAULT_FOCUS
    if focus not in code:
        raise ExperimentError(where, f"focus: {show_value(focus)} is in no line of the page's code")
    return GuidePage(name=path.stem, path=path, title=title, explanation=explanation, watch=watch,
                     experiment=experiment, raw=experiment_raw, source=source, preset=preset, run=run,
                     focus=focus, code=code)


def load_guide(directory: str | Path | None = None) -> list[GuidePage]:
    """Every page of ``directory`` (default :func:`guide_dir`), in the order of their file names."""
    directory = guide_dir() if directory is None else Path(directory)
    paths = sorted(directory.glob("*.toml"))
    if not paths:
        raise ResourcesMissing("guide", [directory])
    return [load_page(path) for path in paths]


def find_page(pages: list[GuidePage], key: str) -> int:
    """The index of the page ``key`` names: its number (from 1) or its name, with or without the number
    (``"6"``, ``"06-steplr"``, ``"steplr"``); :class:`ExperimentError` naming ``--guide`` otherwise."""
    key = key.strip()
    if key.isdigit() and 1 <= int(key) <= len(pages):
        return int(key) - 1
    for i, page in enumerate(pages):
        if key in (page.name, page.name.split("-", 1)[-1]):
            return i
    raise ExperimentError("--guide", f"no page {show_value(key)}: a number from 1 to {len(pages)}, or one of "
                                     + ", ".join(p.name for p in pages))
