"""Observe training code while it runs, instead of reading its source.

`StepRecorder` sees, at every `optimizer.step()`, whether each parameter's
`.grad` holds exactly the gradient of the latest backward pass; that is what a
correctly placed `zero_grad` guarantees, whatever style the student wrote it in.
`ForwardRecorder` notes the train/eval mode and grad mode of every forward call.
`AutogradDetector` notices any use of the autograd engine while code that must work
by hand runs. `run_student` calls a training function and records what it did to the
model: dev-loader passes and the weights they saw, optimizer steps, `load_state_dict`
calls.
"""
from __future__ import annotations

import hashlib
import traceback
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator

import torch
from torch import nn
from torch.overrides import TorchFunctionMode

from autograder.student_code import location, student_frames

FRESH, WIPED, ACCUMULATED, NO_BACKWARD = "fresh", "wiped", "accumulated", "no backward"


@dataclass
class StepRecorder:
    model: nn.Module
    optimizer: torch.optim.Optimizer
    steps: list[str] = field(default_factory=list)
    backward_passes: int = 0
    zero_grad_calls: int = 0

    def __post_init__(self):
        self._params = [p for p in self.model.parameters() if p.requires_grad]
        self._latest: list[torch.Tensor | None] = [None] * len(self._params)
        self._since_step = False
        self._handles = [p.register_hook(self._hook_for(i)) for i, p in enumerate(self._params)]
        self._handles.append(self.optimizer.register_step_pre_hook(self._before_step))
        self._count_calls(self.optimizer)
        self._count_calls(self.model)

    def _hook_for(self, index: int):
        def hook(grad: torch.Tensor) -> None:
            if index == 0:
                self.backward_passes += 1
            self._latest[index] = grad.detach().clone()
            self._since_step = True
        return hook

    def _count_calls(self, owner) -> None:
        original = owner.zero_grad

        def counted(*args, **kwargs):
            self.zero_grad_calls += 1
            return original(*args, **kwargs)

        owner.zero_grad = counted

    def _before_step(self, optimizer, args, kwargs) -> None:
        self.steps.append(self._state_at_step())
        self._since_step = False

    def _state_at_step(self) -> str:
        if not self._since_step:
            return NO_BACKWARD
        pairs = [(p.grad, latest) for p, latest in zip(self._params, self._latest, strict=True)
                 if latest is not None]
        if all(g is None or not g.any() for g, latest in pairs if latest.any()):
            return WIPED
        if all(g is not None and torch.allclose(g, latest, rtol=1e-5, atol=1e-8)
               for g, latest in pairs):
            return FRESH
        return ACCUMULATED

    def close(self) -> None:
        for handle in self._handles:
            handle.remove()
        del self.optimizer.zero_grad, self.model.zero_grad


@dataclass
class ForwardCall:
    training: bool
    grad_enabled: bool


class ForwardRecorder:
    """Wrap `model.forward` (also reached by `model(...)`) to log each call's modes."""

    def __init__(self, model: nn.Module):
        self.calls: list[ForwardCall] = []
        original = model.forward

        def recorded(*args, **kwargs):
            self.calls.append(ForwardCall(model.training, torch.is_grad_enabled()))
            return original(*args, **kwargs)

        model.forward = recorded


@dataclass(frozen=True)
class AutogradUse:
    what: str
    where: str


class AutogradDetector(TorchFunctionMode):
    """Notice any use of the autograd engine while student code runs.

    Every torch call passes through `__torch_function__`: a call to `backward`,
    `torch.autograd.grad` or `requires_grad_`, or a result that requires grad
    (a graph being built, `torch.enable_grad()` or not), counts. The engine's
    entry point is wrapped too, for calls that bypass torch functions.
    """

    NAMED = {"backward": "`.backward()`", "grad": "`torch.autograd.grad`",
             "requires_grad_": "`requires_grad_()`"}
    _ENGINE_OWNERS = (torch.autograd, torch.autograd.graph)

    def __init__(self) -> None:
        super().__init__()
        self.uses: list[AutogradUse] = []
        self._saved: list[tuple[Any, Callable]] = []

    def __enter__(self) -> AutogradDetector:
        for owner in self._ENGINE_OWNERS:
            original = owner._engine_run_backward
            self._saved.append((owner, original))
            owner._engine_run_backward = self._engine_wrapper(original)
        return super().__enter__()

    def __exit__(self, *exc_info) -> None:
        try:
            super().__exit__(*exc_info)
        finally:
            for owner, original in self._saved:
                owner._engine_run_backward = original

    def _engine_wrapper(self, original: Callable) -> Callable:
        def run_backward(*args, **kwargs):
            self._note("the autograd engine (`.backward()` or `torch.autograd.grad`)")
            return original(*args, **kwargs)
        return run_backward

    def __torch_function__(self, func, types, args=(), kwargs=None):
        name = getattr(func, "__name__", "")
        if name in self.NAMED:
            self._note(self.NAMED[name])
        result = func(*args, **(kwargs or {}))
        if any(t.requires_grad for t in tensors_in(result)):
            self._note(f"a tensor that requires grad (from `{name or func}`), i.e. an "
                       "autograd graph")
        return result

    def _note(self, what: str) -> None:
        frames = student_frames(traceback.extract_stack())
        self.uses.append(AutogradUse(what, location(frames[-1]) if frames else ""))


def tensors_in(value: Any, depth: int = 0) -> Iterator[torch.Tensor]:
    """The tensors in a value, looking a few levels into dicts, lists and tuples."""
    if isinstance(value, torch.Tensor):
        yield value
    elif depth < 4 and isinstance(value, dict):
        for item in value.values():
            yield from tensors_in(item, depth + 1)
    elif depth < 4 and isinstance(value, (list, tuple)):
        for item in value:
            yield from tensors_in(item, depth + 1)


@dataclass
class RecordedRun:
    """What a call of a training function did, as observed from outside."""

    result: Any = None
    evaluated_steps: list[int] = field(default_factory=list)  # steps done at each evaluation
    weights: dict[int, list[torch.Tensor]] = field(default_factory=dict)  # ... and the weights
    fingerprints: set[str] = field(default_factory=set)  # of every weights evaluated
    steps: int = 0  # optimizer steps done when it returned
    loads: int = 0  # load_state_dict calls
    aliased_loads: int = 0  # ... given tensors that share storage with the live weights


class RecordingLoader:
    """A dev loader that notes the step count (and the weights) each time it is iterated.

    A pass over weights already evaluated (the restored model checked once more, or a
    second pass with no step in between) is not a new evaluation."""

    def __init__(self, loader, run: RecordedRun, model: nn.Module, keep_weights: bool):
        self._loader, self._run, self._model = loader, run, model
        self._keep_weights = keep_weights

    def __iter__(self):
        params = [p.detach() for p in self._model.parameters()]
        digest = hashlib.sha1()
        for p in params:
            digest.update(p.cpu().contiguous().numpy().tobytes())
        if digest.hexdigest() not in self._run.fingerprints:
            self._run.fingerprints.add(digest.hexdigest())
            self._run.evaluated_steps.append(self._run.steps)
            if self._keep_weights:
                self._run.weights[self._run.steps] = [p.clone() for p in params]
        return iter(self._loader)

    def __len__(self) -> int:
        return len(self._loader)

    def __getattr__(self, name: str):
        return getattr(self._loader, name)


def run_student(train: Callable, model: nn.Module, optimizer: torch.optim.Optimizer,
                train_loader, dev_loader, *args: Any, keep_weights: bool = True) -> RecordedRun:
    """Call `train(model, train_loader, dev_loader, optimizer, *args)`, the order of the
    contracts' training functions, with a recording dev loader, counting optimizer steps
    and `load_state_dict` calls; `keep_weights` also keeps the weights of each evaluation."""
    run = RecordedRun()

    def count_step(*_):
        run.steps += 1

    original_load = model.load_state_dict

    def load_state_dict(state_dict, *load_args, **load_kwargs):
        live = {p.data_ptr() for p in model.parameters()}
        run.loads += 1
        run.aliased_loads += any(isinstance(t, torch.Tensor) and t.data_ptr() in live
                                 for t in state_dict.values())
        return original_load(state_dict, *load_args, **load_kwargs)

    model.load_state_dict = load_state_dict
    handle = optimizer.register_step_post_hook(count_step)
    recording = RecordingLoader(dev_loader, run, model, keep_weights)
    try:
        run.result = train(model, train_loader, recording, optimizer, *args)
    finally:
        handle.remove()
        del model.load_state_dict
    return run
