"""The live plots: lr per group per run (with the predicted curve faintly beside it), loss,
momentum where a scheduler cycles it, and the difference between two compared runs.

Data arrive as :class:`RunResults` (views of the GUI's incremental copies) and
predictions; nothing here runs per training step: the window redraws on a timer.
A live curve gets about two points per pixel column (:mod:`gui.decimate`: peak mode, so spikes
stay visible, computed from the rows new since the last frame), so a frame of a million-step run
costs what its newest rows and the plot's width cost; a predicted curve, set once per prediction,
is downsampled and clipped by pyqtgraph.

What a room must be able to read is decided here too: an lr is drawn as the staircase it is
(constant until the step that changes it), every run carries a marker shape of its own placed
at offsets no other run uses (two runs that coincide to the bit still show both), text is dark
on white, and the legend, the comparison's verdict and the hover readout are published as text
for widgets *outside* the plots (:mod:`gui.plot_area`), so none of them covers a curve or
moves a plot.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QFont
from PySide6.QtWidgets import QGraphicsItem
from shiboken6 import isValid

from engine.preview import Prediction
from engine.recorder import GrowingTable, RunResults

from .decimate import Changes, Difference, Peaks, differs
from .plot_style import (
    BACKGROUND,
    GRID_ALPHA,
    PALETTE,
    SYMBOL_GLYPHS,
    TEXT,
    line_width,
    run_colour,
    run_symbol,
    swatch_html,
)

__all__ = ["PlotPanel", "PALETTE", "ema", "first_difference", "StickyRange"]

GROUP_STYLES = [Qt.PenStyle.SolidLine, Qt.PenStyle.DashLine, Qt.PenStyle.DotLine, Qt.PenStyle.DashDotLine]
GROUP_WORDS = ["solid", "dashed", "dotted", "dash-dot"]
EVENT_SYMBOLS = {"manual_decay": "t", "edit": "d", "add_group": "+", "plateau": "s", "diverged": "x",
                 "error": "x", "rejected": "o", "stopped": "o", "note": "o"}
SHOWN_EVENTS = set(EVENT_SYMBOLS)
EVENT_SIZE = 10
STAIRS_COPY_LIMIT = 20_000  # beyond this many points the last step is not drawn wider (see _stairs)
DIFF_LOSS, DIFF_LR = "#333333", PALETTE[1]
NO_SI_PREFIX = ((0.0, 0.0),)  # pyqtgraph scales an axis by an SI prefix only inside these ranges
MARKS_PER_CURVE = 8   # run markers along each curve (their offsets differ per run)
BASE_POINT_SIZE = 10.0


def ema(values: np.ndarray, alpha: float) -> np.ndarray:
    """Exponential moving average (``alpha`` = weight of the newest value); NaN-free input assumed."""
    if alpha >= 1 or len(values) == 0:
        return values
    out = itertools.accumulate(values.tolist(), lambda s, v: s + alpha * (v - s))
    return np.fromiter(out, dtype=float, count=len(values))


def first_difference(a: RunResults, b: RunResults) -> int | None:
    """The first row (optimizer step) where the two runs' loss or any shared group's lr differs."""
    n = min(len(a.step), len(b.step))
    if n == 0:
        return None
    groups = min(a.step_lr.shape[1], b.step_lr.shape[1])
    bad = differs(a.step_loss[:n], b.step_loss[:n])
    if groups:
        bad |= differs(a.step_lr[:n, :groups], b.step_lr[:n, :groups]).any(axis=1)
    if a.step_lr.shape[1] != b.step_lr.shape[1]:
        # one run has a group the other lacks: they differ where that group exists
        wider = a if a.step_lr.shape[1] > b.step_lr.shape[1] else b
        bad |= np.isfinite(wider.step_lr[:n, groups:]).any(axis=1)
    hits = np.flatnonzero(bad)
    return int(hits[0]) if len(hits) else None


def _rows(r: RunResults, start: int) -> RunResults:
    """The per-step rows of ``r`` from ``start`` on (what :func:`first_difference` reads)."""
    return RunResults(r.name, r.step[start:], r.step_epoch[start:], r.step_loss[start:], r.step_lr[start:],
                      r.step_momentum[start:], r.epoch, r.train_loss, r.val_loss, r.epoch_lr, r.events)


def _clear(curve) -> None:
    """Empty a curve unless it already is (clearing costs a bounds update and a repaint)."""
    if curve.xData is not None:
        curve.clear()
    curve.placed = None


def _curve(plot, color: str, *, style=Qt.PenStyle.SolidLine, width: float = 2, alpha: int = 255, step=False,
           live=True):
    """A curve; ``live``: it grows while a run trains and is handed decimated points
    (:meth:`PlotPanel._put`), otherwise (a prediction) pyqtgraph downsamples and clips it."""
    pen = pg.mkPen(pg.mkColor(color), width=width, style=style)
    pen.setColor(pg.mkColor(*pg.mkColor(color).getRgb()[:3], alpha))
    item = pg.PlotDataItem(pen=pen, connect="finite", stepMode="right" if step else None)
    # About two samples per pixel (peak mode draws each bucket's min and max, so spikes stay):
    # pyqtgraph's default of five draws more than the eye can see, and drawing is the cost.
    item.opts["autoDownsampleFactor"] = 2.0
    plot.addItem(item)  # PlotItem.addItem applies the plot's downsampling and clip-to-view to the item
    if live:
        item.setDownsampling(ds=1, auto=False)
        item.setClipToView(False)
        item.peaks, item.changes = Peaks(), Changes()
    return item


def _marks(plot, index: int, size: float):
    """The markers that say which run a curve is (drawn above every line)."""
    item = pg.PlotDataItem(pen=None, symbol=run_symbol(index), symbolSize=size,
                           symbolBrush=pg.mkBrush(run_colour(index)), symbolPen=pg.mkPen("w", width=1))
    item.setZValue(20)
    # They sit on curves that already set the range; as symbols sized in pixels their bounds
    # depend on the range itself, and counting them made auto-range oscillate frame after frame.
    plot.addItem(item, ignoreBounds=True)
    return item


def _floats(values: np.ndarray) -> np.ndarray:
    """``values`` as floats for a curve (a copy only when they are not)."""
    return values if values.dtype == np.float64 else values.astype(float)


def _stairs(x: np.ndarray, y: np.ndarray, width: float) -> tuple[np.ndarray, np.ndarray]:
    """Points for ``stepMode="right"``: y[i] holds from x[i] to x[i+1]; the last holds ``width`` more.

    A staircase needs only the points where it changes (StepLR over 8,000 steps has 60): fewer
    points to draw at every frame, and the same picture. A curve that changes at nearly every
    point (OneCycleLR per step) is drawn as it is, and past a size its last step is not widened
    (one step among tens of thousands is below a pixel; copying them each frame is not).
    """
    if len(x) > 2:
        changes = np.flatnonzero(y[1:] != y[:-1]) + 1
        if len(changes) < len(x) // 2:
            keep = np.concatenate([[0], changes])
            return np.append(x[keep], x[-1] + width), np.append(y[keep], y[-1])
    if not len(x) or len(x) > STAIRS_COPY_LIMIT:
        return x, y
    return np.append(x, x[-1] + width), np.concatenate([y, y[-1:]])


class SparseLogAxis(pg.AxisItem):
    """On a log axis, label only 1, 2 and 5 times a power of ten: the minor ticks of a decade
    (0.06, 0.07, 0.08, ...) crowd into each other near its top."""

    def logTickStrings(self, values, scale, spacing):
        strings = super().logTickStrings(values, scale, spacing)
        keep = []
        for value, text in zip(values, strings):
            mantissa = round(10 ** (value - math.floor(value + 1e-9)), 6)
            keep.append(text if mantissa in (1.0, 2.0, 5.0) else "")
        return keep


class StickyRange:
    """A y range that moves in coarse steps instead of every frame, and keeps lines off the frame.

    Re-fitting the range at every frame re-renders the axis text each time (a few ms with the
    GIL held) and makes the plot jitter. The range is the data's, widened by a margin (so a
    flat line, or the 0.1 an lr schedule starts at, never lies on the frame) and then snapped
    outwards to a grid. A person who pans or zooms takes over; the plot's "A" (auto-range)
    button hands the range back.
    """

    def __init__(self, plot):
        self.plot = plot
        self.view = plot.getViewBox()
        self.managed = True
        self.current: tuple[float, float] | None = None
        self.view.disableAutoRange(axis=pg.ViewBox.YAxis)
        self.view.sigRangeChangedManually.connect(self._taken_over)

    def _taken_over(self, *_) -> None:
        self.managed = False

    @staticmethod
    def bounds(lo: float, hi: float, log: bool) -> tuple[float, float]:
        """The range shown for data from ``lo`` to ``hi`` (log10 units when ``log``)."""
        # The margin leaves room for the label of a tick at the data's edge (0.1, where most lr
        # schedules start): pyqtgraph drops a tick label that would stick out of its axis.
        if log:
            span = hi - lo
            step = 0.25 if span < 2 else 0.5
            margin = max(0.07 * span, 0.05)
        elif hi == lo:  # a flat line (an identical difference): a readable range around it
            margin = abs(lo) * 0.1 or 1.0
            step = 10 ** math.floor(math.log10(2 * margin)) / 5
        else:
            span = max(hi - lo, abs(hi) * 1e-3)
            step = 10 ** math.floor(math.log10(span)) / 5
            margin = 0.08 * span
        low, high = math.floor((lo - margin) / step) * step, math.ceil((hi + margin) / step) * step
        if not log and lo >= 0 and low < 0 <= lo - 0.25 * (hi - lo + margin):
            low = 0.0
        return low, high

    def update(self, curves, log: bool) -> None:
        if not self.managed:
            if not self.view.autoRangeEnabled()[1]:
                return
            self.managed, self.current = True, None  # "A" pressed: ours again
            self.view.disableAutoRange(axis=pg.ViewBox.YAxis)
        spans = [span for span in map(lambda curve: self._span(curve, log), curves) if span is not None]
        if not spans:
            return
        lo, hi = min(a for a, _ in spans), max(b for _, b in spans)
        if log:
            lo, hi = math.log10(lo), math.log10(hi)
        bounds = self.bounds(lo, hi, log)
        if bounds != self.current:
            self.current = bounds
            self.view.setYRange(*bounds, padding=0)

    @staticmethod
    def _span(curve, log: bool) -> tuple[float, float] | None:
        """The curve's finite y extent (positive values only on a log axis). pyqtgraph keeps the
        data's bounds once per setData; a look at every value each frame is only needed when a
        log axis meets a zero or negative lr."""
        if curve.yData is None or not len(curve.yData):
            return None
        rect = curve.dataRect()
        lo, hi = (rect.top(), rect.bottom()) if rect is not None else (math.nan, math.nan)
        if not (math.isfinite(lo) and math.isfinite(hi)):
            return None
        if log and lo <= 0:
            y = curve.yData
            positive = y[np.isfinite(y) & (y > 0)]
            if not len(positive):
                return None
            lo, hi = float(positive.min()), float(positive.max())
        return float(lo), float(hi)


class _RunItems:
    """The plot items of one run."""

    def __init__(self, panel: "PlotPanel", index: int, name: str):
        self.color = run_colour(index)
        self.panel, self.index, self.name = panel, index, name
        self.lr: list[pg.PlotDataItem] = []
        self.predicted: list[pg.PlotDataItem] = []
        self.momentum: list[pg.PlotDataItem] = []
        width = line_width(panel.scale)
        self.train = _curve(panel.loss_plot, self.color, width=width)
        self.val = _curve(panel.loss_plot, self.color, style=Qt.PenStyle.DashLine, width=width)
        self.lr_marks = _marks(panel.lr_plot, index, panel.mark_size)
        self.loss_marks = _marks(panel.loss_plot, index, panel.mark_size)
        self.events = pg.ScatterPlotItem(size=EVENT_SIZE * panel.scale, pen=pg.mkPen(TEXT, width=1),
                                         brush=pg.mkBrush(self.color), hoverable=True, tip=lambda x, y, data: data)
        self.events.setZValue(30)
        panel.lr_plot.addItem(self.events, ignoreBounds=True)  # on the lr curve: see _marks
        self.events_drawn = 0

    def ensure_groups(self, n: int) -> bool:
        """Curves for ``n`` groups; True when some were added."""
        grew = len(self.lr) < n
        width = line_width(self.panel.scale)
        while len(self.lr) < n:
            g = len(self.lr)
            style = GROUP_STYLES[g % len(GROUP_STYLES)]
            self.lr.append(_curve(self.panel.lr_plot, self.color, style=style, width=width, step=True))
            predicted = _curve(self.panel.lr_plot, self.color, style=style, width=3 * width, alpha=55, step=True,
                               live=False)
            predicted.setZValue(-5)
            # It changes only when the experiment does: keep it as a pixmap instead of
            # re-rasterising a thick line of every step at every frame.
            predicted.curve.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
            self.predicted.append(predicted)
            self.momentum.append(_curve(self.panel.momentum_plot, self.color, style=style, width=width))
        return grew

    def items(self):
        return [(self.panel.lr_plot, item) for item in (*self.lr, *self.predicted, self.events, self.lr_marks)] + \
            [(self.panel.loss_plot, item) for item in (self.train, self.val, self.loss_marks)] + \
            [(self.panel.momentum_plot, item) for item in self.momentum]

    def remove(self) -> None:
        for plot, item in self.items():
            plot.removeItem(item)


class PlotPanel(pg.GraphicsLayoutWidget):
    """The plots. ``legend_changed``, ``verdict_changed`` and ``readout_changed`` publish what the
    widgets around the plots show (see :class:`gui.plot_area.PlotArea`)."""

    legend_changed = Signal(str)
    verdict_changed = Signal(str, str)   # text, kind: "same", "different", "waiting" or "" (no comparison)
    readout_changed = Signal(str)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setBackground(BACKGROUND)
        pg.setConfigOptions(antialias=False)
        self.scale = 1.0
        self.mark_size = 9.0
        self.lr_plot = self.addPlot(row=0, col=0, axisItems={"left": SparseLogAxis("left")})
        self.loss_plot = self.addPlot(row=1, col=0, axisItems={"left": SparseLogAxis("left")})
        self.momentum_plot = self.addPlot(row=2, col=0)
        self.diff_plot = self.addPlot(row=3, col=0)
        self.plots = (self.lr_plot, self.loss_plot, self.momentum_plot, self.diff_plot)
        self.titles = {self.lr_plot: "learning rate  (faint, wide: predicted)",
                       self.loss_plot: "loss  (solid: train, dashed: validation)",
                       self.momentum_plot: "momentum / beta1", self.diff_plot: "difference"}
        self.y_labels = {self.lr_plot: "lr", self.loss_plot: "loss", self.momentum_plot: "momentum",
                         self.diff_plot: "difference"}
        for plot in self.plots:
            plot.showGrid(x=True, y=True, alpha=GRID_ALPHA)
            plot.getAxis("left").setStyle(maxTextLevel=1)  # no crowded minor labels on log axes
            # Draw at most a few points per pixel ("peak" keeps the spikes a learner must see),
            # and only what is in view: a million points stay smooth.
            plot.setDownsampling(auto=True, mode="peak")
            plot.setClipToView(True)
            if plot is not self.lr_plot:
                plot.setXLink(self.lr_plot)
        self.diff_loss = _curve(self.diff_plot, DIFF_LOSS)
        self.diff_lr = _curve(self.diff_plot, DIFF_LR, style=Qt.PenStyle.DashLine, step=True)
        self.zero_line = pg.InfiniteLine(pos=0, angle=0, pen=pg.mkPen("#888888", width=1))
        self.diff_plot.addItem(self.zero_line)
        # Text is the costly part of a repaint (~5 ms per axis, replayed every frame, with the
        # GIL held, so training waits), and an axis also draws its grid. Cache axes and titles as
        # pixmaps: they are redrawn only when their range, text or size changes.
        for plot in self.plots:
            for item in (*(plot.getAxis(side) for side in ("left", "bottom", "top", "right")), plot.titleLabel):
                item.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
        self.sticky = {plot: StickyRange(plot) for plot in self.plots}
        # The x range is the experiment's length, set once (not auto-ranged at every frame: with
        # clip-to-view and downsampling, linked plots' auto-ranges chased each other forever).
        for plot in self.plots:
            plot.getViewBox().disableAutoRange(axis=pg.ViewBox.XAxis)
        self._x_shown: float | None = None
        self._x_taken = False
        self.lr_plot.getViewBox().sigRangeChangedManually.connect(self._x_taken_over)
        self.runs: list[_RunItems] = []
        self.results: list[RunResults | None] = []
        self.predictions: list[Prediction | None] = []
        self.x_mode = "epoch"
        self.log_lr = False
        self.log_loss = True
        self.smoothing = 0.0
        self.compare: tuple[int, int] | None = None
        self.steps_per_epoch = 1
        self.epochs: int | None = None
        self.loss_plot.setLogMode(y=True)
        self._ema_cache: dict = {}
        # What the decimation caches of live curves are keyed by (gui/decimate.py): a new
        # generation whenever the rows a curve was given may have changed (new runs, a new
        # session, other options); a new serial with each prediction.
        self.generation = 0
        self.prediction_serial = 0
        self._momentum_seen: dict = {}
        self._redraw_pending = False
        self.lr_plot.getViewBox().sigXRangeChanged.connect(self._x_moved)
        self._compared: tuple[int, int | None] = (0, None)
        self._compared_key = None
        self.legend_html = ""
        self.verdict = ("", "")
        self.readout = ""
        self.mouse_x = 0.0   # where the mouse is, in pixels (the readout box keeps away from it)
        self._last_hover: float | None = None
        self.cursors = {}
        for plot in self.plots:
            cursor = pg.InfiniteLine(angle=90, movable=False, pen=pg.mkPen("#666666", width=1,
                                                                           style=Qt.PenStyle.DashLine))
            cursor.setZValue(40)
            cursor.hide()
            plot.addItem(cursor, ignoreBounds=True)
            self.cursors[plot] = cursor
        self._mouse = pg.SignalProxy(self.scene().sigMouseMoved, rateLimit=30, slot=self._hover)
        self.shown = set(self.plots)
        self._show(self.momentum_plot, 2, False)
        self._show(self.diff_plot, 3, False)
        self.set_scale(1.0)

    # -- how it looks ---------------------------------------------------------------------------
    def set_scale(self, scale: float) -> None:
        """Text, lines and markers ``scale`` times their normal size (presentation mode)."""
        self.scale = scale
        self.mark_size = 9.0 * scale
        points = BASE_POINT_SIZE * scale
        tick_font = QFont()
        tick_font.setPointSizeF(points)
        label_style = {"color": TEXT, "font-size": f"{points:.1f}pt"}
        for plot in self.plots:
            for side in ("left", "bottom"):
                axis = plot.getAxis(side)
                axis.setTickFont(tick_font)
                axis.setTextPen(pg.mkPen(TEXT))
                axis.setPen(pg.mkPen("#555555"))
                axis.setStyle(tickTextOffset=int(4 * scale))
            plot.getAxis("left").setWidth(int(62 * scale))
            # No SI prefixes ("lr (x0.001)" over 20..100 misleads a class): the numbers as they are.
            plot.getAxis("left").setLabel(self.y_labels[plot], siPrefixEnableRanges=NO_SI_PREFIX, **label_style)
            plot.getAxis("left").enableAutoSIPrefix(False)
            plot.getAxis("bottom").setLabel(self._x_unit(), siPrefixEnableRanges=NO_SI_PREFIX, **label_style)
            plot.getAxis("bottom").enableAutoSIPrefix(False)
            title_height = int(2.1 * points + 2)
            plot.titleLabel.setMaximumHeight(title_height)
            plot.layout.setRowFixedHeight(0, title_height)
            # the current title (the difference's names the runs), at the new size
            plot.setTitle(plot.titleLabel.text or self.titles[plot], color=TEXT, size=f"{points:.1f}pt")
        self._arrange_x_axes()
        width = line_width(scale)
        for items in self.runs:
            for curve in (*items.lr, *items.momentum, items.train, items.val):
                pen = curve.opts["pen"]
                pen.setWidthF(width)
                curve.setPen(pen)
            for curve in items.predicted:
                pen = curve.opts["pen"]
                pen.setWidthF(3 * width)
                curve.setPen(pen)
            for marks in (items.lr_marks, items.loss_marks):
                marks.setSymbolSize(self.mark_size)
            items.events.setSize(EVENT_SIZE * scale)
        for curve in (self.diff_loss, self.diff_lr):
            pen = curve.opts["pen"]
            pen.setWidthF(width)
            curve.setPen(pen)

    def _x_unit(self) -> str:
        return "step" if self.x_mode == "step" else "epoch"

    def text_items(self):
        """Every text item drawn inside the plots, with its colour (for the contrast test)."""
        for plot in self.shown:
            for side in ("left", "bottom"):
                axis = plot.getAxis(side)
                yield f"{plot.titleLabel.text} {side} ticks", axis.textPen().color().name()
                yield f"{plot.titleLabel.text} {side} label", axis.labelStyle.get("color", "#000000")
            yield f"{plot.titleLabel.text} title", plot.titleLabel.opts.get("color", "#000000")

    # -- what to show -------------------------------------------------------------------------
    def set_runs(self, names: list[str], steps_per_epoch: int, epochs: int | None = None) -> None:
        """Start over with these runs (new experiment, reset): nothing of the previous ones stays."""
        for items in self.runs:
            items.remove()
        self.runs = [_RunItems(self, i, name) for i, name in enumerate(names)]
        self.results = [None] * len(names)
        self.predictions = [None] * len(names)
        self.steps_per_epoch = max(1, steps_per_epoch)
        self.epochs = epochs
        self._x_shown = None
        self._compared, self._compared_key = (0, None), None
        self.new_session()
        if self.compare and max(self.compare) >= len(names):
            self.compare = None
        self.end_hover()
        self.redraw()

    def set_extent(self, steps_per_epoch: int, epochs: int | None) -> None:
        """The same runs over another length (an edit of epochs or of the data): the curves stay
        (rebuilding them costs about 25 ms a run), the x range follows."""
        self.steps_per_epoch, self.epochs, self._x_shown = max(1, steps_per_epoch), epochs, None
        self.generation += 1
        self.redraw()

    def new_session(self) -> None:
        """The results that come next are another session's (Start, a training state loaded):
        nothing summarised from the rows before is reused."""
        self.generation += 1
        self._ema_cache.clear()
        self._momentum_seen.clear()

    def set_predictions(self, predictions: list[Prediction | None]) -> None:
        self.predictions = list(predictions)
        self.prediction_serial += 1
        self.redraw()

    def set_results(self, results: list[RunResults | None], part: str | None = None) -> None:
        """New results; ``part`` "lr" or "loss" redraws only those plots (see :meth:`redraw`)."""
        self.results = list(results)
        self.redraw(predictions=False, part=part)
        if self._last_hover is not None:
            self._set_readout(self.readout_text(self._last_hover))

    def set_options(self, **options) -> None:
        for key, value in options.items():
            setattr(self, key, value)
        self.lr_plot.setLogMode(y=self.log_lr)
        self.loss_plot.setLogMode(y=self.log_loss)
        for plot in self.plots:  # setLogMode turns auto-range back on
            plot.getViewBox().disableAutoRange(axis=pg.ViewBox.XAxis)
        self._x_shown = None
        label_style = {"color": TEXT, "font-size": f"{BASE_POINT_SIZE * self.scale:.1f}pt"}
        for plot in self.plots:
            plot.getAxis("bottom").setLabel(self._x_unit(), siPrefixEnableRanges=NO_SI_PREFIX, **label_style)
        self._arrange_x_axes()  # setLabel shows every label again
        self.new_session()
        for sticky in self.sticky.values():
            sticky.current = None
        self.redraw()

    # -- drawing --------------------------------------------------------------------------------
    def _rows_in_view(self, x0: float, dx: float, n: int) -> tuple[float, float, float]:
        """The rows (fractional) of a column whose row i is at ``x0 + i * dx`` that the plots
        show, and the plots' width in pixels."""
        view = self.lr_plot.getViewBox()
        if self._x_taken:  # a person zoomed or panned
            lo, hi = view.viewRange()[0]
        else:  # the range _fit_x gives (the view may not have it yet): the experiment's length
            extent = self._x_extent()
            lo, hi = 0.0, extent if extent is not None else x0 + max(n - 1, 1) * dx
        return (lo - x0) / dx, (hi - x0) / dx, max(view.width(), 200.0)

    def _put(self, curve, key, y: np.ndarray, x0: float = 0.0, dx: float = 1.0) -> None:
        """Hand ``curve`` the points of column ``y`` (row i at ``x0 + i * dx``) that the plots can
        show: its peaks (gui/decimate.py); ``key`` says what ``y`` is (see :attr:`generation`)."""
        rows, values = curve.peaks.points((self.generation, *key), y, *self._rows_in_view(x0, dx, len(y)))
        if not len(rows):
            _clear(curve)
            return
        curve.opts["stepMode"] = None
        curve.setData(x0 + rows * dx, values)

    def _put_stairs(self, curve, key, y: np.ndarray, x0: float = 0.0, dx: float = 1.0) -> None:
        """An lr: the staircase of its changes (each value holds until the next change, the last
        one step more), or its peaks when it changes at more rows than the plot has pixels."""
        if not len(y):
            _clear(curve)
            return
        rows = curve.changes.update((self.generation, *key), y)
        if rows is None or len(rows) > 2 * self._rows_in_view(x0, dx, len(y))[2]:
            self._put(curve, key, y, x0, dx)
            return
        curve.opts["stepMode"] = "right"
        curve.setData(np.append(x0 + rows * dx, x0 + len(y) * dx), np.append(y[rows], y[-1]))

    def _x_moved(self, *_) -> None:
        """A person zoomed or panned: the live curves' points are those of the new range."""
        if self._x_taken and not self._redraw_pending:
            self._redraw_pending = True
            QTimer.singleShot(0, self, self._redraw_moved)

    def _redraw_moved(self) -> None:
        self._redraw_pending = False
        if isValid(self.lr_plot.getViewBox()):  # (a window closing deletes the plots first)
            self.redraw(predictions=False)

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt's name
        super().resizeEvent(event)
        if any(r is not None for r in getattr(self, "results", ())) and not self._redraw_pending:
            self._redraw_pending = True  # more pixels, more points (or fewer)
            QTimer.singleShot(0, self, self._redraw_moved)

    def _lr_series(self, r) -> tuple[np.ndarray, np.ndarray]:
        if self.x_mode == "step":
            return r.step, r.step_lr
        return r.epoch, r.epoch_lr

    def _x_extent(self) -> float | None:
        if self.epochs is None:
            return None
        return float(self.epochs * (self.steps_per_epoch if self.x_mode == "step" else 1))

    def _smoothed(self, key, values: np.ndarray) -> np.ndarray:
        if not self.smoothing or len(values) == 0:
            return values
        alpha = 1.0 - self.smoothing
        done, table = self._ema_cache.get(key, (0, None))
        if table is None or done > len(values):
            done, table = 0, GrowingTable(1)
        if done < len(values):
            # only the new rows are smoothed and appended (a copy of the whole curve per frame
            # would cost a million-step run 8 MB of garbage a frame)
            head = values[done:] if done == 0 else np.concatenate([table.view(done)[-1], values[done:]])
            tail = ema(head, alpha)
            table.extend(done, (tail if done == 0 else tail[1:]).reshape(-1, 1))
            self._ema_cache[key] = (len(values), table)
        return table.view(len(values))[:, 0]

    def redraw(self, *, predictions: bool = True, part: str | None = None) -> None:
        """Hand the curves their data; ``predictions=False`` when only training results are new.

        ``part`` "lr" (lr, its prediction, events and momentum) or "loss" (loss and difference)
        redraws half the plots: while training, the two halves take turns (gui/live_view.py),
        so that one frame's work, and with it the wait of a click or a key, is half as long.
        """
        lr_part, loss_part = part in (None, "lr"), part in (None, "loss")
        cycled = False
        for i, items in enumerate(self.runs):
            r = self.results[i] if i < len(self.results) else None
            p = self.predictions[i] if i < len(self.predictions) else None
            groups = max(r.step_lr.shape[1] if r is not None else 0,
                         p.results.step_lr.shape[1] if p is not None else 0, 1)
            grew = items.ensure_groups(groups)
            if lr_part and (predictions or grew):
                self._draw_prediction(items, p)
            source = r if r is not None and len(r.step) else None
            if source is None:
                for curve in (*items.lr, items.train, items.val):
                    _clear(curve)
                if items.events_drawn:
                    items.events.clear()
                    items.events_drawn = 0
            if source is not None and lr_part:
                step = self.x_mode == "step"
                lrs, x0 = (source.step_lr, 0.0) if step else (source.epoch_lr, _first(source.epoch))
                for g, curve in enumerate(items.lr):
                    if g < lrs.shape[1]:
                        self._put_stairs(curve, ("lr", self.x_mode, g), lrs[:, g], x0)
                    else:
                        _clear(curve)
                if predictions or len(source.events) != items.events_drawn:
                    self._draw_events(items, source)
            if source is not None and loss_part:
                self._draw_loss(i, items, source)
            self._place_marks(items, lr_part, loss_part)
            if lr_part:
                cycled |= self._draw_momentum(i, items, source, p)
        if lr_part:
            self._show(self.momentum_plot, 2, cycled)
        if loss_part:
            self._draw_difference()
        self._fit_x()
        self._fit_ranges(lr_part, loss_part)
        self._publish_legend()

    def _place_marks(self, items: _RunItems, lr: bool = True, loss: bool = True) -> None:
        """Markers at x positions of this run's own (offset by run), on its lr (group 0) and loss curves.

        The positions depend on the experiment's length only, so they do not crawl while the
        run trains; a run drawn exactly over another still shows the other's markers.
        """
        n = max(len(self.runs), 1)
        extent = self._x_extent()
        # Before training the lr markers sit on the predicted curve, so the legend matches from the start.
        lr_curve = items.lr[0] if items.lr and items.lr[0].xData is not None else \
            (items.predicted[0] if items.predicted else None)
        pairs = [(items.lr_marks, lr_curve, True)] if lr else []
        pairs += [(items.loss_marks, items.train, False)] if loss else []
        for marks, curve, stepped in pairs:
            x, y = (curve.xData, curve.yData) if curve is not None else (None, None)
            if x is None or not len(x):
                _clear(marks)
                continue
            span = extent if extent else float(x[-1] - x[0]) or 1.0
            delta = span / MARKS_PER_CURVE
            at = x[0] + (np.arange(MARKS_PER_CURVE) + (items.index + 0.5) / n) * delta
            at = at[at <= x[-1]]
            if stepped:  # an lr holds until the next step: the value in effect at `at`
                values = np.asarray(y)[np.clip(np.searchsorted(x, at, side="right") - 1, 0, len(x) - 1)]
            else:  # a loss is drawn as a line: the marker sits on it
                values = np.interp(at, x, y)
            keep = np.isfinite(values)
            placed = (at[keep].tobytes(), values[keep].tobytes())
            if getattr(marks, "placed", None) != placed:  # a trained row never changes: most frames skip
                marks.placed = placed
                marks.setData(at[keep], values[keep])

    def _x_taken_over(self, *_) -> None:
        self._x_taken = True
        self._x_moved()  # (pyqtgraph says "manually" after the range changed)

    def _fit_x(self) -> None:
        """Show the whole experiment along x (or, without its length, everything drawn so far)."""
        view = self.lr_plot.getViewBox()
        if self._x_taken:
            if not view.autoRangeEnabled()[0]:
                return  # a person zoomed or panned: theirs until they press "A"
            self._x_taken, self._x_shown = False, None
            view.disableAutoRange(axis=pg.ViewBox.XAxis)
        extent = self._x_extent()
        if extent is None:
            ends = [c.xData[-1] for items in self.runs for c in (*items.lr, *items.predicted, items.train)
                    if c.xData is not None and len(c.xData)]
            extent = float(max(ends)) if ends else None
        if extent is not None and extent != self._x_shown:
            self._x_shown = extent
            view.setXRange(0, max(extent, 1.0), padding=0.04)  # room for the last tick's label

    def _fit_ranges(self, lr: bool = True, loss: bool = True) -> None:
        if lr:
            self.sticky[self.lr_plot].update([c for items in self.runs for c in (*items.lr, *items.predicted)],
                                             self.log_lr)
            self.sticky[self.momentum_plot].update([c for items in self.runs for c in items.momentum], False)
        if loss:
            self.sticky[self.loss_plot].update([c for items in self.runs for c in (items.train, items.val)],
                                               self.log_loss)
            self.sticky[self.diff_plot].update([self.diff_loss, self.diff_lr], False)

    def _draw_prediction(self, items: _RunItems, p: Prediction | None) -> None:
        if p is None:
            for curve in items.predicted:
                _clear(curve)
            return
        x, lrs = self._lr_series(p.results)
        x = _floats(x)
        for g, curve in enumerate(items.predicted):
            if g < lrs.shape[1]:
                curve.setData(*_stairs(x, lrs[:, g], 1.0))
            else:
                _clear(curve)

    def _draw_momentum(self, i: int, items: _RunItems, r: RunResults | None, p: Prediction | None) -> bool:
        """Momentum (or beta1) curves where a scheduler moves it (trained, or else predicted);
        False when it never changes."""
        source = r if r is not None else (p.results if p is not None else None)
        m = source.step_momentum if source is not None else None
        what = ("live",) if r is not None else ("p", self.prediction_serial)
        if m is not None and m.size and self._moves(i, what, m):
            dx = 1.0 if self.x_mode == "step" else 1.0 / self.steps_per_epoch  # in epochs: each step at its fraction
            for g, curve in enumerate(items.momentum):
                if g < m.shape[1]:
                    self._put(curve, ("momentum", what, self.x_mode, g), m[:, g], 0.0, dx)
                else:
                    _clear(curve)
            return True
        for curve in items.momentum:
            _clear(curve)
        return False

    def _moves(self, i: int, what: tuple, m: np.ndarray) -> bool:
        """Whether the momentum ``m`` takes more than one value, looking at rows new since the last frame."""
        key = (self.generation, what)
        seen, done, low, high = self._momentum_seen.get(i, (None, 0, math.inf, -math.inf))
        if seen != key or len(m) < done:
            done, low, high = 0, math.inf, -math.inf
        new = m[done:]
        if new.size:
            finite = new[np.isfinite(new)]
            if finite.size:
                low, high = min(low, float(finite.min())), max(high, float(finite.max()))
        self._momentum_seen[i] = (key, len(m), low, high)  # one entry a run: the newest column's
        return high > low

    def _draw_loss(self, i: int, items: _RunItems, r: RunResults) -> None:
        spe, epoch0 = self.steps_per_epoch, _first(r.epoch)
        key = (self.x_mode, self.smoothing)
        if self.x_mode == "step":
            self._put(items.train, key, self._smoothed((i, "step"), r.step_loss))
            val_x0, val_dx = (epoch0 + 1) * spe - 1, float(spe)  # at the epoch's last step
            self._fit_pen(items.train, len(r.step))
        else:
            self._put(items.train, key, self._smoothed((i, "epoch"), r.train_loss), epoch0)
            val_x0, val_dx = epoch0, 1.0
            self._fit_pen(items.train, len(r.epoch))
        if len(r.val_loss) and np.isfinite(r.val_loss).any():
            self._put(items.val, key, r.val_loss, val_x0, val_dx)
        else:
            _clear(items.val)

    def _fit_pen(self, curve, points: int) -> None:
        """A per-step loss with more points than the plot has pixels is a band, not a line: it
        is drawn with a hairline (a wide pen there costs the trainer much and shows nothing more)."""
        dense = points > max(self.lr_plot.getViewBox().width(), 200)
        width = max(1.0, self.scale) if dense else line_width(self.scale)
        pen = curve.opts["pen"]
        if pen.widthF() != width:
            pen.setWidthF(width)
            curve.setPen(pen)

    def _draw_events(self, items: _RunItems, r: RunResults) -> None:
        spots = []
        for event in r.events:
            if event.kind not in SHOWN_EVENTS:
                continue
            x = float(event.step if self.x_mode == "step" else event.epoch)
            y = self._lr_at(r, x, event.group or 0)
            if y is None or (self.log_lr and y <= 0):
                continue
            spots.append({"pos": (x, math.log10(y) if self.log_lr else y), "symbol": EVENT_SYMBOLS[event.kind],
                          "data": f"{items.name}, epoch {event.epoch}, step {event.step}\n"
                                  f"{event.kind}: {event.detail}"})
        items.events.setData(spots)
        items.events_drawn = len(r.events)

    def _lr_at(self, r: RunResults, x: float, group: int) -> float | None:
        """The lr in effect at ``x`` (the step or epoch it changed at, for a marker on a drop)."""
        xs, lrs = self._lr_series(r)
        if not len(xs) or group >= lrs.shape[1]:
            return None
        k = min(int(np.searchsorted(xs, x)), len(xs) - 1)
        value = lrs[k, group]
        return float(value) if math.isfinite(value) else None

    def _draw_difference(self) -> None:
        pair = self.compare
        if pair is None or pair[0] == pair[1] or max(pair) >= len(self.results) or max(pair) >= len(self.runs):
            self._show(self.diff_plot, 3, False)
            self._set_verdict("", "")
            return
        a, b = (self.results[k] for k in pair)
        self._show(self.diff_plot, 3, True)
        name_a, name_b = self.runs[pair[0]].name, self.runs[pair[1]].name
        self._title(self.diff_plot, f"difference  {_escape(name_a)} \u2212 {_escape(name_b)}: &nbsp;"
                    f"<span style='color:{DIFF_LOSS}'>\u2501\u2501</span> train loss &nbsp;"
                    f"<span style='color:{DIFF_LR}'>\u254c\u254c</span> lr (group 0)")
        if a is None or b is None or not len(a.step) or not len(b.step):
            _clear(self.diff_loss)
            _clear(self.diff_lr)
            self._set_verdict(f"{name_a} vs {name_b}: waiting for both to train", "waiting")
            return
        if self.x_mode == "step":
            n, x0 = min(len(a.step), len(b.step)), 0.0
            loss, lr = Difference(a.step_loss, b.step_loss, n), Difference(a.step_lr[:, 0], b.step_lr[:, 0], n)
        else:
            n, x0 = min(len(a.epoch), len(b.epoch)), _first(a.epoch)
            loss, lr = Difference(a.train_loss, b.train_loss, n), Difference(a.epoch_lr[:, 0], b.epoch_lr[:, 0], n)
        key = ("difference", self.x_mode, pair)
        self._put(self.diff_loss, key, loss, x0)
        self._put_stairs(self.diff_lr, key, lr, x0)
        self._set_verdict(*self.verdict_text(a, b, name_a, name_b))

    def verdict_text(self, a: RunResults, b: RunResults, name_a: str, name_b: str) -> tuple[str, str]:
        """The comparison in words: identical to the bit, or where the two first part."""
        row = self._first_difference(a, b)
        if row is not None:
            return (f"{name_a} vs {name_b}: first differs at epoch {int(a.step_epoch[row])}, "
                    f"step {int(a.step[row])}", "different")
        n = min(len(a.step), len(b.step))
        total = self.epochs * self.steps_per_epoch if self.epochs else None
        if total is not None and n < total:  # no step count: a badge rewritten 20 times a second costs
            return f"{name_a} vs {name_b}: identical to the bit so far", "same"
        return f"{name_a} vs {name_b}: identical to the bit (lr and loss, all {n} steps)", "same"

    def _first_difference(self, a: RunResults, b: RunResults) -> int | None:
        """:func:`first_difference`, checking only the rows new since the last frame (rows a run
        has recorded never change; a new comparison or run starts over)."""
        key = (self.compare, id(self.runs[self.compare[0]]), id(self.runs[self.compare[1]]))
        start, found = self._compared if self._compared[0] and self._compared_key == key else (0, None)
        if found is None:
            n = min(len(a.step), len(b.step))
            back = max(start - 1, 0)  # the last row checked may have been written since (a new group)
            tail = first_difference(_rows(a, back), _rows(b, back))
            found = None if tail is None else back + tail
            self._compared = (n, found)
            self._compared_key = key
        return found

    def _set_verdict(self, text: str, kind: str) -> None:
        if (text, kind) != self.verdict:
            self.verdict = (text, kind)
            self.verdict_changed.emit(text, kind)

    def _publish_legend(self) -> None:
        """The legend as rich text: every run with its colour and marker, then what line styles mean."""
        parts = []
        groups = 1
        for items in self.runs:
            parts.append(f"<span style='white-space:nowrap'>{swatch_html(items.index)}&nbsp;"
                         f"{_escape(items.name)}</span>")
            groups = max(groups, sum(1 for c in items.lr if c.xData is not None) or 1,
                         sum(1 for c in items.predicted if c.xData is not None) or 1)
        keys = []
        if groups > 1:
            keys.append("groups: " + ", ".join(f"g{g} {GROUP_WORDS[g % len(GROUP_WORDS)]}" for g in range(groups)))
        kinds = self._event_kinds()
        if kinds:
            keys.append("on the lr: " + ", ".join(
                f"{SYMBOL_GLYPHS.get(EVENT_SYMBOLS[k], '')}\u00a0{k.replace('_', chr(160))}" for k in sorted(kinds)))
        html = " &nbsp;&nbsp; ".join(parts)
        if keys:  # each key on one piece: a narrow window wraps between them, never inside one
            # the separator travels with the first key: a wrap never leaves it alone at a line's end
            bar = "\u2502&nbsp; "
            html += " &nbsp; " + " &nbsp;\u00b7&nbsp; ".join(
                f"<span style='white-space:nowrap'>{bar if i == 0 else ''}{key}</span>"
                for i, key in enumerate(keys))
        if html != self.legend_html:
            self.legend_html = html
            self.legend_changed.emit(html)

    def _event_kinds(self) -> set[str]:
        """The kinds of marker on the lr plot, predicted or trained (the predicted ones are known
        before training, so the legend does not grow a line mid-run and move the plots)."""
        sources = [r for r in self.results if r is not None] + [p.results for p in self.predictions if p is not None]
        key = tuple((id(r.events), len(r.events)) for r in sources)
        if key != getattr(self, "_kinds_key", None):
            self._kinds_key = key
            self._kinds = {e.kind for r in sources for e in r.events if e.kind in SHOWN_EVENTS}
        return self._kinds

    @staticmethod
    def _title(plot, text: str) -> None:
        """Set a title only when it changes: each change re-lays out the whole plot grid."""
        if plot.titleLabel.text != text:
            plot.titleLabel.setText(text, **{k: v for k, v in plot.titleLabel.opts.items()
                                             if k in ("color", "size")})

    def _show(self, plot, row: int, visible: bool) -> None:
        """Add a plot to the layout or take it out (a hidden item would still take its space)."""
        if visible and plot not in self.shown:
            self.ci.addItem(plot, row=row, col=0)
            self.shown.add(plot)
            self._arrange_x_axes()
        elif not visible and plot in self.shown:
            self.ci.removeItem(plot)
            self.shown.discard(plot)
            self._arrange_x_axes()

    def _arrange_x_axes(self) -> None:
        """The plots share their x axis: its numbers and its name ("epoch") go under the lowest
        plot only, so on a projector the height goes to the curves, not to repeated labels."""
        lowest = [p for p in self.plots if p in self.shown][-1]
        for plot in self.plots:
            axis = plot.getAxis("bottom")
            below = plot is lowest
            if axis.style["showValues"] != below:
                axis.setStyle(showValues=below)
            axis.showLabel(below)

    # -- hover readout ----------------------------------------------------------------------------
    def _hover(self, event) -> None:
        position = event[0]
        for plot in self.plots:
            if plot in self.shown and plot.sceneBoundingRect().contains(position):
                self.hover_at(plot.vb.mapSceneToView(position).x(), self.mapFromScene(position).x())
                return
        self.end_hover()

    def hover_at(self, x: float, mouse_x: float = 0.0) -> None:
        """What pointing at ``x`` (epoch or step) shows: a cursor line on every plot and the readout."""
        self._last_hover = x
        self.mouse_x = mouse_x
        for cursor in self.cursors.values():
            cursor.setPos(x)
            cursor.show()
        self._set_readout(self.readout_text(x), moved=True)

    def end_hover(self) -> None:
        self._last_hover = None
        for cursor in self.cursors.values():
            cursor.hide()
        self._set_readout("")

    def _set_readout(self, text: str, moved: bool = False) -> None:
        """Publish the readout; ``moved``: the mouse moved, so its box may have to change sides."""
        if text != self.readout or moved and text:
            self.readout = text
            self.readout_changed.emit(text)

    def leaveEvent(self, event) -> None:  # noqa: N802 - Qt's name
        self.end_hover()
        super().leaveEvent(event)

    def readout_text(self, x: float) -> str:
        """The exact values of every run at ``x`` (epoch or step), a line each, as the readout shows them."""
        unit = self._x_unit()
        k = int(math.floor(x + 1e-9)) if x >= 0 else -1
        parts = [f"<b>{unit} {k}</b>"]
        for i, items in enumerate(self.runs):
            r = self.results[i] if i < len(self.results) else None
            p = self.predictions[i] if i < len(self.predictions) else None
            source = r if r is not None and len(r.step) else (p.results if p is not None else None)
            if source is None:
                continue
            xs, lrs = self._lr_series(source)
            row = np.searchsorted(xs, k)
            if row >= len(xs) or xs[row] != k:
                continue
            lr = ", ".join(f"{v:.6g}" for v in lrs[row] if math.isfinite(v))
            text = f"{swatch_html(items.index)}&nbsp;{_escape(items.name)}: &nbsp;lr {lr}"
            if source is r:
                losses = r.step_loss if self.x_mode == "step" else r.train_loss
                if row < len(losses):
                    text += f" &middot; loss {losses[row]:.6g}"
                if self.x_mode == "epoch" and row < len(r.val_loss) and math.isfinite(r.val_loss[row]):
                    text += f" &middot; val {r.val_loss[row]:.6g}"
            else:
                text += " (predicted)"
            parts.append(text)
        return "<br>".join(parts)


def _first(column: np.ndarray) -> float:
    """Where a column of epochs starts (0, unless it is empty)."""
    return float(column[0]) if len(column) else 0.0


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
