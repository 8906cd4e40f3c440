"""a4's hidden checks: EarlyStopping's bookkeeping, patience 0, the stop (see checks/hidden)."""
from __future__ import annotations

import math
from types import ModuleType

from autograder.checks.a4_early_stopping import (
    ACCURACY_ATOL,
    STOP_RUN,
    _accuracy_of,
    _attribute,
    _decision,
    _short,
    _stopper,
    _total_steps,
    _toy_run,
    _verdicts,
    check,
)
from autograder.checks.support import fail
from autograder.checks.trusted.early_stopping import TrustedEarlyStopping


def _stop_index(accuracies: list[float], patience: int) -> int | None:
    """Where the contract's rule stops on this sequence, or None."""
    stopper = TrustedEarlyStopping(patience)
    return next((i for i, acc in enumerate(accuracies) if stopper.step(acc)), None)


@check(points=1, hidden=True)
def tracks_best_score_and_intervals(submission: ModuleType) -> None:
    """best_score and intervals_since_improvement follow late improvements

    `best_score` and `intervals_since_improvement` after each of a sequence with late
    improvements (a counter never reset is named).
    """
    accuracies = [0.50, 0.45, 0.48, 0.70, 0.65, 0.72, 0.71]
    stopper = _stopper(submission, 10)
    reference = TrustedEarlyStopping(10)
    for count, acc in enumerate(accuracies, start=1):
        if _decision(stopper, acc):
            fail(f"with patience 10, `step` returned True after only {accuracies[:count]}.")
        reference.step(acc)
        got = (_attribute(stopper, "best_score"),
               _attribute(stopper, "intervals_since_improvement"))
        expected = (reference.best_score, reference.intervals_since_improvement)
        if math.isclose(got[0], expected[0], abs_tol=ACCURACY_ATOL) and got[1] == expected[1]:
            continue
        hint = ""
        if got[1] > expected[1] and expected[1] == 0:
            hint = " Reset the counter to 0 when the score improves."
        elif not math.isclose(got[0], expected[0], abs_tol=ACCURACY_ATOL):
            hint = " Keep the highest score seen so far in `best_score`."
        fail(f"after the dev accuracies {accuracies[:count]} (patience 10), best_score is "
             f"{got[0]:g} and intervals_since_improvement {got[1]:g}; expected {expected[0]:g} "
             f"and {expected[1]}.{hint}")


@check(points=1, hidden=True)
def patience_zero_stops_at_first_non_improvement(submission: ModuleType) -> None:
    """with patience=0, step returns True at the first evaluation without improvement

    With `patience=0`, the first evaluation without improvement stops (`patience or 3` is
    named).
    """
    accuracies = [0.50, 0.60, 0.55]
    stopper = _stopper(submission, 0)
    flags = [_decision(stopper, acc) for acc in accuracies]
    if flags[-1]:
        return  # stopping too early is stop_rule_waits_for_patience's business
    fail(f"with patience=0, fed {accuracies}, `step` returned {_verdicts(flags)}; the 0.55 "
         "is the first evaluation without improvement, and 1 > 0 must stop. A patience of 0 "
         "means no tolerance, not 'never stop' or 'use the default' (`patience or 3` "
         "turns 0 into 3).")


@check(points=1, hidden=True)
def stops_when_patience_runs_out(submission: ModuleType) -> None:
    """training ends right after the evaluation at which EarlyStopping says stop

    No optimizer step and no evaluation after the one where the rule says stop (`break` out
    of the inner loop only is named).
    """
    run, _, dev_loader = _toy_run(submission, STOP_RUN)
    evaluated = run.evaluated_steps
    accuracies = [_accuracy_of(submission, run.weights[step], dev_loader) for step in evaluated]
    stop = _stop_index(accuracies, STOP_RUN["patience"])
    if stop is None:
        if run.steps == _total_steps(STOP_RUN):
            return
        fail(f"no evaluation called for a stop, yet training ended after {run.steps} of "
             f"{_total_steps(STOP_RUN)} steps.")
    if len(evaluated) == stop + 1 and run.steps == evaluated[stop]:
        return
    where = f"after the evaluation at step {evaluated[stop]} (patience {STOP_RUN['patience']})"
    if run.steps == _total_steps(STOP_RUN):
        hint = (" The run never stopped: when `EarlyStopping.step` returns True, leave both "
                "loops.")
    elif run.steps > evaluated[stop]:
        hint = (" The rest of that epoch was skipped but the next one trained on: `break` "
                "leaves only the inner loop. Leave the epoch loop too (check a flag after the "
                "inner loop, or return).")
    else:
        hint = ""
    fail(f"EarlyStopping says stop {where}, but training went on to step {run.steps} "
         f"(dev evaluated after steps {_short(evaluated)}).{hint}")


