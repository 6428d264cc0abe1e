"""The launched run's wrapper: start `domaintune run`, wait, record its exit code in exit.json.

`python -m domaintune.ui.child RUN_DIR -- COMMAND...` is what the UI starts in a new session. It
survives a stop signal long enough to record how the run ended (SIGTERM reaches the whole group).
"""

from __future__ import annotations

import signal

_stopped: list[int] = []


def _note(signum, frame) -> None:
    """The run receives the same group signal; this process only notes it and records the end."""
    _stopped.append(signum)


# First thing: a stop that arrives while this process starts must not kill it unrecorded. A
# Python handler, not SIG_IGN (which the command would inherit across exec).
signal.signal(signal.SIGTERM, _note)
signal.signal(signal.SIGINT, _note)

import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402


def main(argv: list[str]) -> int:
    run_dir, sep, *cmd = argv
    if sep != "--" or not cmd:
        print("usage: python -m domaintune.ui.child RUN_DIR -- COMMAND...", file=sys.stderr)
        return 2
    # Stopped before the run began: do not begin it. (A stop after this line reaches the run
    # through its process group; `ui.launch.stop` escalates to SIGKILL if it does not end.)
    code = -_stopped[0] if _stopped else subprocess.Popen(cmd).wait()
    from domaintune.io import write_json
    from domaintune.ui.runstate import EXIT_STATE

    write_json(Path(run_dir) / EXIT_STATE, {"returncode": code, "ended": round(time.time(), 3)})
    return 0 if code == 0 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
