"""Observe training code while it runs, instead of reading its source.

`StepRecorder` sees, at every `optimizer.step()`, whether each parameter's
`.grad` holds exactly the gradient of the latest backward pass; that is what a
correctly placed `zero_grad` guarantees, whatever style the student wrote it in.
`ForwardRecorder` notes the train/eval mode and grad mode of every forward call.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import nn

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
        pairs = [(p.grad, latest) for p, latest in zip(self._params, self._latest)
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
