"""Checks for a4: early stopping on SST-2.

`EarlyStopping` is fed scripted dev accuracies, one property per check, and judged
against the contract's rule written down as data. The checks of
`train_with_early_stopping` run it on small seeded data with the trusted model and a
trusted `EarlyStopping` swapped in where the kit has them (`checks.stand_ins`: a bug in
the student's class then costs its own checks only), and observe the run instead of
reading the code: when the dev loader is iterated, after how many optimizer steps, with
which weights, and what the model holds when the function returns.
"""
from __future__ import annotations

import math
from types import ModuleType
from typing import Any

import numpy as np
import torch
from torch import nn

from autograder.checks.instruments import RecordedRun, run_student
from autograder.checks.registry import checker
from autograder.checks.sst2_setting import (
    SST2_SEED,
    SST2_SETTING,
    require_dev_accuracy,
    seeded_sst2_loaders,
    sst2_optimizer,
)
from autograder.checks.stand_ins import trusted_module
from autograder.checks.support import CPU, as_float, describe, fail, require, trusted
from autograder.checks.toy_data import accuracy_from_logits, loop_model, toy_split_loaders

check = checker("a4_early_stopping", datasets=("sst2",))

ACCURACY_ATOL = 1e-6
RESULT_KEYS = ("best_dev_acc", "best_step", "stopped_early", "history")

# Toy runs: 36 training examples with 20% of the labels flipped, 40 dev examples from the
# same rule, SGD on the oracle model. With these settings (measured) dev accuracy climbs
# to 0.75 at step 8, falls to 0.575 and 0.55, and patience 1 stops the run at step 12,
# in epoch 3 of 4: the last weights are clearly worse than the best ones.
TOY_TRAIN_BATCHES = [8, 8, 8, 8, 4]
TOY_DEV_BATCHES = [8, 8, 8, 8, 8]
TOY_DATA_SEED = 0
TOY_LABEL_NOISE = 0.2
TOY_MODEL_SEED = 2
TOY_LR = 0.3
STOP_RUN = {"max_epochs": 4, "eval_every": 2, "patience": 1}
# No stop: 2 epochs of 5 steps, dev after steps 3, 6 and 9. Evaluating every step (10
# passes) or every epoch (after 5 and 10) gives other steps.
SCHEDULE_RUN = {"max_epochs": 2, "eval_every": 3, "patience": 100}

# SST-2 run: the grader's shared setting (sst2_setting), the oracle model, evaluation
# every 100 of the 1,053 steps per epoch (see benchmarks/calibrate.py).
SST2_RUN = {"max_epochs": 3, "eval_every": 100, "patience": 3}
# Measured with benchmarks/calibrate.py, reference solution, seeds 0-9, torch 2.13
# CPU: every run stops in epoch 1 or 2 (after steps 900-1,600 of 3,159; best steps
# 500-1,200); the restored model's dev accuracy is min 0.8222, mean 0.8260, max 0.8303.
# The threshold sits 0.0222 below the minimum, as a2's does. A run that never stops finds
# a best about as high (MEASUREMENTS.md), so the stop is observed directly, from the
# optimizer's step count; evaluating after every step stops at step 9 with 0.553.
SST2_MIN_DEV_ACCURACY = 0.80


# ------------------------------------------------------------------ EarlyStopping


def _stopper(submission: ModuleType, patience: int):
    return require(submission, "EarlyStopping")(patience)


def _decision(stopper, dev_acc: float) -> bool:
    decision = stopper.step(dev_acc)
    if isinstance(decision, torch.Tensor) and decision.numel() == 1:
        decision = decision.item()
    if not isinstance(decision, (bool, np.bool_)):
        fail(f"`EarlyStopping.step` should return a bool (True to stop); got "
             f"{describe(decision)}.")
    return bool(decision)


def _attribute(stopper, name: str) -> float:
    if not hasattr(stopper, name):
        fail(f"`EarlyStopping` has no attribute `{name}`; the contract keeps `best_score` "
             "and `intervals_since_improvement` on the object.")
    return as_float(getattr(stopper, name), f"`{name}`")


def _ordinal(n: int) -> str:
    return f"{n}{'th' if 10 <= n % 100 < 20 else {1: 'st', 2: 'nd', 3: 'rd'}.get(n % 10, 'th')}"


def _verdicts(flags: list[bool]) -> str:
    return "[" + ", ".join("True" if f else "False" for f in flags) + "]"


# Accuracies rise, then never improve again and never tie the best: only the count of
# evaluations without improvement decides when to stop. Each row: (patience, the dev
# accuracies, intervals_since_improvement after each one, the index of the evaluation at
# which the rule stops). The counts and the stop follow the contract's rule (improvement
# is strictly greater; stop once intervals_since_improvement > patience), written down as
# data so that no student's EarlyStopping computes what theirs is compared with.
STOP_SEQUENCES = (
    (2, [0.50, 0.60, 0.58, 0.55, 0.57, 0.59], [0, 0, 1, 2, 3, 4], 4),
    (3, [0.70, 0.72, 0.74, 0.71, 0.73, 0.69, 0.70, 0.735], [0, 0, 0, 1, 2, 3, 4, 5], 6),
    (1, [0.80, 0.79, 0.78, 0.70], [0, 1, 2, 3], 2),
)


@check(points=2)
def stop_rule_waits_for_patience(submission: ModuleType) -> None:
    """step returns True once intervals_since_improvement > patience, not before

    On scripted dev accuracies (no ties, patience 1-3), `step` returns True exactly when
    `intervals_since_improvement > patience` (`>=` is named).
    """
    for patience, accuracies, counts, expected in STOP_SEQUENCES:
        stopper = _stopper(submission, patience)
        flags = []
        for acc in accuracies:
            flags.append(_decision(stopper, acc))
            if flags[-1]:
                break
        got = len(flags) - 1 if flags[-1] else None
        if got == expected:
            continue
        fed = f"with patience={patience}, fed the dev accuracies {accuracies[:len(flags)]}"
        rule = (f"the rule stops when intervals_since_improvement > patience, here at the "
                f"{_ordinal(counts[expected])} evaluation without improvement")
        if got is None:
            fail(f"{fed}, `step` never returned True ({_verdicts(flags)}); {rule}.")
        hint = (" Use `>`, not `>=`: patience is the number of evaluations without "
                "improvement that are tolerated." if counts[got] == patience else "")
        fail(f"{fed}, `step` returned {_verdicts(flags)}: True with "
             f"{counts[got]} evaluation(s) without improvement; {rule}.{hint}")


@check(points=2)
def ties_are_not_improvements(submission: ModuleType) -> None:
    """a dev accuracy equal to the best is not an improvement

    A repeated best does not reset `intervals_since_improvement`.
    """
    accuracies = [0.50, 0.70, 0.70, 0.70]
    stopper = _stopper(submission, 10)
    for count, acc in enumerate(accuracies, start=1):
        _decision(stopper, acc)
        intervals = _attribute(stopper, "intervals_since_improvement")
        expected = max(0, count - 2)
        if intervals == expected:
            continue
        if count > 2 and intervals == 0:
            fail(f"after the dev accuracies {accuracies[:count]} (patience 10), "
                 "`intervals_since_improvement` is 0: the repeated 0.7, a tie with the best, "
                 f"counted as an improvement. Improvement is strictly greater (`>`, not `>=`): "
                 f"the counter should be {expected}.")
        fail(f"after the dev accuracies {accuracies[:count]} (patience 10), "
             f"`intervals_since_improvement` is {intervals:g}; expected {expected}.")


# ------------------------------------------------------------- train_with_early_stopping


def _run_early_stopping(submission: ModuleType, model: nn.Module,
                        optimizer: torch.optim.Optimizer, train_loader, dev_loader, *,
                        max_epochs: int, eval_every: int, patience: int,
                        keep_weights: bool = True) -> RecordedRun:
    """Record the student's train_with_early_stopping, run with a trusted EarlyStopping
    where the kit has one (the student kit runs their own)."""
    train_with_early_stopping = require(submission, "train_with_early_stopping")
    stand_ins = trusted_module("early_stopping")
    # Only a class the student defines is swapped: nothing is added to their namespace.
    swap = {}
    if stand_ins is not None and hasattr(submission, "EarlyStopping"):
        swap["EarlyStopping"] = stand_ins.TrustedEarlyStopping
    try:
        with trusted(submission, **swap):
            return run_student(train_with_early_stopping, model, optimizer, train_loader,
                               dev_loader, max_epochs, eval_every, patience, CPU,
                               keep_weights=keep_weights)
    except AttributeError as exc:
        if swap and isinstance(getattr(exc, "obj", None), swap["EarlyStopping"]):
            fail(f"the grader runs `train_with_early_stopping` with a trusted `EarlyStopping` "
                 f"that has only the contract's `step`, `best_score`, "
                 f"`intervals_since_improvement` and `patience`; your function used "
                 f"`{exc.name}`. Use the contract's names only.")
        raise


def _toy_run(submission: ModuleType, settings: dict) -> tuple[RecordedRun, nn.Module, Any]:
    train_loader, dev_loader = toy_split_loaders(TOY_TRAIN_BATCHES, TOY_DEV_BATCHES,
                                                 seed=TOY_DATA_SEED, label_noise=TOY_LABEL_NOISE)
    model = loop_model(submission, seed=TOY_MODEL_SEED)
    optimizer = torch.optim.SGD(model.parameters(), lr=TOY_LR)
    run = _run_early_stopping(submission, model, optimizer, train_loader, dev_loader,
                              **settings)
    return run, model, dev_loader


def _accuracy_of(submission: ModuleType, weights: list[torch.Tensor], dev_loader) -> float:
    model = loop_model(submission)
    with torch.no_grad():
        for param, value in zip(model.parameters(), weights, strict=True):
            param.copy_(value)
    return accuracy_from_logits(model, dev_loader)


def _total_steps(settings: dict) -> int:
    return settings["max_epochs"] * len(TOY_TRAIN_BATCHES)


def _short(steps: list[int]) -> str:
    if len(steps) <= 8:
        return str(steps)
    return f"[{', '.join(map(str, steps[:6]))}, …, {steps[-1]}]"


def _result_dict(run: RecordedRun) -> dict:
    result = run.result
    if not isinstance(result, dict) or any(k not in result for k in RESULT_KEYS):
        found = sorted(result) if isinstance(result, dict) else describe(result)
        fail(f"`train_with_early_stopping` should return a dict with keys "
             f"{list(RESULT_KEYS)}; got {found}.")
    return result


def _history(result: dict) -> list[tuple[int, float]]:
    history = result["history"]
    if not isinstance(history, list) or not all(
            isinstance(r, dict) and {"step", "dev_acc"} <= set(r) for r in history):
        fail("'history' should be a list of dicts with keys 'step' and 'dev_acc', one per "
             f"dev evaluation; got {describe(history)}.")
    return [(int(as_float(r["step"], "a history 'step'")), as_float(r["dev_acc"], "'dev_acc'"))
            for r in history]


@check(points=1)
def returns_best_and_history(submission: ModuleType) -> None:
    """the returned dict reports every evaluation, the best one and whether it stopped early

    One history entry per evaluation, with the step and the accuracy actually measured;
    `best_dev_acc`/`best_step` the first best; `stopped_early` true exactly when the run
    ended early.
    """
    run, _, dev_loader = _toy_run(submission, STOP_RUN)
    result = _result_dict(run)
    history = _history(result)
    evaluated = run.evaluated_steps
    if not evaluated:
        fail("`train_with_early_stopping` never iterated the dev loader: nothing was evaluated.")
    if [step for step, _ in history] != evaluated:
        fail(f"'history' lists the steps {_short([s for s, _ in history])}, but dev was "
             f"evaluated after steps {_short(evaluated)}; record one entry per evaluation, "
             "numbering steps globally across epochs from 1.")
    for step, acc in history:
        measured = _accuracy_of(submission, run.weights[step], dev_loader)
        if not math.isclose(acc, measured, abs_tol=ACCURACY_ATOL):
            fail(f"'history' says dev accuracy {acc:.6g} at step {step}; the model's dev "
                 f"accuracy after that step was {measured:.6g}.")
    accuracies = [acc for _, acc in history]
    best = accuracies.index(max(accuracies))
    best_acc = as_float(result["best_dev_acc"], "'best_dev_acc'")
    best_step = int(as_float(result["best_step"], "'best_step'"))
    if not math.isclose(best_acc, accuracies[best], abs_tol=ACCURACY_ATOL) \
            or best_step != history[best][0]:
        fail(f"'best_dev_acc' is {best_acc:.6g} at 'best_step' {best_step}; the history's best "
             f"is {accuracies[best]:.6g}, first reached at step {history[best][0]}.")
    stopped = result["stopped_early"]
    stopped = stopped.item() if isinstance(stopped, torch.Tensor) else stopped
    if not isinstance(stopped, (bool, np.bool_)):
        fail(f"'stopped_early' should be a bool; got {describe(stopped)}.")
    ran_out = run.steps >= _total_steps(STOP_RUN)
    if bool(stopped) == ran_out:
        fail(f"'stopped_early' is {bool(stopped)}, but the run "
             + ("trained all" if ran_out else f"ended after {run.steps} of")
             + f" {_total_steps(STOP_RUN)} steps.")


@check(points=2)
def evaluates_dev_every_eval_every_steps(submission: ModuleType) -> None:
    """dev is evaluated after every eval_every-th step, counted across epochs, and no more

    Dev passes (seen from the dev loader) come after steps 3, 6 and 9 of 10 with
    `eval_every=3`: every step and every epoch are named; re-checking the restored model is
    allowed.
    """
    run, _, _ = _toy_run(submission, SCHEDULE_RUN)
    eval_every, total = SCHEDULE_RUN["eval_every"], _total_steps(SCHEDULE_RUN)
    expected = list(range(eval_every, total + 1, eval_every))
    got = run.evaluated_steps
    if got == expected:
        return
    hint = ""
    if got == list(range(1, total + 1)):
        hint = (" That is every step: eval_every is ignored, and the dev passes cost more "
                "than the training.")
    elif got == list(range(len(TOY_TRAIN_BATCHES), total + 1, len(TOY_TRAIN_BATCHES))):
        hint = " That is once per epoch: eval_every is ignored."
    elif got and got[0] == 0:
        hint = " Step 0 is before any training: evaluate after a step, not before."
    fail(f"with eval_every={eval_every} over {SCHEDULE_RUN['max_epochs']} epochs of "
         f"{len(TOY_TRAIN_BATCHES)} steps, dev was evaluated after steps {_short(got)}; "
         f"expected after steps {expected} only (step numbers count across epochs from 1; "
         f"evaluate when step % eval_every == 0).{hint}")


@check(points=3)
def restores_best_weights(submission: ModuleType) -> None:
    """the model holds the best evaluation's weights when the function returns

    When the function returns, the model's dev accuracy is the best evaluation's; weights
    never loaded back and weights stored by reference (`model.state_dict()` loaded back onto
    itself) are named.
    """
    run, model, dev_loader = _toy_run(submission, STOP_RUN)
    evaluated = run.evaluated_steps
    if not evaluated:
        fail("`train_with_early_stopping` never iterated the dev loader: nothing was evaluated.")
    accuracies = [_accuracy_of(submission, run.weights[step], dev_loader) for step in evaluated]
    best = accuracies.index(max(accuracies))
    final = accuracy_from_logits(model, dev_loader)
    if math.isclose(final, accuracies[best], abs_tol=ACCURACY_ATOL):
        return
    observed = (f"when it returned, the model's dev accuracy was {final:.4g}; the best "
                f"evaluation (step {evaluated[best]}) had {accuracies[best]:.4g}")
    if math.isclose(final, accuracies[-1], abs_tol=ACCURACY_ATOL):
        observed += f", the last one (step {evaluated[-1]}) {accuracies[-1]:.4g}"
    if run.aliased_loads:
        fail(f"{observed}. The best weights were stored by reference: `model.state_dict()` "
             "returns the live tensors, which training keeps changing, so loading them back "
             "restores the last weights. Store a copy: `copy.deepcopy(model.state_dict())` "
             "or `{k: v.detach().clone() for k, v in model.state_dict().items()}`.")
    if run.loads == 0:
        fail(f"{observed}. The best weights were never loaded back: call "
             "`model.load_state_dict(best_state)` before returning (and store `best_state` "
             "as a copy, not `model.state_dict()` itself).")
    fail(f"{observed}. Keep a copy of the weights at each new best and load it into `model` "
         "before returning.")


def sst2_run(submission: ModuleType, seed: int = SST2_SEED) -> tuple[RecordedRun, float, int]:
    """The grader's SST-2 run: (what was observed, restored dev accuracy, steps available)."""
    train_loader, dev_loader, vocab_size = seeded_sst2_loaders(seed)
    model = loop_model(submission, vocab_size, seed=seed)
    optimizer = sst2_optimizer(model)
    run = _run_early_stopping(submission, model, optimizer, train_loader, dev_loader,
                              **SST2_RUN, keep_weights=False)
    return run, accuracy_from_logits(model, dev_loader), SST2_RUN["max_epochs"] * len(train_loader)


def calibration_run(submission: ModuleType, seed: int) -> tuple[float, str]:
    """The run the threshold is calibrated on (benchmarks/calibrate.py): (accuracy, where
    it stopped); the threshold assumes every run stops before its last epoch."""
    run, accuracy, total = sst2_run(submission, seed)
    best = run.result["best_step"] if isinstance(run.result, dict) else "?"
    epoch = 1 + (run.steps - 1) * SST2_RUN["max_epochs"] // total
    return accuracy, (f"stopped at step {run.steps} of {total} (epoch {epoch}), best step "
                      f"{best}, {len(run.evaluated_steps)} evaluations")


@check(points=3, threshold=SST2_MIN_DEV_ACCURACY)
def sst2_stops_early_and_restores(submission: ModuleType) -> None:
    """on SST-2 the run stops early and the restored model reaches the expected dev accuracy

    With a2's model and settings (Adam 0.01, batch 64, seed 0) with `max_epochs=3,
    eval_every=100, patience=3`: the run stops before its last step and the restored model
    reaches 0.80 dev accuracy.
    """
    run, accuracy, total = sst2_run(submission)
    settings = (f"logistic regression on SST-2 ({SST2_SETTING}, "
                f"max_epochs {SST2_RUN['max_epochs']}, eval_every "
                f"{SST2_RUN['eval_every']}, patience {SST2_RUN['patience']})")
    if run.steps >= total:
        fail(f"{settings} trained all {total} steps without stopping; the reference stops "
             "after 900-1,600 steps, in the first or second epoch. The other checks point at "
             "the likely cause.")
    require_dev_accuracy(
        "a4_early_stopping.sst2_stops_early_and_restores", accuracy,
        observed=f"{settings} stopped after {run.steps} steps and {len(run.evaluated_steps)} "
                 "dev evaluations, and the model it left has",
        reference="the reference restores 0.82-0.83")
