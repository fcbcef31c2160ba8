"""The Guide's pages (``resources/guide/*.toml``, :mod:`engine.guide`), without Qt.

Every page loads, its experiment is the engine's (validated by ``parse_experiment``, accepted by
torch's trial, and trained for a few epochs headless), its code is exactly what the generator
writes for it, and the pages come in the article's order, followed by the mistakes. A page
that cannot be used is refused with its file and field named.
"""

from __future__ import annotations

import pytest

from engine.codegen import generate
from engine.errors import ExperimentError
from engine.guide import PAGE_FIELDS, find_page, guide_dir, load_guide, load_page
from engine.parse import parse_experiment
from engine.presets import list_presets
from engine.session import TrainingSession
from engine.trial import trial_experiment

PAGES = load_guide()

# What each page is about, in the article's order (its sections, then what the issue adds at the
# end: add_param_group, state_dict), then the mistakes: a word of each page's file name.
ARTICLE_ORDER = ["optimizer-basics", "optimizer-attributes", "param-groups", "train-only-part", "per-layer-lr",
                 "manual-decay", "lambdalr", "steplr", "manual-vs-steplr", "multisteplr", "exponentiallr",
                 "cosineannealinglr", "reducelronplateau", "add-param-group", "state-dict",
                 "mistake-scheduler-first", "mistake-per-batch", "mistake-edit-overwritten"]
FEW_EPOCHS = 3


def test_the_pages_come_in_the_articles_order_then_the_mistakes():
    assert [p.name.split("-", 1)[1] for p in PAGES] == ARTICLE_ORDER
    assert [p.name.split("-", 1)[0] for p in PAGES] == [f"{i:02d}" for i in range(1, len(PAGES) + 1)]


def test_every_preset_of_the_article_has_its_page():
    assert {p.name for p in list_presets()} <= {p.preset for p in PAGES if p.preset}


@pytest.mark.parametrize("page", PAGES, ids=[p.name for p in PAGES])
def test_a_page_validates_trains_a_few_epochs_and_shows_the_generators_code(page):
    experiment = parse_experiment(page.raw)
    assert experiment == page.experiment
    assert page.code == generate(experiment, page.run)  # never written by hand: it cannot drift
    assert page.focus in page.code.splitlines()[page.focus_line]
    trial_experiment(experiment)
    session = TrainingSession(experiment)
    session.run(max_steps=FEW_EPOCHS * experiment.steps_per_epoch)
    assert session.position == FEW_EPOCHS * experiment.steps_per_epoch
    for result in session.snapshot():
        assert len(result.train_loss) == FEW_EPOCHS and (result.train_loss > 0).all()
        assert not [e for e in result.events if e.kind in ("error", "diverged")]


@pytest.mark.parametrize("page", PAGES, ids=[p.name for p in PAGES])
def test_a_page_has_its_own_words_in_a_few_short_paragraphs(page):
    assert page.title and "\n" not in page.title and len(page.title) <= 80
    assert "\n" not in page.watch and page.watch.endswith(".")
    assert 1 <= len(page.paragraphs) <= 4 and all(len(p) < 700 for p in page.paragraphs)


def test_the_mistake_pages_show_the_mistake():
    pages = {p.name.split("-", 1)[1]: p for p in PAGES}
    first = pages["mistake-scheduler-first"]
    assert first.experiment.runs[1].scheduler.step_order == "scheduler_first"
    assert "The mistake" in first.code.splitlines()[first.focus_line]
    session = TrainingSession(first.experiment)
    session.run(max_steps=first.experiment.steps_per_epoch)
    notes = [e.detail for e in session.snapshot()[1].events if e.kind == "note"]
    assert any("before `optimizer.step()`" in n for n in notes)  # torch's warning, as an event
    per_batch = pages["mistake-per-batch"].experiment.runs
    assert [r.scheduler.interval for r in per_batch] == ["epoch", "step"]
    edited = pages["mistake-edit-overwritten"].experiment.runs
    assert edited[0].scheduler.type == "LambdaLR" and edited[0].edits[0].options == {"lr": 0.01}


def test_find_page_takes_a_number_or_a_name():
    assert find_page(PAGES, "1") == 0
    assert find_page(PAGES, "08-steplr") == find_page(PAGES, "steplr") == 7
    with pytest.raises(ExperimentError) as info:
        find_page(PAGES, "99")
    assert info.value.path == "--guide" and "01-optimizer-basics" in str(info.value)


def _page(tmp_path, text: str):
    path = tmp_path / "07-broken.toml"
    path.write_text(text, encoding="utf-8")
    return path


GOOD = 'title = "A page"\nexplanation = "Words."\nwatch = "A line."\n'


@pytest.mark.parametrize("text, words", [
    ('explanation = "Words."\nwatch = "A line."\npreset = "steplr"\n', "title: missing"),
    (GOOD, "exactly one of preset"),
    (GOOD + 'preset = "steplr"\n[experiment]\nepochs = 3\n', "exactly one of preset"),
    (GOOD + 'preset = "stepLR"\n', 'preset: unknown preset "stepLR"; available: optimizer-attributes'),
    (GOOD + 'preset = "steplr"\nwach = "typo"\n', 'wach: unknown field (did you mean "watch"?)'),
    (GOOD + 'preset = "steplr"\nrun = "nope"\n', 'run: no run is named "nope"'),
    (GOOD + 'preset = "steplr"\nfocus = "no such line"\n', "focus: \"no such line\" is in no line"),
    (GOOD + '[experiment]\nepochs = 3\n[[experiment.runs]]\noptimizer = { type = "Adam", lr = "fast" }\n',
     "experiment.runs[0].optimizer.lr: expected a number"),
    ('title = "A page"\nexplanation = "Words."\nwatch = "two\\nlines"\npreset = "steplr"\n',
     "watch: expected one line"),
    ("title = [", "not valid TOML"),
])
def test_a_page_that_cannot_be_used_is_refused_naming_its_file_and_field(tmp_path, text, words):
    with pytest.raises(ExperimentError) as info:
        load_page(_page(tmp_path, text))
    message = str(info.value)
    assert message.startswith("guide page 07-broken.toml: ") and words in message, message


def test_adding_a_page_needs_no_python(tmp_path):
    for page in PAGES[:2]:
        (tmp_path / page.path.name).write_text(page.path.read_text(encoding="utf-8"), encoding="utf-8")
    _page(tmp_path, GOOD + 'preset = "cosineannealinglr"\n')
    pages = load_guide(tmp_path)
    assert [p.name for p in pages] == [PAGES[0].name, PAGES[1].name, "07-broken"]
    assert pages[2].preset == "cosineannealinglr" and pages[2].code == generate(pages[2].experiment)


def test_a_page_read_again_is_the_same_until_its_file_changes(tmp_path):
    import os

    path = _page(tmp_path, GOOD + 'preset = "steplr"\n')
    first = load_page(path)
    assert load_page(path) is first  # not read, checked and generated again for each window
    path.write_text(GOOD.replace("A page", "Another page") + 'preset = "steplr"\n', encoding="utf-8")
    os.utime(path, ns=(first.path.stat().st_atime_ns, first.path.stat().st_mtime_ns + 10**9))
    assert load_page(path).title != first.title
    path.write_text(GOOD + 'preset = "steplr"\nwach = "typo"\n', encoding="utf-8")
    with pytest.raises(ExperimentError, match="wach"):  # a page broken since is refused, not served from before
        load_page(path)


def test_the_pages_are_found_where_the_wheel_installs_them():
    assert guide_dir().name == "guide" and sorted(guide_dir().glob("*.toml"))
    assert set(PAGE_FIELDS) == {"title", "explanation", "watch", "preset", "experiment", "run", "focus"}


def test_the_modules_example_runs():
    import doctest

    import engine.guide

    outcome = doctest.testmod(engine.guide)
    assert outcome.attempted and not outcome.failed
