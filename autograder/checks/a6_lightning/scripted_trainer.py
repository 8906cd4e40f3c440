"""a6, part 3: make_trainer, driven by a trusted module whose validation is scripted.

The student's Trainer fits a module that logs a scripted `val_acc` and `val_loss` per
epoch, in a fresh working directory: the epoch it stops at, the checkpoint it keeps and
where it writes are compared with Lightning's own rules, and each usual mistake is named
by the epoch it leads to.
"""
from __future__ import annotations

import os
from pathlib import Path
from types import ModuleType

import lightning as L
import numpy as np
import torch
import torch.nn.functional as F
from lightning.pytorch.callbacks import EarlyStopping, ModelCheckpoint
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from autograder.checks.a6_lightning import check
from autograder.checks.a6_lightning.harness import (
    NUM_CLASSES,
    run_lightning,
    scratch_dir,
    student_trainer,
)
from autograder.checks.support import fail

# Scripted validation metrics, one per epoch, for the Trainer checks. Lightning's rule:
# an epoch improves when val_acc is strictly above the best; the run stops when the
# number of epochs in a row without improvement reaches `patience`.
# With patience 1 the correct Trainer stops after epoch 4 (index 3). The usual mistakes
# stop elsewhere, each at its own epoch: mode "min" after 2, monitoring val_loss after 6,
# patience + 1 after 7, the default patience 3 after 11, no early stopping after 12.
STOP_VAL_ACC = [0.50, 0.60, 0.70, 0.65, 0.75, 0.74, 0.73, 0.80, 0.79, 0.78, 0.77, 0.76]
STOP_VAL_LOSS = [0.70, 0.60, 0.55, 0.50, 0.48, 0.52, 0.47, 0.46, 0.45, 0.44, 0.43, 0.42]
STOP_PATIENCE = 1
# For the checkpoint: the best epoch (index 1) is neither the first, the worst nor the
# last, nor the one with the lowest val_loss. Early stopping is taken out of this run.
KEEP_VAL_ACC = [0.50, 0.70, 0.60, 0.65, 0.62]
KEEP_VAL_LOSS = [0.70, 0.65, 0.60, 0.50, 0.55]


class ScriptedModule(L.LightningModule):
    """A trusted module whose validation logs scripted val_acc and val_loss per epoch."""

    def __init__(self, val_acc: list[float], val_loss: list[float]):
        super().__init__()
        self.scripted_acc, self.scripted_loss = val_acc, val_loss
        self.layer = nn.Linear(4, NUM_CLASSES)
        self.validated_epochs: list[int] = []

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        return self.layer(X)

    def training_step(self, batch, batch_idx):
        X, y = batch
        loss = F.cross_entropy(self(X), y)
        self.log("train_loss", loss)
        return loss

    def validation_step(self, batch, batch_idx):
        epoch = min(self.current_epoch, len(self.scripted_acc) - 1)
        self.log("val_acc", self.scripted_acc[epoch])
        self.log("val_loss", self.scripted_loss[epoch])

    def on_validation_epoch_end(self) -> None:
        if not self.trainer.sanity_checking:
            self.validated_epochs.append(self.current_epoch)

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=0.01)


def _scripted_loaders() -> tuple[DataLoader, DataLoader]:
    generator = torch.Generator().manual_seed(0)
    X, y = torch.randn(4, 4, generator=generator), torch.tensor([0, 1, 0, 1])
    return DataLoader(TensorDataset(X, y), batch_size=4), DataLoader(TensorDataset(X, y),
                                                                     batch_size=4)


def _scripted_fit(submission: ModuleType, root: Path, val_acc: list[float],
                  val_loss: list[float], patience: int, *, early_stopping: bool = True
                  ) -> tuple[L.Trainer, ScriptedModule]:
    trainer = student_trainer(submission, str(root), max_epochs=len(val_acc),
                              patience=patience)
    if not early_stopping:
        trainer.callbacks[:] = [c for c in trainer.callbacks if not isinstance(c, EarlyStopping)]
    module = ScriptedModule(val_acc, val_loss)
    run_lightning(f"fitting a module that logs val_acc {val_acc} with your Trainer",
                  trainer.fit, module, *_scripted_loaders())
    return trainer, module


def lightning_stop(values: list[float], patience: int, mode: str) -> int:
    """How many epochs Lightning's EarlyStopping lets run on `values` (all of them when
    it never stops)."""
    best, wait = None, 0
    for epoch, value in enumerate(values):
        if best is None or (value > best if mode == "max" else value < best):
            best, wait = value, 0
        else:
            wait += 1
            if wait >= patience:
                return epoch + 1
    return len(values)


def _early_stopping_diagnosis(epochs: int, callbacks: list) -> str:
    stoppers = [c for c in callbacks if isinstance(c, EarlyStopping)]
    if not stoppers:
        return (" The Trainer has no EarlyStopping callback: add "
                "`EarlyStopping(monitor=\"val_acc\", mode=\"max\", patience=patience)` to its "
                "`callbacks`.")
    known = {
        lightning_stop(STOP_VAL_ACC, STOP_PATIENCE, "min"):
            " That is where `mode=\"min\"` (EarlyStopping's default) stops: a higher "
            "accuracy is better, so pass `mode=\"max\"`.",
        lightning_stop(STOP_VAL_LOSS, STOP_PATIENCE, "min"):
            " That is where monitoring `val_loss` stops: monitor `val_acc`.",
        lightning_stop(STOP_VAL_ACC, STOP_PATIENCE + 1, "max"):
            " That is where patience + 1 stops: Lightning already tolerates `patience` "
            "epochs without improvement, so pass `patience` as it is.",
        lightning_stop(STOP_VAL_ACC, 3, "max"):
            " That is where EarlyStopping's default patience of 3 stops: pass "
            "`patience=patience`.",
    }
    return known.get(epochs, f" The EarlyStopping callback found monitors "
                             f"{[s.monitor for s in stoppers]} with modes "
                             f"{[s.mode for s in stoppers]} and patience "
                             f"{[s.patience for s in stoppers]}.")


@check(points=3)
def early_stopping_stops_on_val_acc(submission: ModuleType) -> None:
    """make_trainer's Trainer stops when val_acc has not risen for `patience` epochs

    the student's Trainer fits a trusted module whose validation logs a scripted `val_acc`
    per epoch (patience 1): it must stop after epoch 4, as Lightning's rule does; mode
    `"min"` (2), monitoring `val_loss` (6), patience + 1 (7), the default patience 3 (11)
    and no EarlyStopping (12) stop elsewhere and are named
    """
    with scratch_dir() as scratch:
        trainer, module = _scripted_fit(submission, scratch / "run", STOP_VAL_ACC,
                                        STOP_VAL_LOSS, STOP_PATIENCE)
    epochs = len(module.validated_epochs)
    expected = lightning_stop(STOP_VAL_ACC, STOP_PATIENCE, "max")
    if epochs == expected:
        return
    fail(f"with `make_trainer(max_epochs={len(STOP_VAL_ACC)}, patience={STOP_PATIENCE})` and "
         f"a module whose validation logs val_acc {STOP_VAL_ACC} (one per epoch), training "
         f"ran {epochs} epoch(s); Lightning's EarlyStopping on val_acc with mode \"max\" "
         f"stops after {expected}, at the first epoch without improvement."
         + _early_stopping_diagnosis(epochs, trainer.callbacks))


def _kept_epoch(trainer: L.Trainer) -> int | None:
    checkpoint = trainer.checkpoint_callback
    path = checkpoint.best_model_path if checkpoint else ""
    if not path or not os.path.isfile(path):
        return None
    return torch.load(path, map_location="cpu", weights_only=False)["epoch"]


@check(points=2)
def checkpoint_keeps_best_val_acc(submission: ModuleType) -> None:
    """make_trainer's Trainer keeps the checkpoint of the epoch with the highest val_acc

    with early stopping taken out, the checkpoint
    `trainer.checkpoint_callback.best_model_path` names is from the epoch with the highest
    scripted `val_acc`; the lowest (mode `"min"`), the last (no `monitor`) and the lowest
    `val_loss` are named
    """
    with scratch_dir() as scratch:
        trainer, module = _scripted_fit(submission, scratch / "run", KEEP_VAL_ACC,
                                        KEEP_VAL_LOSS, len(KEEP_VAL_ACC), early_stopping=False)
        kept = _kept_epoch(trainer)
    best = int(np.argmax(KEEP_VAL_ACC))
    if kept == best:
        return
    if not any(isinstance(c, ModelCheckpoint) for c in trainer.callbacks):
        fail("the Trainer has no ModelCheckpoint callback (checkpointing is turned off): add "
             "`ModelCheckpoint(monitor=\"val_acc\", mode=\"max\")` to its `callbacks`.")
    observed = (f"trained {len(KEEP_VAL_ACC)} epochs on a module whose validation logs "
                f"val_acc {KEEP_VAL_ACC}, with early stopping taken out, the best checkpoint "
                f"(`trainer.checkpoint_callback.best_model_path`)")
    if kept is None:
        fail(f"{observed} is missing: nothing was saved. Keep the best: "
             "`ModelCheckpoint(monitor=\"val_acc\", mode=\"max\")`.")
    observed += f" is from epoch {kept}; the highest val_acc is epoch {best}'s"
    hints = {len(KEEP_VAL_ACC) - 1: " That is the last epoch: without `monitor=\"val_acc\"` "
                                    "ModelCheckpoint keeps the latest.",
             int(np.argmin(KEEP_VAL_ACC)): " That is the lowest val_acc: pass `mode=\"max\"` "
                                           "(the default `\"min\"` suits losses).",
             int(np.argmin(KEEP_VAL_LOSS)): " That is the lowest val_loss: monitor `val_acc`."}
    fail(f"{observed}.{hints.get(kept, '')}")


@check(points=1)
def writes_only_under_default_root_dir(submission: ModuleType) -> None:
    """the Trainer writes its checkpoints and logs under default_root_dir only

    run in a fresh working directory with `default_root_dir="run"`, no file appears outside
    `run/`
    """
    with scratch_dir() as scratch:
        root = scratch / "run"
        _scripted_fit(submission, root, KEEP_VAL_ACC, KEEP_VAL_LOSS, len(KEEP_VAL_ACC))
        outside = sorted(str(p.relative_to(scratch)) for p in scratch.rglob("*")
                         if p.is_file() and root not in p.parents)
    if outside:
        fail(f"run with `default_root_dir=\"{root.name}\"` in a fresh working directory, your "
             f"Trainer also wrote {outside[:5]}. Leave out `dirpath=` (ModelCheckpoint then "
             "saves under default_root_dir), pass the `logger` the grader gives through "
             "`**trainer_kwargs`, and write nothing else.")
