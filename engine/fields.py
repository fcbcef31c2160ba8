"""The experiment's own fields (not torch's): their types, ranges, defaults and help.

Parsing reads them from here and so do the GUI's forms, so "epochs" is described once.
"""

from __future__ import annotations

from .config import MODELS, MODULES, DataConfig
from .fieldtypes import Choice, Number, Text
from .registry import ParamSpec

__all__ = ["EXPERIMENT_FIELDS", "DATA_FIELDS", "MANUAL_FIELDS", "GROUP_MODULE", "RUN_NAME", "MAX_EPOCHS",
           "MAX_SAMPLES", "MAX_NAME_LENGTH"]

MAX_EPOCHS = 1_000_000
MAX_SAMPLES = 1_000_000
MAX_NAME_LENGTH = 100

EXPERIMENT_FIELDS = {
    "title": ParamSpec("title", Text(), "", "a short name for the experiment, in a few words (presets list theirs)"),
    "description": ParamSpec("description", Text(), "", "what the experiment shows, in a sentence"),
    "seed": ParamSpec("seed", Number(integer=True, ge=0, lt=2**63), 0,
                      "seeds the data, the initial weights and the batch order (the same for every run)"),
    "epochs": ParamSpec("epochs", Number(integer=True, ge=1, le=MAX_EPOCHS), 100, "passes over the training set"),
    "model": ParamSpec("model", Choice(MODELS), "article",
                       '"article": forward returns self.layer(input), so layer2 gets no gradient; '
                       '"bottleneck": layer2(tanh(layer(input))), both layers train'),
}

DATA_FIELDS = {
    "samples": ParamSpec("samples", Number(integer=True, ge=2, le=MAX_SAMPLES), DataConfig.samples,
                         "synthetic regression samples, drawn from the seed"),
    "batch_size": ParamSpec("batch_size", Number(integer=True, ge=1), DataConfig.batch_size,
                            "samples per optimizer step"),
    "noise": ParamSpec("noise", Number(ge=0), DataConfig.noise, "standard deviation of the noise on the targets"),
    "val_fraction": ParamSpec("val_fraction", Number(ge=0, lt=1), DataConfig.val_fraction,
                              "share of the samples kept for the validation loss (0: none)"),
}

MANUAL_FIELDS = {
    "every": ParamSpec("every", Number(integer=True, ge=1), doc="epochs between two decays"),
    "factor": ParamSpec("factor", Number(gt=0), doc="every group's lr is multiplied by it"),
    "start": ParamSpec("start", Number(integer=True, ge=0), None,
                       "first epoch it fires at (default: every); 0 is the article's loop"),
}

# A run's name goes as it is into the CSVs, the legend and the terminal: no control or bidi
# characters (a newline breaks a CSV row, U+202E reverses what the terminal shows after it).
RUN_NAME = ParamSpec("name", Text(printable=True, max_length=MAX_NAME_LENGTH), None,
                     "the run's name in the legend, the CSVs and the summary; unique in the experiment")

GROUP_MODULE = ParamSpec("module", Choice(MODULES), doc="the part of the model this param group trains")
