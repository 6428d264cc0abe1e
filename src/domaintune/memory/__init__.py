"""GPU memory estimator and planner for fine-tuning runs (see docs/memory.md)."""

from domaintune.memory.arch import BUILTIN, Arch, count_params, resolve_arch
from domaintune.memory.estimate import Estimate, estimate
from domaintune.memory.plan import PlanResult, parse_size, plan
from domaintune.memory.preflight import WillNotFitError, preflight, require_fit
from domaintune.memory.setup import RunSetup

__all__ = [
    "BUILTIN",
    "Arch",
    "Estimate",
    "PlanResult",
    "RunSetup",
    "WillNotFitError",
    "count_params",
    "estimate",
    "parse_size",
    "plan",
    "preflight",
    "require_fit",
    "resolve_arch",
]
