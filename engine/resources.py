"""Where lrlab's data files are, in a checkout and in an installed wheel. No Qt.

The checkout keeps them in ``resources/`` beside ``engine/``; the wheel carries
``resources/presets`` and ``resources/guide`` as the package data of ``engine/_resources``
(pyproject.toml: ``package-dir``), found with :mod:`importlib.resources`. The installed copy
is looked for first, then the checkout's (``python main.py``, an editable install, the tests).
Only the presets and the Guide's pages are read by the code; the screenshots in ``resources/``
illustrate the README and are not shipped.

>>> resource_dir("presets").name
'presets'
"""

from __future__ import annotations

import importlib.resources
from pathlib import Path

from .errors import ExperimentError

__all__ = ["ResourcesMissing", "resource_dir", "candidates"]

CHECKOUT = Path(__file__).resolve().parent.parent / "resources"
INSTALLED = "_resources"  # the wheel's name for resources/, inside the engine package


class ResourcesMissing(ExperimentError):
    """lrlab's data files are not where an install or a checkout puts them (a broken install).

    An :class:`ExperimentError` without a field, so the command line and the window show its
    words as they show a bad ``--preset``: ``error: ...``, exit code 2, no traceback.
    """

    def __init__(self, name: str, looked_in: list[Path]):
        places = " or ".join(str(p) for p in looked_in)
        super().__init__("", f"lrlab's data files are missing: no {name} in {places}. This installation "
                             "is incomplete: reinstall lrlab (pip install --force-reinstall lrlab), "
                             "or run python main.py from a checkout of the repository")
        self.name = name
        self.looked_in = looked_in


def candidates(name: str) -> list[Path]:
    """Where ``resources/<name>`` may be, in the order they are tried: installed, then checkout."""
    places = []
    installed = importlib.resources.files(__package__).joinpath(INSTALLED, name)
    if isinstance(installed, Path):  # a package on disk (not one imported from a zip file)
        places.append(installed)
    places.append(CHECKOUT / name)
    return places


def resource_dir(name: str) -> Path:
    """The directory ``resources/<name>`` (``"presets"``, ``"guide"``); :class:`ResourcesMissing` if none is there."""
    places = candidates(name)
    for place in places:
        if place.is_dir():
            return place
    raise ResourcesMissing(name, places)
