"""The splash: on screen before torch loads, saying what happens, gone when the window is."""

from PySide6.QtGui import QColor

from gui.app import _say, _splash


def test_the_splash_shows_its_name_and_what_happens_then_goes(qtbot):
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance()
    splash = _splash(app)
    qtbot.addWidget(splash)
    assert splash.isVisible() and splash.text == "Loading PyTorch..."
    _say(app, splash, "Building the window...")
    picture = splash.grab().toImage()
    assert splash.text == "Building the window..." and picture.width() == 520 and picture.height() == 220
    # the message is drawn at the bottom left, in grey on white
    grey = [picture.pixelColor(x, y) for x in range(24, 200) for y in range(185, 205)]
    assert any(c != QColor("#ffffff") for c in grey)
    splash.finish(None)
    assert not splash.isVisible()
