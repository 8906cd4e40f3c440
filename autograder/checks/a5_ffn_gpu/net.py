"""a5, part 1: the student's `FeedforwardNet`.

Its architecture is observed through the layers `forward` really calls (recorded with a
torch function mode), so a layer kept out of `parameters()` is still seen and blamed on
registration alone; dropout, the nonlinearity and the logits are each a check of their
own, and the grader's own loop trains the net on XOR.
"""
from __future__ import annotations

from dataclasses import dataclass
from itertools import pairwise
from types import ModuleType

import torch
import torch.nn.functional as F
from torch import nn
from torch.overrides import TorchFunctionMode

from autograder.checks.a5_ffn_gpu import check
from autograder.checks.support import describe, fail, require

ARCH_INPUT, ARCH_CLASSES = 10, 3
ARCHITECTURES = ([], [16], [16, 8, 4])  # 0, 1 and 3 hidden layers
DROPOUT = 0.3
# An affine map gives f((a+b)/2) == (f(a)+f(b))/2 up to float32 rounding (~1e-7 of the
# outputs' scale); a ReLU net at its default initialisation misses it by ~1e-1.
AFFINE_RTOL = 1e-4
PROBABILITY_ATOL = 1e-4

# XOR, full batch, the grader's loop (Adam 0.05, 150 steps, hidden [16]). The reference
# learns it from every one of seeds 0-49 (measured); a net is given three seeds, so one
# unlucky start (dead ReLUs) costs nothing, while an affine net or one whose hidden units
# all start equal never learns it.
XOR_X = torch.tensor([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
XOR_Y = torch.tensor([0, 1, 1, 0])
XOR_HIDDEN, XOR_LR, XOR_STEPS, XOR_SEEDS = [16], 0.05, 150, (0, 1, 2)


def student_net(submission: ModuleType, input_dim: int, hidden_dims: list[int],
                 num_classes: int = 2, dropout: float = 0.0) -> nn.Module:
    net_class = require(submission, "FeedforwardNet")
    return net_class(input_dim, list(hidden_dims), num_classes=num_classes, dropout=dropout)


def _signature(hidden_dims: list[int], dropout: float | None = None) -> str:
    extra = "" if dropout is None else f", dropout={dropout}"
    return f"FeedforwardNet({ARCH_INPUT}, {hidden_dims}, num_classes={ARCH_CLASSES}{extra})"


@dataclass
class LayerCall:
    kind: str  # "linear" or "dropout"
    weight: torch.Tensor | None = None
    p: float | None = None
    training: bool | None = None


class LayerRecorder(TorchFunctionMode):
    """Note every linear layer and every dropout `forward` really goes through, whether
    it is registered or not, in order."""

    def __init__(self):
        super().__init__()
        self.calls: list[LayerCall] = []

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        if func is F.linear:
            self.calls.append(LayerCall("linear", weight=_arg(args, kwargs, 1, "weight")))
        elif func is F.dropout:
            self.calls.append(LayerCall("dropout", p=float(_arg(args, kwargs, 1, "p", 0.5)),
                                        training=bool(_arg(args, kwargs, 2, "training", True))))
        elif func is torch.dropout:
            self.calls.append(LayerCall("dropout", p=float(_arg(args, kwargs, 1, "p")),
                                        training=bool(_arg(args, kwargs, 2, "train"))))
        return func(*args, **kwargs)

    @property
    def linear_weights(self) -> list[torch.Tensor]:
        return [c.weight for c in self.calls if c.kind == "linear"]


def _arg(args, kwargs, index: int, name: str, default=None):
    return args[index] if len(args) > index else kwargs.get(name, default)


def _layer_calls(model: nn.Module, X: torch.Tensor, *, training: bool = False) -> LayerRecorder:
    model.train(training)
    recorder = LayerRecorder()
    with torch.no_grad(), recorder:
        model(X)
    return recorder


def _expected_shapes(hidden_dims: list[int]) -> list[tuple[int, int]]:
    widths = [ARCH_INPUT] + list(hidden_dims) + [ARCH_CLASSES]
    return [(out, inp) for inp, out in pairwise(widths)]


@check(points=2)
def architecture_follows_hidden_dims(submission: ModuleType) -> None:
    """one nn.Linear per entry of hidden_dims, then one to num_classes (0, 1 and 3 hidden layers)

    The weight shapes of the linear layers `forward` really calls (recorded with a torch
    function mode, registered or not), for `hidden_dims` [], [16] and [16, 8, 4].
    """
    X = torch.randn(5, ARCH_INPUT)
    for hidden_dims in ARCHITECTURES:
        weights = _layer_calls(student_net(submission, ARCH_INPUT, hidden_dims, ARCH_CLASSES),
                               X).linear_weights
        shapes = [tuple(w.shape) for w in weights]
        expected = _expected_shapes(hidden_dims)
        if shapes != expected:
            fail(f"{_signature(hidden_dims)}: `forward` went through linear layers with weight "
                 f"shapes {shapes}; expected {expected} (nn.Linear(in, out) has weight shape "
                 "(out, in)): one nn.Linear per entry of hidden_dims, in order, then one to "
                 "num_classes; hidden_dims=[] is a single nn.Linear(input_dim, num_classes).")


@check(points=2)
def layers_registered_as_submodules(submission: ModuleType) -> None:
    """every layer forward uses is registered, so parameters() (the optimizer, .to) sees it

    Every weight `forward` uses must be in `model.parameters()`; layers in a plain Python
    list are named.
    """
    hidden_dims = [16, 8]
    net = student_net(submission, ARCH_INPUT, hidden_dims, ARCH_CLASSES)
    weights = _layer_calls(net, torch.randn(5, ARCH_INPUT)).linear_weights
    registered = {id(p) for p in net.parameters()}
    missing = [tuple(w.shape) for w in weights if id(w) not in registered]
    if missing:
        fail(f"{_signature(hidden_dims)}: {len(missing)} of the {len(weights)} weight matrices "
             f"`forward` uses (shapes {missing}) are not in `model.parameters()`, so the "
             "optimizer never updates them and `model.to(device)` never moves them. Layers "
             "kept in a plain Python list are not registered: use nn.ModuleList or "
             "nn.Sequential (or assign each layer to an attribute).")


@check(points=2)
def nonlinearity_between_layers(submission: ModuleType) -> None:
    """a nonlinearity (ReLU) between layers: the net is not an affine map

    Exact test of affinity: f((a+b)/2) against (f(a)+f(b))/2 on 64 random pairs, for one and
    two hidden layers (an affine net misses by ~1e-7 of its scale, a ReLU net by ~1e-1).
    """
    for hidden_dims in ([16], [16, 8]):
        net = student_net(submission, ARCH_INPUT, hidden_dims, ARCH_CLASSES).eval()
        a, b = torch.randn(64, ARCH_INPUT) * 3, torch.randn(64, ARCH_INPUT) * 3
        with torch.no_grad():
            fa, fb, fmid = net(a), net(b), net((a + b) / 2)
        scale = max(fa.abs().max().item(), fb.abs().max().item(), 1e-12)
        gap = ((fa + fb) / 2 - fmid).abs().max().item() / scale
        if gap < AFFINE_RTOL:
            fail(f"{_signature(hidden_dims)} computes an affine map: the output at the midpoint "
                 f"of two inputs is the midpoint of their outputs (relative gap {gap:.1e}, "
                 f"below {AFFINE_RTOL:g}). Stacked linear layers without a nonlinearity between "
                 "them collapse into one linear layer and cannot learn XOR; put nn.ReLU() after "
                 "each hidden nn.Linear.")


@check(points=1)
def dropout_after_each_hidden_activation(submission: ModuleType) -> None:
    """dropout with probability `dropout` after each hidden activation, and none in eval mode

    The dropout calls between consecutive linear layers in training mode (exactly one with
    p = 0.3 after each of 3 hidden layers, none on the input or logits); in eval mode two
    forward passes agree (`F.dropout` without `training=self.training` is named).
    """
    hidden_dims = [16, 8, 4]
    net = student_net(submission, ARCH_INPUT, hidden_dims, ARCH_CLASSES, dropout=DROPOUT)
    X = torch.randn(5, ARCH_INPUT)
    calls = _layer_calls(net, X, training=True).calls
    linears = [i for i, c in enumerate(calls) if c.kind == "linear"]
    gaps = list(pairwise([-1, *linears, len(calls)]))
    found = [[c.p for c in calls[start + 1:end] if c.kind == "dropout" and c.training
              and c.p > 0] for start, end in gaps]
    expected = [[]] + [[DROPOUT]] * len(hidden_dims) + [[]]
    if len(linears) == len(hidden_dims) + 1 and found != expected:
        where = ["before the first layer"] + [f"after hidden layer {i}" for i in
                                              range(1, len(hidden_dims) + 1)] + ["on the logits"]
        seen = "; ".join(f"{w}: {f or 'none'}" for w, f in zip(where, found, strict=True))
        fail(f"{_signature(hidden_dims, DROPOUT)} in training mode applied dropout with these "
             f"probabilities ({seen}); expected exactly one dropout with p={DROPOUT} after each "
             "of the 3 hidden activations and none on the input or the logits (nn.Dropout("
             "dropout) after each nn.ReLU()).")
    registered = {id(p) for p in net.parameters()}
    if any(id(w) not in registered for w in _layer_calls(net, X).linear_weights):
        return  # .eval() cannot reach unregistered layers: layers_registered_as_submodules
    net.eval()
    with torch.no_grad():
        first, second = net(X), net(X)
    if not torch.equal(first, second):
        fail(f"{_signature(hidden_dims, DROPOUT)} in eval mode gives different outputs for the "
             "same input: dropout is still active. nn.Dropout turns itself off in eval mode; "
             "`F.dropout` needs `training=self.training`.")


@check(points=2)
def forward_returns_logits(submission: ModuleType) -> None:
    """forward returns logits of shape (N, num_classes), not probabilities

    Shape (N, C) for N = 32 and 1; on inputs scaled by 10⁴ the outputs leave [0, 1]
    (softmax rows summing to 1 and sigmoid outputs are named).
    """
    hidden_dims = [16]
    net = student_net(submission, ARCH_INPUT, hidden_dims, ARCH_CLASSES).eval()
    X = torch.randn(32, ARCH_INPUT) * 1e4  # large inputs: logits far outside [0, 1]
    with torch.no_grad():
        out, one = net(X), net(X[:1])
    for value, n in ((out, 32), (one, 1)):
        if not isinstance(value, torch.Tensor) or tuple(value.shape) != (n, ARCH_CLASSES) \
                or not value.is_floating_point():
            fail(f"{_signature(hidden_dims)} given a batch of {n} returned {describe(value)}; "
                 f"expected a float tensor of shape ({n}, {ARCH_CLASSES}), one row of logits "
                 "per example (a batch of one keeps its first dimension).")
    if out.min() >= -PROBABILITY_ATOL and out.max() <= 1 + PROBABILITY_ATOL:
        sums = out.sum(dim=1)
        what = "softmax probabilities (each row sums to 1)" if torch.allclose(
            sums, torch.ones_like(sums), atol=PROBABILITY_ATOL) else "values in [0, 1]"
        fail(f"{_signature(hidden_dims)} on large inputs returned {what}; `forward` must return "
             "logits, the last nn.Linear's output, with no softmax or sigmoid: "
             "F.cross_entropy applies log-softmax itself, and probabilities fed to it train "
             "a different loss.")


def _xor_learned(net: nn.Module) -> bool:
    optimizer = torch.optim.Adam(net.parameters(), lr=XOR_LR)
    net.train()
    for _ in range(XOR_STEPS):
        optimizer.zero_grad()
        F.cross_entropy(net(XOR_X), XOR_Y).backward()
        optimizer.step()
    net.eval()
    with torch.no_grad():
        return bool((net(XOR_X).argmax(dim=1) == XOR_Y).all())


@check(points=2)
def xor_is_learned(submission: ModuleType) -> None:
    """your net with one hidden layer learns XOR, which logistic regression cannot

    `FeedforwardNet(2, [16])` trained by the grader (Adam 0.05, 150 full-batch steps)
    classifies all four points, from one of seeds 0-2 (the reference: every seed of 0-49).
    """
    for seed in XOR_SEEDS:
        torch.manual_seed(seed)
        if _xor_learned(student_net(submission, 2, XOR_HIDDEN)):
            return
    fail(f"FeedforwardNet(2, {XOR_HIDDEN}) trained by the grader on the four XOR points "
         f"(Adam {XOR_LR}, {XOR_STEPS} full-batch steps, cross-entropy on its logits) "
         f"misclassified some of them from each of the seeds {list(XOR_SEEDS)}; a one-hidden-"
         "layer ReLU net learns XOR from almost any start. Look for a missing nonlinearity, or "
         "weights initialised to one constant (every hidden unit then stays identical).")
