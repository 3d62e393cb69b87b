"""Video: CPU per stream, and the largest wall that holds 25 fps per tile (360p, 720p).

Each tile is a real ``VideoPlayer`` (Qt's FFmpeg backend, the console's decoding path)
playing an H.264 clip written by ffmpeg at 25 fps, shown on an offscreen wall so every
frame is also converted and painted as on a real wall. For N = 1, 4, 9, 16 tiles it runs
for a few seconds and reads the process CPU time, the frames each tile received and the
frames dropped (25 × seconds − received). A wall "holds" when its slowest tile keeps
≥ 24 fps. The baseline column of the 720p rows is the same figure at 360p (same process).
Needs ffmpeg on PATH (scripts/sysdeps test installs it).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from bench.table import Row

FPS = 25
WALLS = (1, 4, 9, 16)
SIZES = {"360p": "640x360", "720p": "1280x720"}


def _clip(folder: Path, size: str) -> Path:
    out = folder / f"clip_{size}.mp4"
    subprocess.run(
        ["ffmpeg", "-loglevel", "error", "-y", "-f", "lavfi", "-i",
         f"testsrc2=size={size}:rate={FPS}", "-t", "12", "-c:v", "libx264", "-preset",
         "veryfast", "-g", str(FPS), "-pix_fmt", "yuv420p", str(out)],
        check=True,
    )  # fmt: skip
    return out


def _run_wall(app, clip: Path, n: int, seconds: float) -> tuple[float, float, int]:
    """(CPU seconds per second of video per stream, slowest tile fps, frames dropped)."""
    from PySide6.QtWidgets import QGridLayout, QWidget

    from widgets.media.player import VideoPlayer

    host = QWidget()
    grid = QGridLayout(host)
    cols = max(1, round(n**0.5))
    players = []
    for i in range(n):
        p = VideoPlayer(host, stall_after_s=30.0)
        grid.addWidget(p, i // cols, i % cols)
        players.append(p)
    host.resize(1920, 1080)
    host.show()
    for p in players:
        p.set_source(str(clip))
    deadline = time.monotonic() + 20
    while any(p.frames == 0 for p in players) and time.monotonic() < deadline:
        app.processEvents()
        time.sleep(0.005)
    start = [p.frames for p in players]
    cpu0, t0 = time.process_time(), time.monotonic()
    while time.monotonic() - t0 < seconds:
        app.processEvents()
        time.sleep(0.002)
    cpu = time.process_time() - cpu0
    wall = time.monotonic() - t0
    got = [p.frames - s for p, s in zip(players, start, strict=True)]
    for p in players:
        p.release()
    host.deleteLater()
    app.processEvents()
    dropped = sum(max(0, round(FPS * wall) - g) for g in got)
    return cpu / wall / n, min(got) / wall, dropped


def run(quick: bool = False) -> list[Row]:
    if shutil.which("ffmpeg") is None:
        return [Row("video wall", 0, "", note="skipped: ffmpeg missing (scripts/sysdeps test)")]
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication([])
    seconds = 3.0 if quick else 6.0
    rows: list[Row] = []
    per_stream: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for label, size in SIZES.items():
            clip = _clip(Path(tmp), size)
            held = 0
            for n in WALLS:
                cpu, slowest, dropped = _run_wall(app, clip, n, seconds)
                if n == 1:
                    per_stream[label] = cpu
                    rows.append(
                        Row(
                            f"CPU per stream, {label} {FPS} fps (one tile)",
                            cpu * 100,
                            "% of a core",
                            baseline=per_stream["360p"] * 100 if label != "360p" else None,
                            note="software decoding (no GPU here)",
                        )
                    )
                rows.append(
                    Row(
                        f"{label} wall of {n}: slowest tile",
                        slowest,
                        "fps",
                        f">= {FPS - 1}",
                        note=f"{dropped} frames dropped in {seconds:.0f} s; "
                        f"CPU {cpu * n * 100:.0f}% of a core",
                    )
                )
                if slowest >= FPS - 1:
                    held = n
                else:
                    break  # a bigger wall will not do better
            rows.append(
                Row(
                    f"largest wall holding {FPS} fps per tile, {label}",
                    held,
                    "tiles",
                    note=("largest tested; " if held == WALLS[-1] else "")
                    + "2 cores shared with other work: noisy",
                )
            )
    return rows
