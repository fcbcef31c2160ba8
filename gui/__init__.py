"""The desktop window (Qt via PySide6, plots via pyqtgraph). Only this package imports Qt."""
