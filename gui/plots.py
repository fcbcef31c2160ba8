"""The live plots: lr per group per run (with the predicted curve faintly beside it), loss,
momentum where a scheduler cycles it, and the difference between two compared runs.

Data arrive as :class:`RunResults` (views of the GUI's incremental copies) and
predictions; nothing here runs per training step: the window redraws on a timer.
Curves downsample (peak mode, so spikes stay visible) and clip to the view, so a million
points stay smooth.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QGraphicsItem

from engine.preview import Prediction
from engine.recorder import RunResults

__all__ = ["PlotPanel", "PALETTE", "ema"]

PALETTE = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#8c564b", "#e377c2"]
GROUP_STYLES = [Qt.PenStyle.SolidLine, Qt.PenStyle.DashLine, Qt.PenStyle.DotLine, Qt.PenStyle.DashDotLine]
EVENT_SYMBOLS = {"manual_decay": "t", "edit": "d", "add_group": "+", "plateau": "s", "diverged": "x",
                 "error": "x", "rejected": "o", "stopped": "o"}
SHOWN_EVENTS = set(EVENT_SYMBOLS)


def ema(values: np.ndarray, alpha: float) -> np.ndarray:
    """Exponential moving average (``alpha`` = weight of the newest value); NaN-free input assumed."""
    if alpha >= 1 or len(values) == 0:
        return values
    out = itertools.accumulate(values.tolist(), lambda s, v: s + alpha * (v - s))
    return np.fromiter(out, dtype=float, count=len(values))


def _clear(curve) -> None:
    """Empty a curve unless it already is (clearing costs a bounds update and a repaint)."""
    if curve.xData is not None:
        curve.clear()


def _curve(plot, color: str, *, style=Qt.PenStyle.SolidLine, width: float = 1, alpha: int = 255, name=None):
    """A curve; live ones keep a 1-pixel pen, which the rasteriser draws ~4x faster than 1.6 px."""
    pen = pg.mkPen(pg.mkColor(color), width=width, style=style)
    pen.setColor(pg.mkColor(*pg.mkColor(color).getRgb()[:3], alpha))
    item = pg.PlotDataItem(pen=pen, name=name, connect="finite")
    # About two samples per pixel (peak mode draws each bucket's min and max, so spikes stay):
    # pyqtgraph's default of five draws more than the eye can see, and drawing is the cost.
    item.opts["autoDownsampleFactor"] = 2.0
    plot.addItem(item)  # PlotItem.addItem applies the plot's downsampling and clip-to-view to the item
    return item


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
    """A y range that moves in coarse steps (half decades on log axes) instead of every frame.

    Re-fitting the range at every frame re-renders the axis text each time (a few ms with the
    GIL held) and makes the plot jitter. A person who pans or zooms takes over; the plot's
    "A" (auto-range) button hands the range back.
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

    def update(self, arrays, log: bool) -> None:
        if not self.managed:
            if not self.view.autoRangeEnabled()[1]:
                return
            self.managed, self.current = True, None  # "A" pressed: ours again
            self.view.disableAutoRange(axis=pg.ViewBox.YAxis)
        values = [a[np.isfinite(a) & (a > 0 if log else True)] for a in arrays if a is not None and len(a)]
        values = [v for v in values if len(v)]
        if not values:
            return
        lo = min(float(v.min()) for v in values)
        hi = max(float(v.max()) for v in values)
        if log:
            lo, hi = math.log10(lo), math.log10(hi)
            step = 0.5
        elif hi == lo:  # a flat line (an identical difference): a readable range around it
            lo, hi = lo - (abs(lo) * 0.1 or 1.0), hi + (abs(hi) * 0.1 or 1.0)
            step = 10 ** math.floor(math.log10(hi - lo)) / 2
        else:
            span = max(hi - lo, abs(hi) * 1e-3)
            step = 10 ** math.floor(math.log10(span)) / 2
        bounds = (math.floor(lo / step) * step, math.ceil(hi / step) * step)
        if bounds[0] == bounds[1]:
            bounds = (bounds[0] - step, bounds[1] + step)
        if bounds != self.current:
            self.current = bounds
            self.view.setYRange(*bounds, padding=0.02)


class _RunItems:
    """The plot items of one run."""

    def __init__(self, panel: "PlotPanel", index: int, name: str):
        self.color = PALETTE[index % len(PALETTE)]
        self.panel, self.index, self.name = panel, index, name
        self.lr: list[pg.PlotDataItem] = []
        self.predicted: list[pg.PlotDataItem] = []
        self.momentum: list[pg.PlotDataItem] = []
        self.train = _curve(panel.loss_plot, self.color, name=f"{name} train")
        self.val = _curve(panel.loss_plot, self.color, style=Qt.PenStyle.DashLine, name=f"{name} val")
        self.events = pg.ScatterPlotItem(size=11, pen=pg.mkPen("k"), brush=pg.mkBrush(self.color), hoverable=True,
                                         tip=lambda x, y, data: data)
        panel.lr_plot.addItem(self.events)
        self.events_drawn = 0

    def ensure_groups(self, n: int) -> bool:
        """Curves for ``n`` groups; True when some were added."""
        grew = len(self.lr) < n
        while len(self.lr) < n:
            g = len(self.lr)
            style = GROUP_STYLES[g % len(GROUP_STYLES)]
            label = self.name if g == 0 else f"{self.name} g{g}"
            self.lr.append(_curve(self.panel.lr_plot, self.color, style=style, name=label))
            predicted = _curve(self.panel.lr_plot, self.color, style=style, width=3, alpha=60)
            # It changes only when the experiment does: keep it as a pixmap instead of
            # re-rasterising a thick line of every step at every frame.
            predicted.curve.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
            self.predicted.append(predicted)
            self.momentum.append(_curve(self.panel.momentum_plot, self.color, style=style, name=label))
        return grew

    def remove(self) -> None:
        for item in (*self.lr, *self.predicted, self.events):
            self.panel.lr_plot.removeItem(item)
        for item in (self.train, self.val):
            self.panel.loss_plot.removeItem(item)
        for item in self.momentum:
            self.panel.momentum_plot.removeItem(item)


class PlotPanel(pg.GraphicsLayoutWidget):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.setBackground("w")
        pg.setConfigOptions(antialias=False)
        self.readout = self.addLabel("", row=0, col=0, justify="left")
        self.lr_plot = self.addPlot(row=1, col=0, title="learning rate (faint: predicted)",
                                    axisItems={"left": SparseLogAxis("left")})
        self.loss_plot = self.addPlot(row=2, col=0, title="loss (solid: train, dashed: validation)",
                                      axisItems={"left": SparseLogAxis("left")})
        self.momentum_plot = self.addPlot(row=3, col=0, title="momentum / beta1")
        self.diff_plot = self.addPlot(row=4, col=0, title="difference")
        for plot in (self.lr_plot, self.loss_plot, self.momentum_plot, self.diff_plot):
            plot.showGrid(x=True, y=True, alpha=0.2)
            plot.getAxis("left").setStyle(maxTextLevel=1)  # no crowded minor labels on log axes
            # Draw at most a few points per pixel ("peak" keeps the spikes a learner must see),
            # and only what is in view: a million points stay smooth.
            plot.setDownsampling(auto=True, mode="peak")
            plot.setClipToView(True)
            plot.getAxis("left").setWidth(54)
            if plot is not self.lr_plot:
                plot.setXLink(self.lr_plot)
        for plot in (self.lr_plot, self.loss_plot, self.momentum_plot):
            plot.addLegend(offset=(-10, 10), labelTextSize="8pt")
        self.diff_plot.addLegend(offset=(-10, 10), labelTextSize="8pt")
        self.diff_loss = _curve(self.diff_plot, "#444", name="train loss")
        self.diff_lr = _curve(self.diff_plot, "#c70", style=Qt.PenStyle.DashLine, name="lr (group 0)")
        # Text is the costly part of a repaint (~5 ms per axis, replayed every frame, with the
        # GIL held, so training waits). Cache axes, titles and legends as pixmaps: they are
        # redrawn only when their range or text changes, not at every frame.
        for plot in (self.lr_plot, self.loss_plot, self.momentum_plot, self.diff_plot):
            for item in (*(plot.getAxis(side) for side in ("left", "bottom", "top", "right")), plot.titleLabel,
                         plot.legend):
                if item is not None:
                    item.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
        self.readout.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
        self.sticky = {plot: StickyRange(plot) for plot in
                       (self.lr_plot, self.loss_plot, self.momentum_plot, self.diff_plot)}
        self.runs: list[_RunItems] = []
        self.results: list[RunResults | None] = []
        self.predictions: list[Prediction | None] = []
        self.x_mode = "epoch"
        self.log_lr = False
        self.log_loss = True
        self.smoothing = 0.0
        self.compare: tuple[int, int] | None = None
        self.steps_per_epoch = 1
        self.loss_plot.setLogMode(y=True)
        self._ema_cache: dict = {}
        self._mouse = pg.SignalProxy(self.scene().sigMouseMoved, rateLimit=30, slot=self._hover)
        self.shown = {self.lr_plot, self.loss_plot, self.momentum_plot, self.diff_plot}
        self._show(self.momentum_plot, 3, False)
        self._show(self.diff_plot, 4, False)

    # -- what to show -------------------------------------------------------------------------
    def set_runs(self, names: list[str], steps_per_epoch: int) -> None:
        """Start over with these runs (new experiment, reset)."""
        for items in self.runs:
            items.remove()
        self.runs = [_RunItems(self, i, name) for i, name in enumerate(names)]
        self.results = [None] * len(names)
        self.predictions = [None] * len(names)
        self.steps_per_epoch = max(1, steps_per_epoch)
        self._ema_cache.clear()
        if self.compare and max(self.compare) >= len(names):
            self.compare = None
        self.redraw()

    def set_predictions(self, predictions: list[Prediction | None]) -> None:
        self.predictions = list(predictions)
        self.redraw()

    def set_results(self, results: list[RunResults | None]) -> None:
        self.results = list(results)
        self.redraw(predictions=False)

    def set_options(self, **options) -> None:
        for key, value in options.items():
            setattr(self, key, value)
        self.lr_plot.setLogMode(y=self.log_lr)
        self.loss_plot.setLogMode(y=self.log_loss)
        self._ema_cache.clear()
        for sticky in self.sticky.values():
            sticky.current = None
        self.redraw()

    # -- drawing --------------------------------------------------------------------------------
    def _lr_series(self, r) -> tuple[np.ndarray, np.ndarray]:
        if self.x_mode == "step":
            return r.step.astype(float), r.step_lr
        return r.epoch.astype(float), r.epoch_lr

    def _smoothed(self, key, values: np.ndarray) -> np.ndarray:
        if not self.smoothing or len(values) == 0:
            return values
        alpha = 1.0 - self.smoothing
        done, cached = self._ema_cache.get(key, (0, np.empty(0)))
        if done > len(values):
            done, cached = 0, np.empty(0)
        if done < len(values):
            head = values[done:] if done == 0 else np.concatenate([[cached[-1]], values[done:]])
            tail = ema(head, alpha)
            cached = tail if done == 0 else np.concatenate([cached, tail[1:]])
            self._ema_cache[key] = (len(values), cached)
        return cached

    def redraw(self, *, predictions: bool = True) -> None:
        """Hand the curves their data; ``predictions=False`` when only training results are new."""
        cycled = False
        for i, items in enumerate(self.runs):
            r = self.results[i] if i < len(self.results) else None
            p = self.predictions[i] if i < len(self.predictions) else None
            groups = max(r.step_lr.shape[1] if r is not None else 0,
                         p.results.step_lr.shape[1] if p is not None else 0, 1)
            grew = items.ensure_groups(groups)
            if predictions or grew:
                self._draw_prediction(items, p)
            source = r if r is not None and len(r.step) else None
            if source is not None:
                x, lrs = self._lr_series(source)
                for g, curve in enumerate(items.lr):
                    curve.setData(x, lrs[:, g]) if g < lrs.shape[1] else _clear(curve)
                self._draw_loss(i, items, source)
                if predictions or len(source.events) != items.events_drawn:
                    self._draw_events(items, source)
            else:
                for curve in (*items.lr, items.train, items.val):
                    _clear(curve)
                if items.events_drawn:
                    items.events.clear()
                    items.events_drawn = 0
            cycled |= self._draw_momentum(items, source or (p.results if p is not None else None))
        self._show(self.momentum_plot, 3, cycled)
        self._draw_difference()
        self._fit_ranges()

    def _fit_ranges(self) -> None:
        def data(curves):
            return [c.yData for c in curves if c.yData is not None]

        self.sticky[self.lr_plot].update(data(c for items in self.runs for c in (*items.lr, *items.predicted)),
                                         self.log_lr)
        self.sticky[self.loss_plot].update(data(c for items in self.runs for c in (items.train, items.val)),
                                           self.log_loss)
        self.sticky[self.momentum_plot].update(data(c for items in self.runs for c in items.momentum), False)
        self.sticky[self.diff_plot].update(data((self.diff_loss, self.diff_lr)), False)

    def _draw_prediction(self, items: _RunItems, p: Prediction | None) -> None:
        if p is None:
            for curve in items.predicted:
                _clear(curve)
            return
        x, lrs = self._lr_series(p.results)
        for g, curve in enumerate(items.predicted):
            curve.setData(x, lrs[:, g]) if g < lrs.shape[1] else _clear(curve)

    def _draw_momentum(self, items: _RunItems, source: RunResults | None) -> bool:
        """Momentum (or beta1) curves where a scheduler moves it; False when it never changes."""
        m = source.step_momentum if source is not None else None
        if m is not None and m.size:
            low, high = np.nanmin(m) if np.isfinite(m).any() else 0.0, np.nanmax(m) if np.isfinite(m).any() else 0.0
            if high - low > 0:
                if self.x_mode == "step":
                    x = source.step.astype(float)
                else:
                    x = source.step_epoch.astype(float) + (np.arange(len(m)) % self.steps_per_epoch) / \
                        self.steps_per_epoch
                for g, curve in enumerate(items.momentum):
                    curve.setData(x, m[:, g]) if g < m.shape[1] else _clear(curve)
                return True
        for curve in items.momentum:
            _clear(curve)
        return False

    def _draw_loss(self, i: int, items: _RunItems, r: RunResults) -> None:
        if self.x_mode == "step":
            items.train.setData(r.step.astype(float), self._smoothed((i, "step"), r.step_loss))
            x_val = (r.epoch.astype(float) + 1) * self.steps_per_epoch - 1
        else:
            items.train.setData(r.epoch.astype(float), self._smoothed((i, "epoch"), r.train_loss))
            x_val = r.epoch.astype(float)
        if len(r.val_loss) and np.isfinite(r.val_loss).any():
            items.val.setData(x_val, r.val_loss)
        else:
            _clear(items.val)

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
                          "data": f"{items.name}, epoch {event.epoch}, step {event.step}\n{event.kind}: {event.detail}"})
        items.events.setData(spots)
        items.events_drawn = len(r.events)

    def _lr_at(self, r: RunResults, x: float, group: int) -> float | None:
        xs, lrs = self._lr_series(r)
        if not len(xs) or group >= lrs.shape[1]:
            return None
        k = min(int(np.searchsorted(xs, x)), len(xs) - 1)
        value = lrs[k, group]
        return float(value) if math.isfinite(value) else None

    def _draw_difference(self) -> None:
        pair = self.compare
        if pair is None or pair[0] == pair[1] or max(pair) >= len(self.results):
            self._show(self.diff_plot, 4, False)
            return
        a, b = (self.results[k] for k in pair)
        self._show(self.diff_plot, 4, True)
        name_a, name_b = self.runs[pair[0]].name, self.runs[pair[1]].name
        if a is None or b is None or not len(a.step) or not len(b.step):
            _clear(self.diff_loss)
            _clear(self.diff_lr)
            self._title(self.diff_plot, f"difference {name_a} - {name_b}: waiting for both to train")
            return
        if self.x_mode == "step":
            n = min(len(a.step), len(b.step))
            x, loss = a.step[:n].astype(float), a.step_loss[:n] - b.step_loss[:n]
            lr = a.step_lr[:n, 0] - b.step_lr[:n, 0]
        else:
            n = min(len(a.epoch), len(b.epoch))
            x, loss = a.epoch[:n].astype(float), a.train_loss[:n] - b.train_loss[:n]
            lr = a.epoch_lr[:n, 0] - b.epoch_lr[:n, 0]
        self.diff_loss.setData(x, loss)
        self.diff_lr.setData(x, lr)
        worst_loss = float(np.nanmax(np.abs(loss))) if n else 0.0
        worst_lr = float(np.nanmax(np.abs(lr))) if n else 0.0
        verdict = "identical, to the bit" if worst_loss == 0 and worst_lr == 0 else \
            f"max |d loss| {worst_loss:.3g}, max |d lr| {worst_lr:.3g}"
        self._title(self.diff_plot, f"difference {name_a} - {name_b}: {verdict}")

    @staticmethod
    def _title(plot, text: str) -> None:
        """Set a title only when it changes: each change re-lays out the whole plot grid."""
        if plot.titleLabel.text != text:
            plot.setTitle(text)

    def _show(self, plot, row: int, visible: bool) -> None:
        """Add a plot to the layout or take it out (a hidden item would still take its space)."""
        if visible and plot not in self.shown:
            self.ci.addItem(plot, row=row, col=0)
            self.shown.add(plot)
        elif not visible and plot in self.shown:
            self.ci.removeItem(plot)
            self.shown.discard(plot)

    # -- hover readout ----------------------------------------------------------------------------
    def _hover(self, event) -> None:
        position = event[0]
        for plot in (self.lr_plot, self.loss_plot, self.momentum_plot, self.diff_plot):
            if plot in self.shown and plot.sceneBoundingRect().contains(position):
                x = plot.vb.mapSceneToView(position).x()
                self.readout.setText(self.readout_text(x))
                return

    def readout_text(self, x: float) -> str:
        """The exact values of every run at ``x`` (epoch or step), as the label shows them."""
        unit = "step" if self.x_mode == "step" else "epoch"
        k = int(round(x))
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
            text = f"<span style='color:{items.color}'>{items.name}</span>: lr {lr}"
            if source is r:
                losses = r.step_loss if self.x_mode == "step" else r.train_loss
                if row < len(losses):
                    text += f", loss {losses[row]:.6g}"
                if self.x_mode == "epoch" and row < len(r.val_loss) and math.isfinite(r.val_loss[row]):
                    text += f", val {r.val_loss[row]:.6g}"
            parts.append(text)
        return " &nbsp; ".join(parts)
