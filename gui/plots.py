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


def _curve(plot, color: str, *, style=Qt.PenStyle.SolidLine, width: float = 1.6, alpha: int = 255, name=None):
    pen = pg.mkPen(pg.mkColor(color), width=width, style=style)
    pen.setColor(pg.mkColor(*pg.mkColor(color).getRgb()[:3], alpha))
    item = pg.PlotDataItem(pen=pen, name=name, connect="finite")
    item.setDownsampling(auto=True, method="peak")
    item.setClipToView(True)
    plot.addItem(item)
    return item


class _RunItems:
    """The plot items of one run."""

    def __init__(self, panel: "PlotPanel", index: int, name: str):
        self.color = PALETTE[index % len(PALETTE)]
        self.panel, self.index, self.name = panel, index, name
        self.lr: list[pg.PlotDataItem] = []
        self.predicted: list[pg.PlotDataItem] = []
        self.momentum: list[pg.PlotDataItem] = []
        self.train = _curve(panel.loss_plot, self.color, name=f"{name} train")
        self.val = _curve(panel.loss_plot, self.color, style=Qt.PenStyle.DashLine, width=1.2, name=f"{name} val")
        self.events = pg.ScatterPlotItem(size=11, pen=pg.mkPen("k"), brush=pg.mkBrush(self.color), hoverable=True,
                                         tip=lambda x, y, data: data)
        panel.lr_plot.addItem(self.events)

    def ensure_groups(self, n: int) -> None:
        while len(self.lr) < n:
            g = len(self.lr)
            style = GROUP_STYLES[g % len(GROUP_STYLES)]
            label = self.name if g == 0 else f"{self.name} g{g}"
            self.lr.append(_curve(self.panel.lr_plot, self.color, style=style, name=label))
            self.predicted.append(_curve(self.panel.lr_plot, self.color, style=style, width=4, alpha=55))
            self.momentum.append(_curve(self.panel.momentum_plot, self.color, style=style, name=label))

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
        self.lr_plot = self.addPlot(row=1, col=0, title="learning rate (faint: predicted)")
        self.loss_plot = self.addPlot(row=2, col=0, title="loss (solid: train, dashed: validation)")
        self.momentum_plot = self.addPlot(row=3, col=0, title="momentum / beta1")
        self.diff_plot = self.addPlot(row=4, col=0, title="difference")
        for plot in (self.lr_plot, self.loss_plot, self.momentum_plot, self.diff_plot):
            plot.showGrid(x=True, y=True, alpha=0.2)
            plot.getAxis("left").setStyle(maxTextLevel=1)  # no crowded minor labels on log axes
            plot.getAxis("left").setWidth(54)
            if plot is not self.lr_plot:
                plot.setXLink(self.lr_plot)
        self.lr_plot.addLegend(offset=(-10, 10), labelTextSize="8pt")
        self.loss_plot.addLegend(offset=(-10, 10), labelTextSize="8pt")
        self.diff_loss = _curve(self.diff_plot, "#444", name="train loss")
        self.diff_lr = _curve(self.diff_plot, "#c70", style=Qt.PenStyle.DashLine, name="lr (group 0)")
        self.diff_plot.addLegend(offset=(-10, 10), labelTextSize="8pt")
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
        self.redraw()

    def set_options(self, **options) -> None:
        for key, value in options.items():
            setattr(self, key, value)
        self.lr_plot.setLogMode(y=self.log_lr)
        self.loss_plot.setLogMode(y=self.log_loss)
        self._ema_cache.clear()
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

    def redraw(self) -> None:
        cycled = False
        for i, items in enumerate(self.runs):
            r = self.results[i] if i < len(self.results) else None
            p = self.predictions[i] if i < len(self.predictions) else None
            groups = max(r.step_lr.shape[1] if r is not None else 0,
                         p.results.step_lr.shape[1] if p is not None else 0, 1)
            items.ensure_groups(groups)
            if p is not None:
                x, lrs = self._lr_series(p.results)
                for g, curve in enumerate(items.predicted):
                    curve.setData(x, lrs[:, g]) if g < lrs.shape[1] else curve.clear()
            else:
                for curve in items.predicted:
                    curve.clear()
            source = r if r is not None and len(r.step) else None
            if source is not None:
                x, lrs = self._lr_series(source)
                for g, curve in enumerate(items.lr):
                    curve.setData(x, lrs[:, g]) if g < lrs.shape[1] else curve.clear()
                self._draw_loss(i, items, source)
                self._draw_events(items, source)
            else:
                for curve in (*items.lr, items.train, items.val):
                    curve.clear()
                items.events.clear()
            momentum_source = source or (p.results if p is not None else None)
            if momentum_source is not None and momentum_source.step_momentum.size:
                m = momentum_source.step_momentum
                finite = m[np.isfinite(m)]
                if finite.size and finite.max() - finite.min() > 0:
                    cycled = True
                    x = momentum_source.step.astype(float) if self.x_mode == "step" else \
                        momentum_source.step_epoch.astype(float) + \
                        (np.arange(len(m)) % self.steps_per_epoch) / self.steps_per_epoch
                    for g, curve in enumerate(items.momentum):
                        curve.setData(x, m[:, g]) if g < m.shape[1] else curve.clear()
                    continue
            for curve in items.momentum:
                curve.clear()
        self._show(self.momentum_plot, 3, cycled)
        self._draw_difference()

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
            items.val.clear()

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
            self.diff_loss.clear()
            self.diff_lr.clear()
            self.diff_plot.setTitle(f"difference {name_a} - {name_b}: waiting for both to train")
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
        self.diff_plot.setTitle(f"difference {name_a} - {name_b}: {verdict}")

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
