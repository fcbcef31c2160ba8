"""The presets: one per example of the article, in its order, each titled, described and valid. No Qt."""

from __future__ import annotations

import ast
import doctest
import re
from pathlib import Path

import pytest

import engine.presets
from engine.errors import ExperimentError
from engine.files import dumps_experiment, load_experiment, loads_experiment
from engine.presets import ARTICLE_ORDER, PRESETS_DIR, Preset, list_presets, preset_path
from engine.trial import trial_experiment
from tests.cli_helpers import main_in_process

ROOT = Path(__file__).resolve().parent.parent
FILES = sorted(p.stem for p in PRESETS_DIR.glob("*.toml"))
# The article's examples, in the order it shows them (written out here, not read from the engine).
ARTICLE = ["optimizer-attributes", "train-only-layer", "per-layer-lr", "article-manual-decay", "lambdalr", "steplr",
           "manual-vs-steplr", "multisteplr", "exponentiallr", "cosineannealinglr", "reducelronplateau",
           "fine-tune-add-param-group"]


def test_presets_come_in_the_articles_order():
    assert [p.name for p in list_presets()] == ARTICLE
    assert list(ARTICLE_ORDER) == ARTICLE


def test_the_order_names_every_preset_file():
    assert sorted(ARTICLE_ORDER) == FILES
    assert sorted(p.name for p in list_presets()) == FILES


def test_a_preset_outside_the_order_comes_after_by_name(tmp_path, monkeypatch):
    for name in ("zeta", "steplr", "alpha", "lambdalr"):
        (tmp_path / f"{name}.toml").write_text(f'title = "{name} title"\ndescription = "d"\n')
    (tmp_path / "broken.toml").write_text("title = ")
    monkeypatch.setattr(engine.presets, "PRESETS_DIR", tmp_path)
    presets = list_presets()
    assert [p.name for p in presets] == ["lambdalr", "steplr", "alpha", "broken", "zeta"]
    assert presets[3] == Preset("broken", "broken", "(unreadable)")


@pytest.mark.parametrize("preset", list_presets(), ids=lambda p: p.name)
def test_every_preset_has_a_title_and_a_one_line_description(preset):
    raw = (PRESETS_DIR / f"{preset.name}.toml").read_text()
    assert re.search(r'^title = "', raw, re.M) and re.search(r'^description = "', raw, re.M)
    assert preset.title.strip() and preset.title != preset.name and len(preset.title) <= 70
    assert preset.description.strip() and "\n" not in preset.description and len(preset.description) <= 130
    assert preset.description[0].isupper()


def test_titles_and_descriptions_are_distinct():
    presets = list_presets()
    assert len({p.title for p in presets}) == len(presets)
    assert len({p.description for p in presets}) == len(presets)


@pytest.mark.parametrize("name", FILES)
def test_every_preset_validates_and_round_trips(name):
    experiment = trial_experiment(load_experiment(PRESETS_DIR / f"{name}.toml"))
    preset = next(p for p in list_presets() if p.name == name)
    assert (experiment.title, experiment.description) == (preset.title, preset.description)
    again = loads_experiment(dumps_experiment(experiment))
    assert again == experiment
    assert dumps_experiment(again).startswith(f'title = "{preset.title}"\ndescription = ')


def _calls(title: str):
    """``Name(key=value, ...)`` calls in a title, as (name, {key: value})."""
    for match in re.finditer(r"\b([A-Z]\w+)\(([^()]*)\)", title):
        call = ast.parse(match.group(0), mode="eval").body
        yield call.func.id, {k.arg: (ast.literal_eval(k.value) if isinstance(k.value, (ast.Constant, ast.List))
                                     else ast.unparse(k.value)) for k in call.keywords}


@pytest.mark.parametrize("name", FILES)
def test_a_scheduler_in_a_title_is_the_presets_scheduler(name):
    preset = next(p for p in list_presets() if p.name == name)
    schedulers = [r.scheduler for r in load_experiment(PRESETS_DIR / f"{name}.toml").runs if r.scheduler]
    for cls, options in _calls(preset.title):
        assert any(s.type == cls and all(s.options.get(k) == v for k, v in options.items()) for s in schedulers), (
            f"{name}: title says {cls}({options}), the runs have {schedulers}")


def test_titles_name_the_schedulers_of_single_scheduler_presets():
    for preset in list_presets():
        experiment = load_experiment(PRESETS_DIR / f"{preset.name}.toml")
        types = {r.scheduler.type for r in experiment.runs if r.scheduler}
        if len(experiment.runs) == 1 and types and preset.name != "fine-tune-add-param-group":
            assert preset.title.startswith(types.pop()), preset.name


def test_unknown_preset_lists_the_names_in_order():
    with pytest.raises(ExperimentError, match="available: " + ", ".join(ARTICLE)):
        preset_path("steplR")


def test_the_module_examples():
    assert doctest.testmod(engine.presets).failed == 0


def test_cli_prints_names_titles_and_descriptions_in_order():
    result = main_in_process("presets")
    assert result.returncode == 0 and result.stderr == ""
    lines = result.stdout.splitlines()
    presets = list_presets()
    width = max(len(p.name) for p in presets)
    assert lines == [f"{p.name:<{width}}  {p.title}: {p.description}" for p in presets]
    assert [line.split()[0] for line in lines] == ARTICLE
    assert lines[5].split(None, 1)[1].startswith("StepLR(step_size=5, gamma=0.5): ")
