"""The two state machines of training, each spelled once.

:class:`RunStatus` is one run's (a :class:`~engine.run.RunTrainer`): it trains until it
finishes, diverges, fails inside torch or is stopped by a command. :class:`SessionState` is
the engine loop's (:mod:`engine.worker`), which the window mirrors (:mod:`gui.training`)
from the loop's ``state`` messages: the same machine, so one enum.

Both are :class:`enum.StrEnum`: a member equals, hashes and formats as its value, so CSV
files, state files and messages read exactly as the plain strings did. A state file stores
the value (``torch.load(weights_only=True)`` loads no enum), and a member pickled across the
engine's pipe is rebuilt from this module on the other side. No torch here.
"""

from __future__ import annotations

from enum import StrEnum

__all__ = ["RunStatus", "SessionState"]


class RunStatus(StrEnum):
    RUNNING = "running"
    FINISHED = "finished"    # trained to the experiment's end (resumes when epochs grow)
    DIVERGED = "diverged"    # a loss that is not finite, or an lr that cannot be applied
    FAILED = "failed"        # torch or an expression raised
    STOPPED = "stopped"      # a StopRun command


class SessionState(StrEnum):
    IDLE = "idle"            # no session (or one reset)
    RUNNING = "running"
    PAUSED = "paused"
    FINISHED = "finished"
    STOPPED = "stopped"
