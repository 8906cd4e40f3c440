"""Watch where tensors live while student code runs, without a GPU.

The grader hands the student's code PyTorch's `meta` device: tensors with a shape and
a dtype but no data, on a device of their own. Code that moves the model and every
batch to `device` then runs on `meta` throughout; a model or a batch left behind
meets `meta` tensors in the first operation that mixes them, and `DeviceWatch` names
which one it was before PyTorch's own mismatch error does.

Reading values back (`.item()`, `.cpu()`, `.numpy()`, `float(...)`, an f-string) is
impossible on `meta`, yet correct code does it all the time, so those calls get
zeros of the right shape and dtype instead. The few other errors that only `meta`
raises are told apart by `is_meta_only_error`, never blamed on the student.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import nn
from torch.optim.optimizer import register_optimizer_step_pre_hook
from torch.overrides import TorchFunctionMode

from autograder.checks.support import CheckFailed

META = torch.device("meta")
# Tensor methods that read data back to the host: on `meta` they answer with zeros.
_HOST_READS = {"item", "tolist", "numpy", "cpu", "to", "__float__", "__int__", "__bool__",
               "__index__", "__format__", "__array__", "equal", "allclose"}
# Functions that may legitimately take tensors on two devices (copying between them).
_CROSS_DEVICE = {"to", "copy_", "cpu", "cuda", "set_", "__get__", "__set__",
                 "_has_compatible_shallow_copy_type"}
_MISMATCH_WORDS = ("same device", "expected device", "different device")


class DeviceMismatch(CheckFailed):
    """Student code combined a tensor on `device` with one left behind; the message says
    which (the model's weights or the batch) in words a student understands."""


@dataclass
class DeviceWatch(TorchFunctionMode):
    """While active: every operation that mixes `device` with another device raises
    `DeviceMismatch` naming the culprit; host reads of `meta` tensors return zeros; each
    optimizer step records the devices of the parameters it updates (and turns off
    `fused`, whose kernels do not exist for `meta`)."""

    model: nn.Module
    device: torch.device = META
    step_devices: list[set[str]] = field(default_factory=list)

    def __post_init__(self):
        super().__init__()
        self._handle = None

    def __enter__(self):
        self._handle = register_optimizer_step_pre_hook(self._on_step)
        return super().__enter__()

    def __exit__(self, *exc_info):
        self._handle.remove()
        return super().__exit__(*exc_info)

    def _on_step(self, optimizer, args, kwargs) -> None:
        params = [p for group in optimizer.param_groups for p in group["params"]]
        self.step_devices.append({p.device.type for p in params})
        if self.device.type == "meta":
            for group in optimizer.param_groups:
                if group.get("fused"):
                    group["fused"] = False

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        name = getattr(func, "__name__", "")
        if name not in _CROSS_DEVICE:
            self._check_devices(name, args, kwargs)
        if name in _HOST_READS and any(_is_meta(a) for a in args):
            if name != "to":  # `.to` may stay on meta (another dtype): try it first
                return func(*[_placeholder(a) for a in args], **kwargs)
            try:
                return func(*args, **kwargs)
            except (NotImplementedError, RuntimeError) as exc:
                if "meta" not in str(exc).lower():
                    raise
                return func(*[_placeholder(a) for a in args], **kwargs)
        return func(*args, **kwargs)

    def _check_devices(self, name: str, args, kwargs) -> None:
        tensors = [t for t in _tensors(args) + _tensors(kwargs.values())
                   if t.dim() > 0 or t.device.type != "cpu"]  # 0-d CPU scalars mix freely
        kinds = {t.device.type for t in tensors}
        if len(kinds) < 2 or self.device.type not in kinds:
            return
        behind = [t for t in tensors if t.device.type != self.device.type]
        weights = {id(p) for p in self.model.parameters()}
        other = behind[0].device.type
        if any(id(t) in weights for t in behind):
            raise DeviceMismatch(
                f"the model's weights were still on `{other}` when they met a tensor on "
                f"`{self.device}` (in `{name}`): the model was never moved to `device`. "
                "Call `model.to(device)` before training or predicting.")
        raise DeviceMismatch(
            f"a batch tensor of shape {tuple(behind[0].shape)} was still on `{other}` when it "
            f"met the model on `{self.device}` (in `{name}`): every batch's `X` and `y` must be "
            "moved with `.to(device)` before they are used.")


def _tensors(values) -> list[torch.Tensor]:
    found = []
    for value in values:
        if isinstance(value, torch.Tensor):
            found.append(value)
        elif isinstance(value, (list, tuple)):
            found.extend(v for v in value if isinstance(v, torch.Tensor))
    return found


def _placeholder(value):
    """Zeros on the CPU in place of a `meta` tensor; anything else as it is."""
    return torch.zeros(value.shape, dtype=value.dtype) if _is_meta(value) else value


def _is_meta(value) -> bool:
    return isinstance(value, torch.Tensor) and value.device.type == "meta"


def is_meta_only_error(exc: BaseException) -> bool:
    """True for an error that only the `meta` device raises (no data, no kernel), which
    the same code would not raise on a CPU or a GPU; device mismatches are not."""
    text = str(exc)
    return ("meta" in text.lower() and not isinstance(exc, DeviceMismatch)
            and not any(word in text for word in _MISMATCH_WORDS))
