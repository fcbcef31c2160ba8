"""The open experiment without a window: loading, editing, edits recorded mid-run, saving."""

from __future__ import annotations

import copy
import tomllib

import pytest

from engine.errors import ExperimentError
from engine.files import loads_experiment
from engine.session import TrainingSession, raw_with_edits
from gui.document import EDITED, LOADED, MERGED, SAVED, ExperimentDocument


def raw(**run):
    return {"epochs": 4, "data": {"samples": 64, "batch_size": 16},
            "runs": [{"name": "a", "optimizer": {"type": "SGD", "lr": 0.1}, **run},
                     {"name": "b", "optimizer": {"type": "Adam", "lr": 0.01}}]}


def test_the_document_module_needs_no_qt():
    import gui.document as document

    source = open(document.__file__, encoding="utf-8").read()
    assert "PySide6" not in source and "pyqtgraph" not in source


def test_load_edit_save_and_what_listeners_hear(tmp_path):
    heard = []
    document = ExperimentDocument()
    document.subscribe(heard.append)
    document.load(raw(), None, "example")
    assert (document.name, document.dirty, document.path) == ("example", False, None)
    assert document.run_names == ["a", "b"]
    changed = raw()
    changed["epochs"] = 7
    document.edit(changed)
    assert document.dirty and document.title.startswith("*example")
    path = tmp_path / "e.toml"
    assert document.save(path) == path
    assert not document.dirty and document.name == "e.toml"
    assert tomllib.loads(path.read_text())["epochs"] == 7
    assert heard == [LOADED, EDITED, SAVED]
    assert not list(tmp_path.glob("*.partial"))  # written through a temporary file, renamed into place


def test_a_failed_save_keeps_the_old_file_and_the_dirty_flag(tmp_path):
    path = tmp_path / "e.toml"
    path.write_text("old")
    document = ExperimentDocument()
    document.load(raw(), path)
    document.edit({**raw(), "epochs": 9})
    with pytest.raises(TypeError):
        document.raw["bad"] = object()  # TOML cannot hold it: the write fails before the rename
        document.save()
    assert path.read_text() == "old" and document.dirty
    assert sorted(p.name for p in tmp_path.iterdir()) == ["e.toml"]


def test_open_reads_through_the_engine_and_names_a_bad_file(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("runs = [")
    with pytest.raises(ExperimentError, match="bad.toml: not valid TOML"):
        ExperimentDocument().open(bad)


def test_recorded_edits_are_merged_once_and_only_into_their_run():
    document = ExperimentDocument()
    document.load(raw(edits=[{"epoch": 1, "lr": 0.05}]))
    heard = []
    document.subscribe(heard.append)
    recorded = [("a", ({"epoch": 1, "lr": 0.05}, {"step": 9, "group": 0, "lr": 0.02})), ("b", ())]
    assert document.merge_edits(recorded)
    assert document.raw["runs"][0]["edits"] == [{"epoch": 1, "lr": 0.05}, {"step": 9, "group": 0, "lr": 0.02}]
    assert "edits" not in document.raw["runs"][1]
    assert not document.merge_edits(recorded)  # nothing new the second time
    assert heard == [MERGED] and document.dirty
    renamed = [("not a", ({"step": 3, "lr": 0.5},))]
    assert not document.merge_edits(renamed)  # a run whose name changed is left alone


def test_merged_edits_replay_what_the_session_recorded():
    """The form's merge and the session's experiment_with_edits describe the same experiment."""
    from engine.commands import SetGroupOptions
    from engine.parse import parse_experiment

    experiment = parse_experiment(raw())
    session = TrainingSession(experiment)
    session.run(max_steps=5)
    session.submit(SetGroupOptions(run=0, group=0, options={"lr": 0.02}))
    session.run()
    recorded = [(r.name, tuple(e.to_dict() for e in r.recorded_edits)) for r in session.runs]
    merged, changed = raw_with_edits(raw(), recorded)
    assert changed
    assert parse_experiment(merged) == session.experiment_with_edits()
    replay = TrainingSession(loads_experiment(__import__("tomli_w").dumps(merged)))
    replay.run()
    assert replay.snapshot()[0].step_lr.tobytes() == session.snapshot()[0].step_lr.tobytes()


def test_saving_keeps_the_files_comments_and_layout(tmp_path):
    """A preset saved unchanged is the preset as written; an edit rewrites only its own line."""
    from engine.presets import preset_path
    from gui.document import ExperimentDocument

    text = preset_path("manual-vs-steplr").read_text()
    path = tmp_path / "e.toml"
    path.write_text(text)
    document = ExperimentDocument()
    document.open(path)
    document.save(tmp_path / "same.toml")
    assert (tmp_path / "same.toml").read_text() == text
    raw = copy.deepcopy(document.raw)
    raw["runs"][0]["optimizer"]["lr"] = 0.0123
    document.edit(raw)
    document.save(tmp_path / "edited.toml")
    written = (tmp_path / "edited.toml").read_text().splitlines()
    new = [line for line in written if line not in text.splitlines()]
    assert len(new) == 1 and "0.0123" in new[0]
    assert [line for line in text.splitlines() if line.lstrip().startswith("#")] == \
        [line for line in written if line.lstrip().startswith("#")]
    assert tomllib.loads("\n".join(written)) == raw


def test_a_layout_that_cannot_hold_the_change_falls_back_to_plain_toml():
    from engine.files import keep_layout

    assert keep_layout("epochs = 3 # three\n", {"epochs": 4}) == "epochs = 4 # three\n"
    assert keep_layout("epochs = 3\n", {"epochs": 3.0}) != "epochs = 3\n"  # 3.0 is not 3 in TOML
    assert keep_layout("not toml [", {"epochs": 3}) is None


def test_every_writer_replaces_whole_refuses_a_device_and_leaves_no_partial_file(tmp_path):
    """One way to write a file (engine.files.replace_atomically): text, a state, a picture."""
    import os

    from engine.files import replace_atomically, write_atomically

    target = tmp_path / "x.toml"
    target.write_text("old")

    def half_then_fail(tmp):
        tmp.write_text("half")
        raise RuntimeError("disk full")

    with pytest.raises(OSError, match="cannot write .*x.toml: disk full"):
        replace_atomically(target, half_then_fail)
    assert target.read_text() == "old" and sorted(p.name for p in tmp_path.iterdir()) == ["x.toml"]
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    with pytest.raises(OSError, match="not a regular file"):
        write_atomically(fifo, "text")
    write_atomically(target, "new")
    assert target.read_text() == "new"
