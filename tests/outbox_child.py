"""A console process for the crash tests of tests/test_actions_e2e.py, killed on purpose.

python -m tests.outbox_child enqueue OUTBOX CASE_ID ACTION PARAMS_JSON
    enqueue one action, print "ENQUEUED <key>", then sleep until killed
    (the parent SIGKILLs it between the write and any send)
python -m tests.outbox_child send OUTBOX AUDIT URL TOKEN
    deliver what is due once and print "SENT <n>"; with CC_TEST_CRASH_AFTER_SEND=1
    the sender ends the process (exit 137) right after the first response arrives
"""

from __future__ import annotations

import asyncio
import json
import sys
import time

from commandcenter.actions import Outbox
from commandcenter.audit import AuditLog
from feeds.actions import ActionSender


def main(argv: list[str]) -> int:
    mode = argv[0]
    if mode == "enqueue":
        path, case_id, action, params = argv[1:5]
        outbox = Outbox(path)
        item = outbox.enqueue(case_id, action, "值班员子进程", json.loads(params))
        print(f"ENQUEUED {item.key}", flush=True)
        time.sleep(120)  # the parent kills us long before this ends
        return 1
    if mode == "send":
        path, audit_path, url, token = argv[1:5]
        outbox = Outbox(path)
        audit = AuditLog(audit_path)
        sender = ActionSender(outbox, audit, url, token)
        n = asyncio.run(sender.send_due())
        print(f"SENT {n}", flush=True)
        return 0
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
