"""Runtime hook of the bundle: runs before main.py inside the frozen app.

pyqtgraph and qasync pick their Qt binding from QT_API; the checkout's main.py sets it
under ``__main__`` too, this only makes it so before any module of theirs is imported.
"""

import os

os.environ.setdefault("QT_API", "pyside6")
