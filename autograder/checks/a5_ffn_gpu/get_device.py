"""a5, part 2: `get_device`, asked with CUDA's availability patched to yes, then no, so
that it is checked on a machine with or without a GPU.
"""
from __future__ import annotations

from types import ModuleType
from unittest import mock

import torch

from autograder.checks.a5_ffn_gpu import check
from autograder.checks.support import describe, fail, require


@check(points=1)
def get_device_prefers_cuda(submission: ModuleType) -> None:
    """get_device returns a CUDA device when one is available, else the CPU

    With `torch.cuda.is_available` and `device_count` patched together to say yes, then no;
    `.type` is compared, so `cuda` and `cuda:0` both pass.
    """
    get_device = require(submission, "get_device")
    for available, expected in ((True, "cuda"), (False, "cpu")):
        with mock.patch.object(torch.cuda, "is_available", lambda a=available: a), \
                mock.patch.object(torch.cuda, "device_count", lambda a=available: int(a)):
            result = get_device()
        try:
            kind = torch.device(result).type
        except (TypeError, RuntimeError):
            fail(f"`get_device()` returned {describe(result)}; expected a torch.device.")
        if kind != expected:
            fail(f"with `torch.cuda.is_available()` {available}, `get_device()` returned "
                 f"{result!r}; expected a {expected!r} device. Ask "
                 "`torch.cuda.is_available()` each time and pick 'cuda' when it says True.")
