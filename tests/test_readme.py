"""The README's examples run, and the error messages it shows are the ones the CLI prints."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from engine.errors import ExperimentError
from engine.files import loads_experiment

README = (Path(__file__).resolve().parent.parent / "README.md").read_text()


def blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", README, flags=re.S)


def test_the_toml_example_is_a_valid_experiment():
    (example,) = blocks("toml")
    experiment = loads_experiment(example)
    assert [r.name for r in experiment.runs] == ["manual x0.9 every 5", "StepLR"]


def test_the_python_example_runs(capsys):
    (example,) = blocks("python")
    exec(compile(example, "README.md", "exec"), {})
    assert capsys.readouterr().out.strip()


BAD = {
    "runs[1].scheduler.gamma": '[[runs]]\noptimizer = { type = "Adam", lr = 0.1 }\n[[runs]]\n'
                               'optimizer = { type = "Adam", lr = 0.1 }\n'
                               'scheduler = { type = "StepLR", step_size = 5, gamma = "half" }\n',
    "runs[0].edits[0].group": '[[runs]]\noptimizer = { type = "Adam", lr = 0.1 }\n'
                              'edits = [ { epoch = 30, group = 1, lr = 0.05 } ]\n',
    "runs[0].scheduler.step_sise": '[[runs]]\noptimizer = { type = "Adam", lr = 0.1 }\n'
                                   'scheduler = { type = "StepLR", step_sise = 5 }\n',
}


@pytest.mark.parametrize("path", BAD)
def test_the_error_examples_are_real(path):
    with pytest.raises(ExperimentError) as caught:
        loads_experiment(BAD[path])
    assert caught.value.path == path
    assert f"error: {caught.value}\n" in README
