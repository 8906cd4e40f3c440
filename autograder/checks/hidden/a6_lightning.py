"""a6's hidden check: training_step logs train_loss (see checks/hidden)."""
from __future__ import annotations

from types import ModuleType

from lightning.pytorch.trainer.states import RunningStage

from autograder.checks.a6_lightning import check
from autograder.checks.a6_lightning.logged_metrics import logged_run
from autograder.checks.support import fail


@check(points=1, hidden=True)
def training_step_logs_train_loss(submission: ModuleType) -> None:
    """training_step logs train_loss

    one epoch under the grader's own Trainer, every `self.log` call recorded: `train_loss`
    is logged during training
    """
    run = logged_run(submission)
    logged = run.names(RunningStage.TRAINING.value)
    if "train_loss" not in logged:
        fail(f"during training your module logged {logged or 'nothing'}; `training_step` "
             "should call `self.log(\"train_loss\", loss)` so that the curve can be read "
             "back from the run.")


