"""Named places where a test has the process killed, to check what a crash there leaves.

``INSIDERWATCH_KILL_AT=<name>`` makes the process send itself SIGKILL when it reaches the
place of that name: the crash is real (no handler runs, no file is closed, DuckDB's open
transaction is lost), only its moment is chosen, which a signal from outside cannot do
for a window of milliseconds. Unset, a place costs one dictionary look-up.
"""

from __future__ import annotations

import os
import signal

KILL_AT = "INSIDERWATCH_KILL_AT"


def kill_point(name: str) -> None:
    if os.environ.get(KILL_AT) == name:
        os.kill(os.getpid(), signal.SIGKILL)
