"""Keep FFmpeg from printing camera URLs.

Qt's FFmpeg backend leaves libav's own logger on, and its demuxers print every URL they
open at the default level (``[hls @ …] Opening 'http://user:password@…'``): a camera's
credentials would land in the console's stderr and in any log collected from it. The
player reports failures itself (with credentials removed), so libav is told to print
nothing. ``CC_FFMPEG_LOG=warning`` (or ``info``, ``debug``) brings its messages back when
debugging a camera, knowing they may contain secrets.
"""

from __future__ import annotations

import ctypes
import glob
import logging
import os
from pathlib import Path

log = logging.getLogger(__name__)

_LEVELS = {"quiet": -8, "panic": 0, "fatal": 8, "error": 16, "warning": 24, "info": 32, "debug": 48}
_done: list[bool] = []


def quiet_ffmpeg_log() -> str:
    """Set libav's log level (once per process); returns the level applied, or "" when
    Qt's libavutil could not be found (then nothing changes)."""
    if _done:
        return "done"
    _done.append(True)
    level = os.environ.get("CC_FFMPEG_LOG", "quiet").strip().lower()
    value = _LEVELS.get(level, _LEVELS["quiet"])
    import PySide6

    qt_lib = Path(PySide6.__file__).parent / "Qt" / "lib"
    for path in sorted(glob.glob(str(qt_lib / "libavutil.so*"))):
        try:
            lib = ctypes.CDLL(path)
            lib.av_log_set_level(ctypes.c_int(value))
            return level
        except (OSError, AttributeError):
            continue
    log.warning("Qt's libavutil not found: FFmpeg may print camera URLs to stderr")
    return ""
