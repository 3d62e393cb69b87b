"""Render packaging/commandcenter.svg to the PNG sizes a desktop entry wants.

    python packaging/render_icon.py OUT_DIR     -> OUT_DIR/<size>/commandcenter.png

Rendered at build time with Qt's own SVG renderer (already a dependency), so the SVG is
the only icon source kept in the repository.
"""

from __future__ import annotations

import sys
from pathlib import Path

SIZES = (48, 64, 128, 256)


def main(out: Path) -> int:
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QGuiApplication, QImage, QPainter
    from PySide6.QtSvg import QSvgRenderer

    _app = QGuiApplication.instance() or QGuiApplication(sys.argv[:1])
    renderer = QSvgRenderer(str(Path(__file__).with_name("commandcenter.svg")))
    if not renderer.isValid():
        print("render_icon: commandcenter.svg is not a valid SVG", file=sys.stderr)
        return 1
    for size in SIZES:
        image = QImage(size, size, QImage.Format.Format_ARGB32)
        image.fill(Qt.GlobalColor.transparent)
        painter = QPainter(image)
        renderer.render(painter)
        painter.end()
        target = out / f"{size}x{size}" / "commandcenter.png"
        target.parent.mkdir(parents=True, exist_ok=True)
        if not image.save(str(target)):
            print(f"render_icon: cannot write {target}", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1])))
