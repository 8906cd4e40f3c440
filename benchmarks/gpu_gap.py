"""How far a5's SST-2 run lands apart on the CPU and on the GPU, for correct submissions
over several seeds: the figure `GPU_ACCURACY_TOLERANCE` must stay above.

    python benchmarks/gpu_gap.py [--seeds 5] [SUBMISSION ...]

Default submissions: the reference solution and a5's correct fixtures. Needs CUDA.
"""
from __future__ import annotations

import time
from pathlib import Path

import click
import torch

from autograder.checks.a5_ffn_gpu import sst2_gpu
from autograder.release import SOLUTIONS
from autograder.submission import load_submission

REPO = Path(__file__).resolve().parents[1]
CORRECT = sorted((REPO / "tests" / "fixtures" / "a5_ffn_gpu").glob("correct_*.py"))


@click.command()
@click.argument("submissions", nargs=-1, type=click.Path(exists=True, path_type=Path))
@click.option("--seeds", default=5, show_default=True)
def main(submissions: tuple[Path, ...], seeds: int) -> None:
    """One CPU and one GPU run per (submission, seed); the largest gap against the tolerance."""
    if not torch.cuda.is_available():
        raise click.ClickException("no CUDA device: the gap needs a GPU")
    paths = submissions or (SOLUTIONS / "a5_ffn_gpu" / "a5_ffn_gpu.ipynb", *CORRECT)
    gaps = []
    for path in paths:
        module = load_submission(path, module_name=f"gap_{path.stem}").module
        for seed in range(seeds):
            start = time.perf_counter()
            cpu = sst2_gpu.sst2_run(module, seed, device="cpu")
            gpu = sst2_gpu.sst2_run(module, seed, device="cuda")
            gaps.append(abs(gpu - cpu))
            click.echo(f"{path.name} seed {seed}: cpu {cpu:.4f} gpu {gpu:.4f} "
                       f"gap {gpu - cpu:+.4f} ({time.perf_counter() - start:.1f} s)")
    click.echo(f"largest gap {max(gaps):.4f} over {len(gaps)} runs; tolerance "
               f"{sst2_gpu.GPU_ACCURACY_TOLERANCE} on {torch.cuda.get_device_name()}, "
               f"torch {torch.__version__}")


if __name__ == "__main__":
    main()
