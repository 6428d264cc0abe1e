"""The launched run's wrapper: start `domaintune run`, wait, record its exit code in exit.json.

`python -m domaintune.ui.child RUN_DIR -- COMMAND...` is what the UI starts in a new session. It
survives a stop signal long enough to record how the run ended (SIGTERM reaches the whole group).
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

from domaintune.io import write_json
from domaintune.ui.runstate import EXIT_STATE


def _note(signum, frame) -> None:
    """The run receives the same group signal; this process only waits to record the end."""


def main(argv: list[str]) -> int:
    run_dir, sep, *cmd = argv
    if sep != "--" or not cmd:
        print("usage: python -m domaintune.ui.child RUN_DIR -- COMMAND...", file=sys.stderr)
        return 2
    # A Python handler (not SIG_IGN, which the command would inherit across exec).
    signal.signal(signal.SIGTERM, _note)
    signal.signal(signal.SIGINT, _note)
    code = subprocess.Popen(cmd).wait()
    write_json(Path(run_dir) / EXIT_STATE, {"returncode": code, "ended": round(time.time(), 3)})
    return 0 if code == 0 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
