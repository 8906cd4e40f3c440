"""a5, part 3: `train_model` and `predict`, on the CPU, on a trusted net and small
seeded data (`toy_runs`): the optimizer's steps, the gradient at the first step and every
dev pass are watched from outside. The hidden checks reuse the watched run.
"""
from __future__ import annotations

import copy
import math
from dataclasses import dataclass, field
from types import ModuleType

import torch
import torch.nn.functional as F
from torch import nn
from torch.optim.optimizer import register_optimizer_step_pre_hook
from torch.overrides import TorchFunctionMode

from autograder.checks.a5_ffn_gpu import check
from autograder.checks.a5_ffn_gpu.toy_runs import TOY_LR, toy_accuracy, toy_loaders, toy_net
from autograder.checks.support import describe, fail, require

ADAM_FAMILY = (torch.optim.Adam, torch.optim.AdamW, torch.optim.NAdam, torch.optim.RAdam,
               torch.optim.Adamax)
# Gradients at the first step are compared up to a positive factor (Adam does not care
# whether the loss is a mean or a sum): cosine similarity at least this.
GRADIENT_COSINE = 0.9999


@dataclass
class TrainingWatch:
    """What a call of train_model did, seen from its loaders and its optimizer's steps."""

    model: nn.Module
    optimizers: list[torch.optim.Optimizer] = field(default_factory=list)
    first_step_gradients: list[torch.Tensor] | None = None
    reference_gradients: list[torch.Tensor] | None = None
    softmax_gradients: list[torch.Tensor] | None = None
    losses: list[list[float]] = field(default_factory=list)  # backward()'s loss, per epoch
    batch_sizes: list[list[int]] = field(default_factory=list)
    dev_accuracies: list[list[float]] = field(default_factory=list)  # per epoch
    batch: dict | None = None

    def train_loader(self, loader) -> "_WatchedLoader":
        return _WatchedLoader(loader, self._train_pass, self._train_batch)

    def dev_loader(self, loader) -> "_WatchedLoader":
        return _WatchedLoader(loader, lambda: self._dev_pass(loader), lambda batch: None)

    def _train_pass(self) -> None:
        self.losses.append([])
        self.batch_sizes.append([])
        self.dev_accuracies.append([])

    def _train_batch(self, batch: dict) -> None:
        self.batch = batch

    def _dev_pass(self, loader) -> None:
        if self.dev_accuracies:
            self.dev_accuracies[-1].append(toy_accuracy(self.model, loader))

    def on_backward(self, loss: torch.Tensor) -> None:
        if self.losses and self.batch is not None:
            self.losses[-1].append(loss.detach().float().item())
            self.batch_sizes[-1].append(len(self.batch["y"]))

    def on_step(self, optimizer, args, kwargs) -> None:
        self.optimizers.append(optimizer)
        if self.batch is None:
            return
        X, y = self.batch["X"], self.batch["y"]
        if self.first_step_gradients is None:
            self.first_step_gradients = [p.grad.detach().clone() if p.grad is not None
                                         else torch.zeros_like(p)
                                         for p in self.model.parameters()]
            self.reference_gradients = _gradients(self.model, X, y, F.cross_entropy)
            self.softmax_gradients = _gradients(
                self.model, X, y, lambda logits, y: F.cross_entropy(logits.softmax(dim=1), y))


class _BackwardRecorder(TorchFunctionMode):
    """Hand every tensor `.backward()` is called on (the student's loss) to `watch`."""

    def __init__(self, watch: TrainingWatch):
        super().__init__()
        self.watch = watch

    def __torch_function__(self, func, types, args=(), kwargs=None):
        if getattr(func, "__name__", "") == "backward" and args:
            self.watch.on_backward(args[0])
        return func(*args, **(kwargs or {}))


class _WatchedLoader:
    """A loader that reports each pass and each batch it hands out."""

    def __init__(self, loader, on_pass, on_batch):
        self._loader, self._on_pass, self._on_batch = loader, on_pass, on_batch

    def __len__(self) -> int:
        return len(self._loader)

    def __iter__(self):
        self._on_pass()
        for batch in self._loader:
            self._on_batch(batch)
            yield batch


def _gradients(model: nn.Module, X, y, loss_fn) -> list[torch.Tensor]:
    clone = copy.deepcopy(model)
    with torch.enable_grad():
        return list(torch.autograd.grad(loss_fn(clone(X), y), list(clone.parameters())))


def _cosine(a: list[torch.Tensor], b: list[torch.Tensor]) -> float:
    u, v = torch.cat([t.flatten() for t in a]), torch.cat([t.flatten() for t in b])
    return float(u @ v / (u.norm() * v.norm()).clamp_min(1e-30))


def watched_training(submission: ModuleType, num_epochs: int) -> tuple[TrainingWatch, object]:
    """Run the student's train_model on the trusted net and toy data, on the CPU."""
    train_model = require(submission, "train_model")
    model = toy_net(submission)
    watch = TrainingWatch(model)
    train_loader, dev_loader = toy_loaders()
    handle = register_optimizer_step_pre_hook(watch.on_step)
    try:
        with _BackwardRecorder(watch):
            history = train_model(model, watch.train_loader(train_loader),
                                  watch.dev_loader(dev_loader), num_epochs, TOY_LR,
                                  torch.device("cpu"))
    finally:
        handle.remove()
    return watch, history


@check(points=2)
def train_model_uses_adam_and_cross_entropy(submission: ModuleType) -> None:
    """train_model steps Adam (or kin) at lr on all parameters, on cross-entropy of the logits

    On a trusted net and toy data: the optimizer's class (Adam, AdamW, NAdam, RAdam,
    Adamax), its parameters and `lr`; the gradients at the first step against
    cross-entropy of the logits up to a positive factor (softmax before the loss is named).
    """
    watch, _ = watched_training(submission, 1)
    if not watch.optimizers:
        fail("`train_model` never called `optimizer.step()` (one epoch on 36 toy examples).")
    optimizer = watch.optimizers[0]
    if not isinstance(optimizer, ADAM_FAMILY):
        fail(f"`train_model` steps a {type(optimizer).__name__} optimizer; the assignment asks "
             "for Adam (torch.optim.Adam; AdamW, NAdam, RAdam and Adamax are fine too).")
    stepped = {id(p) for group in optimizer.param_groups for p in group["params"]}
    left_out = [tuple(p.shape) for p in watch.model.parameters() if id(p) not in stepped]
    if left_out:
        fail(f"the optimizer in `train_model` does not hold the parameters of shapes {left_out}; "
             "build it with `model.parameters()`.")
    rates = sorted({group["lr"] for group in optimizer.param_groups})
    if any(not math.isclose(float(r), TOY_LR, rel_tol=1e-6) for r in rates):
        fail(f"`train_model` was called with lr={TOY_LR} but its optimizer uses "
             f"lr={rates[0] if len(rates) == 1 else rates}; pass `lr` to the optimizer.")
    cosine = _cosine(watch.first_step_gradients, watch.reference_gradients)
    if cosine >= GRADIENT_COSINE:
        return
    if _cosine(watch.first_step_gradients, watch.softmax_gradients) >= GRADIENT_COSINE:
        fail("at the first `optimizer.step()` the gradients are those of cross-entropy applied "
             "to softmax probabilities: nn.CrossEntropyLoss / F.cross_entropy take the logits "
             "themselves and apply log-softmax inside; remove the softmax.")
    fail(f"at the first `optimizer.step()` the gradients are not those of "
         f"`F.cross_entropy(model(X), y)` on the batch just drawn (cosine similarity "
         f"{cosine:.4f}, expected 1). Compute the loss with nn.CrossEntropyLoss or "
         "F.cross_entropy on the logits, call backward once, and zero the gradients before it.")


def student_predict(submission: ModuleType, model: nn.Module, loader, device) -> object:
    return require(submission, "predict")(model, loader, device)


@check(points=1)
def predict_returns_cpu_labels(submission: ModuleType) -> None:
    """predict returns every example's predicted class as a LongTensor on the CPU

    Shape (N,), dtype int64, on the CPU, equal to the trusted net's argmax in loader order.
    """
    _, dev_loader = toy_loaders()
    model = toy_net(submission)
    expected = torch.cat([model(b["X"]).argmax(dim=1) for b in dev_loader]).detach()
    got = student_predict(submission, model, dev_loader, torch.device("cpu"))
    n = len(expected)
    if not isinstance(got, torch.Tensor) or tuple(got.shape) != (n,):
        fail(f"`predict` over {n} examples returned {describe(got)}; expected a tensor of "
             f"shape ({n},) holding one class index per example (`logits.argmax(dim=1)`).")
    if got.dtype != torch.int64:
        fail(f"`predict` returned dtype {got.dtype}; expected torch.int64 (a LongTensor of "
             "class indices, as `argmax` gives).")
    if got.device.type != "cpu":
        fail(f"`predict` returned a tensor on {got.device}; expected it on the CPU (`.cpu()`).")
    wrong = int((got != expected).sum())
    if wrong:
        fail(f"`predict` disagrees with the model's argmax on {wrong} of {n} examples, "
             "in loader order.")
