"""The plots' own controls: which runs to compare, the x axis, log scales, smoothing, and export.

They belong to the plots, not to the window: this object builds the Compare and View toolbars,
applies every choice to the :class:`~gui.plots.PlotPanel`, remembers the choices in the
settings, and exports the plot area as a picture.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, QSettings
from PySide6.QtWidgets import QCheckBox, QComboBox, QLabel, QToolBar, QWidget

from .export_dialog import ExportDialog
from .plot_area import PlotArea

__all__ = ["PlotControls", "SMOOTHING"]

SMOOTHING = [("no smoothing", 0.0), ("EMA 0.6", 0.6), ("EMA 0.9", 0.9), ("EMA 0.98", 0.98)]
COMPARE_TIP = "compare two runs: their difference, and whether they are identical to the bit"


def steady_width(combo: QComboBox, characters: int | None = None) -> None:
    """As wide as the longest entry (or ``characters``), always: picking another never moves the next control."""
    combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
    combo.setMinimumContentsLength(characters or max(len(combo.itemText(i)) for i in range(combo.count())) + 1)


class PlotControls(QObject):
    def __init__(self, area: PlotArea, parent: QWidget):
        super().__init__(parent)
        self.area, self.plots = area, area.plots
        self.export_scale = 2.0
        compare = QToolBar("Compare", parent)
        compare.setObjectName("compare")
        self.compare_a, self.compare_b = QComboBox(compare), QComboBox(compare)
        compare.addWidget(QLabel(" compare ", compare))
        compare.addWidget(self.compare_a)
        compare.addWidget(QLabel(" \u2212 ", compare))
        compare.addWidget(self.compare_b)
        for combo in (self.compare_a, self.compare_b):
            # Run names can be long: the box keeps a steady width and says the whole name on hover.
            combo.setToolTip(COMPARE_TIP)
            steady_width(combo, 14)
            combo.currentTextChanged.connect(lambda text, c=combo: c.setToolTip(f"{text}\n\n{COMPARE_TIP}"))
        view = QToolBar("View", parent)
        view.setObjectName("view")
        self.x_mode = QComboBox(view)
        self.x_mode.addItem("x: epochs", "epoch")
        self.x_mode.addItem("x: steps", "step")
        self.x_mode.setToolTip("the plots' x axis: epochs, or optimizer steps")
        self.log_lr = QCheckBox("log lr", view)
        self.log_loss = QCheckBox("log loss", view)
        self.log_loss.setChecked(True)
        self.smoothing = QComboBox(view)
        for label, value in SMOOTHING:
            self.smoothing.addItem(label, value)
        self.smoothing.setToolTip("smooth the train loss (exponential moving average)")
        for widget in (self.x_mode, self.log_lr, self.log_loss, self.smoothing):
            view.addWidget(widget)
        for combo in (self.x_mode, self.smoothing):
            steady_width(combo)
        self.toolbars = [compare, view]
        for signal in (self.x_mode.currentIndexChanged, self.log_lr.toggled, self.log_loss.toggled,
                       self.smoothing.currentIndexChanged, self.compare_a.currentIndexChanged,
                       self.compare_b.currentIndexChanged):
            signal.connect(self.apply)

    def fill_compare(self, names: list[str]) -> None:
        """Run names to compare; a choice made before survives when its runs still exist."""
        chosen = [combo.currentText() for combo in (self.compare_a, self.compare_b)]
        for combo, previous in zip((self.compare_a, self.compare_b), chosen):
            combo.blockSignals(True)
            combo.clear()
            combo.addItem("(none)", -1)
            for i, name in enumerate(names):
                combo.addItem(name, i)
            if previous in names:
                combo.setCurrentIndex(names.index(previous) + 1)
            combo.blockSignals(False)
        if len(names) == 2 and not all(c in names for c in chosen):
            self.compare_a.setCurrentIndex(1)  # two runs side by side: compare them (manual vs StepLR)
            self.compare_b.setCurrentIndex(2)
        self.apply()

    def apply(self, *_) -> None:
        a, b = self.compare_a.currentData(), self.compare_b.currentData()
        self.plots.set_options(x_mode=self.x_mode.currentData() or "epoch", log_lr=self.log_lr.isChecked(),
                               log_loss=self.log_loss.isChecked(), smoothing=self.smoothing.currentData() or 0.0,
                               compare=(a, b) if a is not None and b is not None and a >= 0 and b >= 0 else None)

    # -- settings ------------------------------------------------------------------------------
    def restore(self, settings: QSettings) -> None:
        for combo, key in ((self.x_mode, "x_mode"), (self.smoothing, "smoothing")):
            index = settings.value(key)
            if index is not None and 0 <= int(index) < combo.count():
                combo.setCurrentIndex(int(index))
        for box, key in ((self.log_lr, "log_lr"), (self.log_loss, "log_loss")):
            value = settings.value(key)
            if value is not None:
                box.setChecked(value in (True, "true"))

    def save(self, settings: QSettings) -> None:
        settings.setValue("x_mode", self.x_mode.currentIndex())
        settings.setValue("smoothing", self.smoothing.currentIndex())
        settings.setValue("log_lr", self.log_lr.isChecked())
        settings.setValue("log_loss", self.log_loss.isChecked())

    # -- export ---------------------------------------------------------------------------------
    def export_dialog(self) -> None:
        """File > Export Plot: where to and at what resolution, then :meth:`export`."""
        window = self.parent()
        dialog = ExportDialog(window, str(Path(window.files.directory()) / "plot.png"), self.area.canvas.size(),
                              float(window.settings.value("export_scale", self.export_scale)))
        accepted = dialog.exec()
        path, scale = dialog.path(), dialog.scale()
        dialog.deleteLater()
        if accepted:
            window.settings.setValue("export_scale", scale)
            self.export(path, scale)

    def export(self, path: str | None = None, scale: float | None = None) -> bool:
        """The plots with their legend and verdict: PNG at ``scale`` (2x by default), or SVG; the
        window's status line says where, a message why not."""
        window = self.parent()
        if not path:
            self.export_dialog()
            return False
        try:
            ok, problem = self.area.export(path, self.export_scale if scale is None else scale), "could not be written"
        except OSError as error:
            ok, problem = False, str(error)
        if not ok or not Path(path).is_file():
            window.message("Cannot export", f"{path}: {problem}")
            return False
        window.show_status(f"Wrote {path}")
        return True
