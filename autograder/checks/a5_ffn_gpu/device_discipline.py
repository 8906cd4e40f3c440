"""a5, part 4: device discipline, observed without a GPU on PyTorch's `meta` device
(`checks/devices.py`): `train_model` and `predict` run with `device=meta` on a trusted
net, so a model or batch left on the CPU shows at the first operation that mixes the two;
an operation `meta` cannot do is a grader error, never the student's fault.
"""
from __future__ import annotations

from types import ModuleType

import torch
from torch import nn

from autograder.checks.a5_ffn_gpu import check
from autograder.checks.a5_ffn_gpu.toy_runs import TOY_LR, toy_loaders, toy_net
from autograder.checks.a5_ffn_gpu.training import student_predict
from autograder.checks.devices import META, DeviceWatch, is_meta_only_error
from autograder.checks.support import fail, require


class MetaUnsupported(RuntimeError):
    """The student's code does something PyTorch's meta device cannot do (a grader limit)."""


def _on_meta(call, watch: DeviceWatch) -> object:
    """Run `call()` under the device watch. An error that only `meta` raises becomes a
    grader error: never the student's fault, and never "not implemented yet" (PyTorch
    raises NotImplementedError for an operator `meta` lacks, from the student's line)."""
    try:
        with watch:
            return call()
    except Exception as exc:  # noqa: BLE001 - sorted out below
        if not is_meta_only_error(exc):
            raise
        message = f"{type(exc).__name__}: {str(exc)[:300]}"
    raise MetaUnsupported(
        "the grader follows device placement on PyTorch's `meta` device (tensors without "
        f"data), and your code did something that device cannot do ({message}). This "
        "is not a bug in your code; your instructor will check it by hand.")


def forward_devices(model: nn.Module) -> list[tuple[str, set[str]]]:
    """Record (input's device, parameters' devices) at each forward call of `model`."""
    seen: list[tuple[str, set[str]]] = []
    original = model.forward

    def recorded(X, *args, **kwargs):
        seen.append((X.device.type, {p.device.type for p in model.parameters()}))
        return original(X, *args, **kwargs)

    model.forward = recorded
    return seen


@check(points=2)
def train_model_follows_device(submission: ModuleType) -> None:
    """train_model moves the model and every batch to `device` (observed without a GPU)

    Run with `device=meta` on a trusted net: the first operation that mixes `meta` with a
    CPU tensor names the model or the batch left behind; the optimizer's parameters must be
    on `meta` at every step. Host reads (`.item()`, `.cpu()`, f-strings) get zeros; an
    operator `meta` lacks is a grader error, never the student's fault.
    """
    train_model = require(submission, "train_model")
    model = toy_net(submission)
    seen = forward_devices(model)
    watch = DeviceWatch(model)
    train_loader, dev_loader = toy_loaders()
    _on_meta(lambda: train_model(model, train_loader, dev_loader, 1, TOY_LR, META), watch)
    if not seen or not watch.step_devices:
        fail("`train_model(..., num_epochs=1, ...)` returned without a forward pass and an "
             "optimizer step, so the grader could not see where they ran.")
    _require_on(seen, "train_model")
    if any(devices != {"meta"} for devices in watch.step_devices):
        fail(f"the optimizer stepped parameters on {sorted(set().union(*watch.step_devices))} "
             f"while `device` was `{META}`: move the model with `model.to(device)` before "
             "building the optimizer.")


def _require_on(seen: list[tuple[str, set[str]]], function: str) -> None:
    for batch_device, model_devices in seen:
        if model_devices != {"meta"}:
            fail(f"in `{function}` the model ran with its weights on {sorted(model_devices)} "
                 f"while `device` was `{META}`: call `model.to(device)`.")
        if batch_device != "meta":
            fail(f"in `{function}` a batch reached the model on `{batch_device}` while "
                 f"`device` was `{META}`: move each batch with `.to(device)`.")


@check(points=1)
def predict_follows_device(submission: ModuleType) -> None:
    """predict feeds batches on `device` and hands its predictions back on the CPU

    With a trusted net on `meta`: batches reach it on `meta`, the result comes back on the
    CPU.
    """
    _, dev_loader = toy_loaders()
    model = toy_net(submission).to(META)
    seen = forward_devices(model)
    got = _on_meta(lambda: student_predict(submission, model, dev_loader, META), DeviceWatch(model))
    if not seen:
        fail("`predict` never called the model.")
    _require_on(seen, "predict")
    if isinstance(got, torch.Tensor) and got.device.type != "cpu":
        fail(f"`predict` returned its predictions on `{got.device}` when `device` was "
             f"`{META}`; they must come back on the CPU (`.cpu()`), whatever device the "
             "model ran on.")
