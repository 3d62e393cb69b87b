"""A real RTSP server for the video tests: GStreamer's RTSP server (Debian's
gir1.2-gst-rtsp-server-1.0) serving a live test picture as RTP/JPEG on 127.0.0.1.

Run with the system Python that has PyGObject (``/usr/bin/python3 tests/rtsp_server.py
--port N``); it prints ``LISTENING rtsp://127.0.0.1:N/live`` once the port accepts. One path,
``/live``; credentials in the URL are accepted and ignored (the tests use them to prove the
console never logs what it dials with).
"""

from __future__ import annotations

import argparse
import sys

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstRtspServer", "1.0")
gi.require_version("GstRtsp", "1.0")
from gi.repository import GLib, Gst, GstRtsp, GstRtspServer  # noqa: E402

PIPELINE = (
    "( videotestsrc is-live=true pattern=ball ! video/x-raw,width={w},height={h},framerate={fps}/1"
    " ! videoconvert ! video/x-raw,format=I420 ! jpegenc quality=70 ! rtpjpegpay name=pay0 pt=26 )"
)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--size", default="320x240")
    ap.add_argument("--fps", type=int, default=10)
    args = ap.parse_args()
    w, h = args.size.split("x")
    Gst.init(None)
    server = GstRtspServer.RTSPServer()
    server.set_address("127.0.0.1")
    server.set_service(str(args.port))
    mounts = server.get_mount_points()
    factory = GstRtspServer.RTSPMediaFactory()
    factory.set_launch(PIPELINE.format(w=w, h=h, fps=args.fps))
    factory.set_shared(True)
    factory.set_protocols(GstRtsp.RTSPLowerTrans.TCP)  # interleaved: no UDP ports
    mounts.add_factory("/live", factory)
    if server.attach(None) == 0:
        print("could not bind", file=sys.stderr)
        return 1
    print(f"LISTENING rtsp://127.0.0.1:{args.port}/live", flush=True)
    GLib.MainLoop().run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
