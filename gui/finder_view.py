"""The Find lr tab: a learning-rate range test of a run, drawn as it runs, and its suggestions put to use.

The test runs in the engine's process (:mod:`engine.worker`'s ``find`` request: the window never
touches a torch object); its rows arrive in chunks and a 20 Hz timer draws what has arrived, loss
against lr on a log axis, so the window stays responsive however fast they come. When it ends, each
rule's suggestion (:mod:`engine.lr_rules`) is a labelled vertical line and a row of the table. Use
sets the run's lr in the document (or a scheduler's own lr option, OneCycleLR's ``max_lr``; asking
which of CyclicLR's bounds: :func:`engine.range_test.lr_targets`, from the registry's traits); Try
all adds one run per suggestion and one at 10x the steepest, to train side by side.

:func:`install_finder` adds it to a main window's side panel.
"""

from __future__ import annotations

import math
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QEvent, QObject, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QFont
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QInputDialog,
    QLabel,
    QLineEdit,
    QPushButton,
    QSizePolicy,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from engine.errors import ExperimentError
from engine.range_test import MAX_ITERATIONS, MODES, RangeTestOptions, lr_targets, with_lr, with_trial_runs

from .export_dialog import export_widget
from .plot_style import BACKGROUND, PALETTE, TEXT
from .widgets import stacked_splitter

__all__ = ["FinderView", "install_finder"]

REDRAW_MS = 50  # what arrived is drawn at 20 Hz, however fast rows come
RAW_COLOUR, SMOOTHED_COLOUR = "#9a9a9a", PALETTE[0]
RULE_COLOURS = dict(zip(("steepest", "minimum/10", "steep", "valley", "10 x steepest"), PALETTE[1:]))
OPTION_FIELDS = {"start_lr": "start", "end_lr": "end", "num_iter": "iters", "mode": "mode"}
SAME_LR_DECADES = 0.02  # suggestions closer than this (about 5 %) share one label: their lines coincide
LABEL_GAP = 4  # pixels between two stacked line labels
FIELD_TEXT = "1e-07"  # the start and end fields show at least this much


class FinderView(QWidget):
    """A range test of one run of ``document``'s experiment, through ``client``'s engine."""

    experiment_changed = Signal()  # Use or Try all changed the document's experiment

    def __init__(self, client, document, parent: QWidget | None = None):
        super().__init__(parent)
        self.client, self.document = client, document
        self.request = 0
        self.running = False
        self.editable = True
        self.chunks: list[np.ndarray] = []
        self.rows = np.empty((0, 4))
        self.result = None  # the engine's RangeTestResult once it ends
        self.run_index = 0  # the run the shown curve belongs to
        self.run_name = ""  # its name: Use and Try all find it again after runs are added or removed
        self.lines: list[pg.InfiniteLine] = []
        self.dirty = False

        self.run = QComboBox(self)
        self.start_field, self.end_field = QLineEdit("1e-7", self), QLineEdit("10", self)
        for field, what in ((self.start_field, "the lr of the first step (> 0, below end)"),
                            (self.end_field, "the lr of the last step (above start)")):
            field.setToolTip(what)
            field.returnPressed.connect(self.find)
        self.iters = QSpinBox(self)
        self.iters.setRange(2, MAX_ITERATIONS)
        self.iters.setValue(100)
        self.iters.setToolTip(f"optimizer steps (2 to {MAX_ITERATIONS}); the test stops earlier if the loss diverges")
        self.mode = QComboBox(self)
        self.mode.addItems(MODES)
        self.mode.setToolTip("exp: the lr grows by the same factor each step; linear: by the same amount")
        self.find_button, self.stop_button = QPushButton("Find", self), QPushButton("Stop", self)
        self.find_button.setToolTip("train the run while its lr sweeps from start to end (nothing of it changes)")
        self.find_button.clicked.connect(self.find)
        self.stop_button.setToolTip("end the test here: the suggestions are read from the curve so far")
        self.stop_button.clicked.connect(self.stop)
        self.status = QLabel("Pick a run and press Find.", self)
        self.status.setWordWrap(True)
        # what Export draws: a caption (which run, which sweep) above the plot, on white
        self.canvas = QWidget(self)
        self.canvas.setAutoFillBackground(True)
        self.canvas.setStyleSheet(f"background: {BACKGROUND}; color: {TEXT};")
        self.caption = QLabel("", self.canvas)
        self.caption.setWordWrap(True)
        self.caption.hide()  # until a test has started
        self.plot = pg.PlotWidget(self.canvas, background=BACKGROUND)
        self.plot.setLogMode(x=True, y=False)
        self.plot.showGrid(x=True, y=True, alpha=0.25)
        self.raw_curve = self.plot.plot(pen=pg.mkPen(RAW_COLOUR, width=1), name="loss")
        self.smoothed_curve = self.plot.plot(pen=pg.mkPen(SMOOTHED_COLOUR, width=2.5), name="smoothed loss")
        self.points = self.plot.plot(pen=None, symbol="o", symbolBrush=TEXT, symbolPen=None)
        box = self.plot.getPlotItem().getViewBox()
        box.sigResized.connect(self._place_labels)
        box.sigTransformChanged.connect(self._place_labels)  # a new range moves the lines: labels follow
        self.table = QTableWidget(0, 4, self)
        self.table.setHorizontalHeaderLabels(["rule", "lr", "loss", ""])
        self.table.horizontalHeaderItem(2).setToolTip("the smoothed loss at that lr")
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)  # Use never scrolls away
        self.table.verticalHeader().hide()
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        self.try_all_button = QPushButton("Try all", self)
        self.try_all_button.setToolTip("add one run per suggestion, and one at 10x the steepest (too high), "
                                       "to train side by side")
        self.try_all_button.clicked.connect(lambda: self.try_all())
        self.export_button = QPushButton("Export…", self)
        self.export_button.setToolTip("the curve as a picture (PNG or SVG)")
        self.export_button.clicked.connect(lambda: self.export())

        # "run [Adam] [exp]" and "lr from [1e-7] to [10] in [100] steps": read as a sentence, and
        # narrow enough for the side panel of a 1024-px projector at 2x
        self.run.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.run.setMinimumContentsLength(6)
        self.run.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        which = QHBoxLayout()
        which.addWidget(QLabel("run", self))
        which.addWidget(self.run, 1)
        which.addWidget(self.mode)
        sweep = QHBoxLayout()
        for label, widget in (("lr from", self.start_field), ("to", self.end_field), ("in", self.iters),
                              ("steps", None)):
            sweep.addWidget(QLabel(label, self))
            if widget is not None:
                sweep.addWidget(widget, 1)
        sweep.addStretch(0)
        buttons = QHBoxLayout()
        for button in (self.find_button, self.stop_button):
            buttons.addWidget(button)
        buttons.addStretch(1)
        for button in (self.try_all_button, self.export_button):
            buttons.addWidget(button)
        for button in (self.find_button, self.stop_button, self.try_all_button, self.export_button):
            button.setSizePolicy(QSizePolicy.Policy.Minimum, QSizePolicy.Policy.Fixed)  # words whole
        layout = QVBoxLayout(self)
        layout.addLayout(which)
        layout.addLayout(sweep)
        layout.addLayout(buttons)
        layout.addWidget(self.status)
        canvas = QVBoxLayout(self.canvas)
        canvas.setContentsMargins(4, 4, 4, 4)
        canvas.addWidget(self.caption)
        canvas.addWidget(self.plot, 1)
        # The plot and the suggestions share the height; the table asks for all its rows (see
        # _fit_table) and a presenter drags the line between them.
        self.splitter = stacked_splitter(self, self.canvas, self.table, (1, 0))
        layout.addWidget(self.splitter, 1)

        self.timer = QTimer(self, interval=REDRAW_MS)
        self.timer.timeout.connect(self.redraw)
        self.timer.start()
        client.received.connect(self._received)
        client.crashed.connect(lambda _: self._ended("The engine stopped: press Find again once it is back."))
        document.subscribe(self._document_changed)
        self._fill_runs()
        self._fit_fonts()
        self._update_buttons()

    # -- the run and the options ----------------------------------------------------------------
    def _document_changed(self, what: str) -> None:
        if what == "loaded":  # another experiment: the curve and its suggestions were of the last one
            self.forget("A new experiment is open: pick a run and press Find.")
        self._fill_runs()
        if self.result is not None and self.tested_index() is None:
            self.status.setText(f"The tested run {self.run_name!r} is no longer in the experiment: "
                                "press Find to test a run of it.")

    def forget(self, text: str) -> None:
        """Clear the curve and the suggestions (a running test is stopped and its rows ignored)."""
        if self.running:
            self.client.send("find_stop", self.request)
        self.request += 1
        self.running, self.result, self.run_name = False, None, ""
        self.chunks, self.rows, self.dirty = [], np.empty((0, 4)), True
        self.caption.clear()
        self.caption.hide()
        self.redraw()
        self._show_suggestions(())
        self.status.setText(text)

    def tested_index(self) -> int | None:
        """Where the tested run is in the document now (runs may have been added, removed or moved
        since the test), or None when it is gone."""
        names = self.document.run_names
        if not self.run_name:
            return None
        if self.run_index < len(names) and names[self.run_index] == self.run_name:
            return self.run_index
        return names.index(self.run_name) if self.run_name in names else None

    def _fill_runs(self) -> None:
        current = self.run.currentIndex()
        names = self.document.run_names
        if [self.run.itemText(i) for i in range(self.run.count())] != names:
            self.run.blockSignals(True)
            self.run.clear()
            self.run.addItems(names)
            self.run.setCurrentIndex(min(max(current, 0), len(names) - 1))
            self.run.blockSignals(False)
        self._update_buttons()

    def select_run(self, index: int) -> None:
        if 0 <= index < self.run.count():
            self.run.setCurrentIndex(index)

    def options(self) -> RangeTestOptions:
        """The fields as the engine's options; ExperimentError whose path is the field's label."""
        values = {}
        for key, field in (("start_lr", self.start_field), ("end_lr", self.end_field)):
            try:
                values[key] = float(field.text())
            except ValueError:
                raise ExperimentError(OPTION_FIELDS[key], f"expected a number such as 1e-7 or 0.01, "
                                                          f"got {field.text().strip()!r}") from None
        try:
            return RangeTestOptions(**values, num_iter=self.iters.value(), mode=self.mode.currentText())
        except ExperimentError as error:  # in the words of the fields: "end", not the engine's "end_lr"
            message = error.message
            for key, label in OPTION_FIELDS.items():
                message = message.replace(key, label)
            raise ExperimentError(OPTION_FIELDS.get(error.path, error.path), message) from None

    # -- the test ------------------------------------------------------------------------------------
    def find(self) -> bool:
        """Start a range test of the selected run (a newer one supersedes a running one)."""
        try:
            options = self.options()
        except ExperimentError as error:
            self.status.setText(f"Cannot find: {error}")
            return False
        index = self.run.currentIndex()
        self.request += 1
        if index < 0 or not self.client.send("find", self.request, self.document.raw, index, asdict(options)):
            self.status.setText("The engine is not ready yet." if index >= 0 else "There is no run to test.")
            return False
        self.run_index, self.run_name = index, self.run.currentText()
        self.chunks, self.rows, self.result = [], np.empty((0, 4)), None
        self._show_suggestions(())
        self.running, self.dirty = True, True
        sweep = (f"the lr of {self.run.currentText()!r} from {options.start_lr:g} to {options.end_lr:g} over "
                 f"{options.num_iter} steps ({options.mode})")
        self.caption.setText(f"Range test of {self.run_name!r}: lr {options.start_lr:g} to {options.end_lr:g}, "
                             f"{options.num_iter} steps, {options.mode}. Grey: each batch's loss; blue: smoothed.")
        self.caption.show()
        self.status.setText(f"Sweeping {sweep}…")
        self._update_buttons()
        return True

    def stop(self) -> None:
        if self.running:
            self.client.send("find_stop", self.request)

    def _received(self, kind: str, args: tuple) -> None:
        if kind == "ready":
            self._update_buttons()
        if not kind.startswith("find_") or args[0] != self.request:
            return  # another view's message, or an older test's
        if kind == "find_rows":
            self.chunks.append(args[1])
            self.dirty = True
        elif kind == "find_failed":
            path, message = args[1], args[2]
            self._ended(f"Cannot find: {path}: {message}" if path else f"Cannot find: {message}")
        elif kind == "find_done":
            self.result = args[1]
            self.chunks, self.dirty = [self.result.rows()], True
            self.redraw()
            self._show_suggestions(self.result.suggestions)
            # one short line for the back row (the whole reason in the tooltip and in the caption's)
            reason = self.result.stop_reason
            end = reason.split(": ")[0] if reason else "swept the whole range"
            answered = sum(s.answered for s in self.result.suggestions)
            then = ("Use one below, or Try all." if answered
                    else "No rule could suggest an lr: try a wider range or more steps.")
            if self.tested_index() is None:
                then = f"The tested run {self.run_name!r} is no longer in the experiment."
            self._ended(f"{len(self.result.lr)} steps, {end}. {then}")
            self.status.setToolTip(reason or "the lr reached the end of the range")

    def _ended(self, text: str) -> None:
        self.running = False
        self.status.setText(text)
        self.status.setToolTip("")
        self._update_buttons()

    def _update_buttons(self) -> None:
        ready = self.client.is_ready and self.run.count() > 0
        self.find_button.setEnabled(ready and not self.running)
        self.stop_button.setEnabled(self.running)
        # one of the two in the same place: Stop where Find was while the test runs (a second Find
        # cannot be pressed by mistake, and the row fits a narrow panel)
        self.find_button.setVisible(not self.running)
        self.stop_button.setVisible(self.running)
        answered = self.result is not None and any(s.answered for s in self.result.suggestions)
        usable = self.editable and self.tested_index() is not None
        self.try_all_button.setEnabled(answered and usable)
        why = ("" if self.editable else "\n(not while the experiment trains: Stop or Reset first)")
        self.try_all_button.setToolTip("add one run per suggestion, and one at 10x the steepest (too high), "
                                       "to train side by side" + why)
        self.export_button.setEnabled(len(self.rows) > 0 or bool(self.chunks))
        for row in range(self.table.rowCount()):
            button = self.table.cellWidget(row, 3)
            if button is not None:
                button.setEnabled(usable)

    def set_editable(self, editable: bool) -> None:
        """Use and Try all change the experiment: not while it trains (its form is locked then)."""
        self.editable = editable
        self._update_buttons()

    # -- drawing ---------------------------------------------------------------------------------------
    def redraw(self) -> None:
        if not self.dirty:
            return
        self.dirty = False
        if len(self.chunks) > 1 or (self.chunks and len(self.chunks[0]) != len(self.rows)):
            self.rows = np.vstack(self.chunks)
            self.chunks = [self.rows]
        finite = self.rows[np.isfinite(self.rows[:, 2]) & np.isfinite(self.rows[:, 3])]
        self.raw_curve.setData(finite[:, 1], finite[:, 2])
        self.smoothed_curve.setData(finite[:, 1], finite[:, 3])
        if len(finite):  # the smoothed curve fills the height: a raw spike at divergence does not flatten it
            low, high = float(finite[:, 3].min()), float(finite[:, 3].max())
            margin = 0.05 * (high - low) or 0.05 * abs(high) or 1.0
            self.plot.setYRange(low - margin, high + margin, padding=0)
        self._update_buttons()

    def _show_suggestions(self, suggestions) -> None:
        for line in self.lines:
            self.plot.removeItem(line)
        self.lines = []
        answered = [s for s in suggestions if s.answered]
        self.points.setData([s.lr for s in answered], [s.loss for s in answered])
        self.table.clearSpans()
        self.table.setRowCount(0)  # the last test's rows, buttons included
        self.table.setRowCount(len(suggestions))
        run = self.run_name or self.run.itemText(self.run_index)
        for row, s in enumerate(suggestions):
            rule = QTableWidgetItem(s.rule)
            rule.setData(Qt.ItemDataRole.DecorationRole, QColor(RULE_COLOURS.get(s.rule, TEXT)))  # its line's colour
            rule.setToolTip(s.note if s.answered else s.reason)
            self.table.setItem(row, 0, rule)
            if s.answered:
                for column, text in ((1, f"{s.lr:.4g}"), (2, f"{s.loss:.4g}")):
                    item = QTableWidgetItem(text)
                    item.setToolTip(s.note)
                    self.table.setItem(row, column, item)
                use = QPushButton("Use", self.table)
                use.setToolTip(f"train {run!r} at lr {s.lr:.4g} (sets it in Setup)")
                use.clicked.connect(lambda _=False, i=row: self.use(i))
                self.table.setCellWidget(row, 3, use)
            else:
                item = QTableWidgetItem(f"no suggestion: {s.reason}")
                item.setToolTip(s.reason)
                self.table.setItem(row, 1, item)
                self.table.setSpan(row, 1, 1, 3)
        # One line per suggestion, in its colour; suggestions at (nearly) the same lr share one label,
        # so no label hides another: "steepest, steep 0.0658".
        groups: list[list] = []
        for s in sorted(answered, key=lambda s: s.lr):
            if groups and abs(math.log10(s.lr) - math.log10(groups[-1][0].lr)) < SAME_LR_DECADES:
                groups[-1].append(s)
            else:
                groups.append([s])
        for group in groups:
            for i, s in enumerate(group):
                colour = RULE_COLOURS.get(s.rule, TEXT)
                text = f"{', '.join(g.rule for g in group)}: {group[0].lr:.3g}" if i == 0 else ""
                line = pg.InfiniteLine(pos=math.log10(s.lr), angle=90, movable=False,
                                       pen=pg.mkPen(colour, width=2, style=Qt.PenStyle.DashLine),
                                       label=text or None,
                                       labelOpts={"color": TEXT, "fill": (255, 255, 255, 225),
                                                  "border": pg.mkPen(RULE_COLOURS.get(group[0].rule, TEXT),
                                                                     width=2)})
                if text:
                    line.label.setFont(QFont(self.font()))
                line.rules = [g.rule for g in group] if i == 0 else []
                self.plot.addItem(line)
                self.lines.append(line)
        self._place_labels()
        self._fit_table()
        self._update_buttons()

    def labels(self) -> list:
        """The lines' labels, top to bottom (one per group of suggestions at the same lr)."""
        return [line.label for line in self.lines if getattr(line, "label", None) is not None]

    def shown_labels(self) -> list:
        return [label for label in self.labels() if label.isVisible()]

    def _place_labels(self, *_) -> None:
        """Stack the labels from the top of the plot, one text height apart, whatever the font or size."""
        box = self.plot.getPlotItem().getViewBox()
        height = box.height()
        if height <= 0:
            return
        area = box.sceneBoundingRect()
        for label in self.labels():  # the text beside its line on the side where it fits
            x = box.mapViewToScene(pg.Point(label.line.value(), 0)).x()
            width = label.boundingRect().width()
            side = 1 if x - width >= area.left() or x - area.left() > area.right() - x else 0
            label.anchors = [(side, 0.5), (side, 0.5)]
        y = 1.0  # a label's position is its middle's: the first one's top is LABEL_GAP below the plot's
        for label in self.labels():
            half = (label.boundingRect().height() / 2 + LABEL_GAP) / height
            y -= half
            # a label with no room left (a short plot at 2x) is left out rather than drawn over
            # another: the table's colour swatches still name its line
            label.setVisible(y >= half)
            label.setPosition(max(half, y))
            y -= half

    def _fit_table(self) -> None:
        """Rows as tall as their text (the Use buttons fit in them), and the table as tall as its rows."""
        rows = self.table.verticalHeader()
        rows.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        rows.setDefaultSectionSize(self.fontMetrics().height() + 8)
        for row in range(self.table.rowCount()):
            self.table.setRowHeight(row, rows.defaultSectionSize())
        count = max(self.table.rowCount(), 4)  # the rules' rows, before a test too
        wanted = (self.table.horizontalHeader().sizeHint().height() + count * rows.defaultSectionSize()
                  + 2 * self.table.frameWidth() + 2)
        self.table.setMinimumHeight(min(wanted, self.table.horizontalHeader().sizeHint().height()
                                        + 2 * rows.defaultSectionSize() + 2 * self.table.frameWidth()))
        self.table.setMaximumHeight(wanted)
        sizes = self.splitter.sizes()  # the table asks for all its rows; the plot takes the rest
        if sizes[1] != wanted and sum(sizes) > wanted:
            self.splitter.setSizes([sum(sizes) - wanted, wanted])

    def _fit_fonts(self) -> None:
        """Tick labels and lines as large as the window's text (presentation mode enlarges both)."""
        font = QFont(self.font())
        points = font.pointSizeF() if font.pointSizeF() > 0 else 10.0
        scale = points / 10.0
        style = {"color": TEXT, "font-size": f"{points:.1f}pt"}
        for side, label in (("bottom", "lr (log scale)"), ("left", "loss")):
            axis = self.plot.getAxis(side)
            axis.setTickFont(font)
            axis.setTextPen(pg.mkPen(TEXT))
            axis.setLabel(label, **style)
        for label in self.labels():
            label.setFont(font)
        self.smoothed_curve.setPen(pg.mkPen(SMOOTHED_COLOUR, width=2.5 * scale))
        self.points.setSymbolSize(9 * scale)
        # room for the axes and a few stacked labels at any text size (the window still fits 768 px at 2x)
        self.plot.setMinimumHeight(5 * self.fontMetrics().lineSpacing())
        for field in (self.start_field, self.end_field):  # "1e-7" is read whole, not scrolled to "e-7"
            field.setMinimumWidth(self.fontMetrics().horizontalAdvance(FIELD_TEXT) + 12)
        self._fit_table()
        self._place_labels()

    def changeEvent(self, event) -> None:  # noqa: N802 - Qt's name
        super().changeEvent(event)
        if event.type() == QEvent.Type.FontChange:
            self._fit_fonts()

    # -- using the suggestions -----------------------------------------------------------------------
    def _targets(self):
        runs = self.document.raw.get("runs") or []
        run = runs[self.run_index] if self.run_index < len(runs) and isinstance(runs[self.run_index], dict) else {}
        return lr_targets(run)

    def ask_target(self, targets):
        """Which option to set when the run's scheduler has more than one lr (CyclicLR's bounds)."""
        labels = [t.label for t in targets]
        label, ok = QInputDialog.getItem(self, "Use the lr for", "The scheduler has more than one lr option; set:",
                                         labels, len(labels) - 1, False)
        return targets[labels.index(label)] if ok else None

    def _target(self):
        targets = self._targets()
        return targets[0] if len(targets) == 1 else self.ask_target(targets)

    def use(self, row: int) -> bool:
        """Set the tested run's lr to suggestion ``row``'s in the document."""
        s = self.result.suggestions[row] if self.result is not None else None
        index = self.tested_index()
        if s is None or not s.answered or not self.editable or index is None:
            return False
        self.run_index = index
        target = self._target()
        if target is None:
            return False
        self.document.edit(with_lr(self.document.raw, index, s.lr, self.result.reference_group, target))
        self.status.setText(f"{target.label} of {self.run_name!r} is now {s.lr:.4g} ({s.rule}): "
                            "press Start to train it.")
        self.experiment_changed.emit()
        return True

    def try_all(self) -> bool:
        """Add one run per suggestion (and one at 10x the steepest) to the document."""
        index = self.tested_index()
        if self.result is None or not self.editable or index is None:
            return False
        self.run_index = index
        target = self._target()
        if target is None:
            return False
        before = len(self.document.run_names)
        self.document.edit(with_trial_runs(self.document.raw, index, self.result.suggestions,
                                           self.result.reference_group, target))
        self.status.setText(f"Added {len(self.document.run_names) - before} runs: press Start to train them "
                            "side by side.")
        self.experiment_changed.emit()
        return True

    # -- export ------------------------------------------------------------------------------------------
    def export(self, path: str | None = None, scale: float | None = None) -> bool:
        """The plot as PNG (``scale`` x its pixels) or SVG; without ``path``, Export plot's dialog asks."""
        if path is None:
            from .export_dialog import ExportDialog

            dialog = ExportDialog(self, str(Path.home() / "find-lr.png"), self.canvas.size())
            if not dialog.exec():
                return False
            path, scale = dialog.path(), dialog.scale()
        return export_widget(self.canvas, path, scale or 2.0)


class _FormsFollow(QObject):
    """Keeps a main window's forms showing the document after Use or Try all changed it."""

    def __init__(self, window, view: FinderView):
        super().__init__(window)
        self.window = window
        view.experiment_changed.connect(self.show_document)

    def show_document(self) -> None:
        w = self.window
        current = w.setup.current
        w.setup.set_value(w.document.raw)
        w.setup.select_run(current)
        w.validate()


class _TabsFit(QObject):
    """Keeps the side panel at least as wide as its row of tabs, at any text size (at 2x, six tabs
    need more than the panel's share of a 1024-px window). A stopgap: the side panel's own job
    (gui/side_panel.py), done here because this tab's width used to do it by accident."""

    def __init__(self, window, view: QWidget, title: str):
        super().__init__(window)
        self.window, self.view, self.title = window, view, title
        self.timer = QTimer(self, singleShot=True, interval=0)
        self.timer.timeout.connect(self.fit)
        view.installEventFilter(self)
        self.timer.start()

    def eventFilter(self, watched, event) -> bool:  # noqa: N802 - Qt's name
        if event.type() in (QEvent.Type.FontChange, QEvent.Type.Show):
            self.timer.start()
        return False

    def fit(self) -> None:
        from PySide6.QtWidgets import QTabBar

        for bar in self.window.findChildren(QTabBar):
            if any(bar.tabText(i) == self.title for i in range(bar.count())):
                need = sum(bar.tabSizeHint(i).width() for i in range(bar.count()))
                self.view.setMinimumWidth(need)
                return


def install_finder(window) -> FinderView:
    """Add the Find lr tab to ``window``'s side panel (after its other tabs), following its document,
    its selected run and whether it trains. Returns the view (``window.finder``)."""
    from engine.status import SessionState

    view = FinderView(window.controller.client, window.document)
    dock = window.side.add_tab("Find lr", view)
    window.finder, window.finder_dock = view, dock
    view.forms = _FormsFollow(window, view)
    view.tabs_fit = _TabsFit(window, view, "Find lr")
    window.setup.run_selected.connect(view.select_run)
    window.controller.state_changed.connect(
        lambda state: view.set_editable(state not in (SessionState.RUNNING, SessionState.PAUSED)))
    return view
