"""Timing helpers for the benchmarks: quiet machines, blocks of samples, and what the machine was.

On a machine with two cores anything else running slows multi-threaded matrix products by
large and erratic factors, so every block of samples records ``others_cpus``, the average
number of CPUs other processes kept busy while it ran (``/proc/stat`` minus this process's
own CPU time), and a run can wait for quiet moments and time a disturbed block again.
"""

from __future__ import annotations

import gc
import math
import os
import platform
import resource
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

BUSY = 0.25  # CPUs kept busy by other processes during a block, above which it counts as disturbed
ROOT = Path(__file__).resolve().parent.parent


def busy_cpu_seconds() -> float | None:
    """CPU-seconds all processes have spent busy since boot (``/proc/stat``), or None."""
    try:
        with open("/proc/stat") as fh:
            f = [int(x) for x in fh.readline().split()[1:9]]
    except OSError:
        return None
    return (f[0] + f[1] + f[2] + f[5] + f[6] + f[7]) / os.sysconf("SC_CLK_TCK")


def own_cpu_seconds() -> float:
    """CPU time of this process and of its finished children (a block timed in a worker)."""
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + children.ru_utime + children.ru_stime


class OthersMeter:
    """How many CPUs other processes kept busy, on average, between start() and stop()."""

    def start(self) -> None:
        self.t0 = (busy_cpu_seconds(), own_cpu_seconds(), time.perf_counter())

    def stop(self) -> float | None:
        t1 = (busy_cpu_seconds(), own_cpu_seconds(), time.perf_counter())
        if t1[0] is None or self.t0[0] is None:
            return None
        return max(0.0, ((t1[0] - self.t0[0]) - (t1[1] - self.t0[1])) / (t1[2] - self.t0[2]))


def wait_for_idle(max_wait_s: float) -> float | None:
    """Wait (at most ``max_wait_s``) until other processes use under ``BUSY`` CPUs over 2 s."""
    meter, deadline = OthersMeter(), time.perf_counter() + max_wait_s
    while True:
        meter.start()
        time.sleep(2.0)
        others = meter.stop()
        if others is None or others < BUSY or time.perf_counter() >= deadline:
            return others
        print(f"waiting for an idle machine: others use {others:.2f} CPUs", file=sys.stderr, flush=True)


def time_block(step: Callable, min_sample_s: float, n_min: int, n_max: int, budget_s: float, warmup_s: float):
    """Per-step times (s) of n samples of k consecutive steps each, after a warm-up, GC off."""
    perf, t0, n_warm = time.perf_counter, time.perf_counter(), 0
    while n_warm < 3 or perf() - t0 < warmup_s:
        step()
        n_warm += 1
    k = max(1, math.ceil(min_sample_s / ((perf() - t0) / n_warm)))
    gc.collect()
    gc.disable()
    try:
        times, start = [], perf()
        while len(times) < n_min or (len(times) < n_max and perf() - start < budget_s):
            t = perf()
            for _ in range(k):
                step()
            times.append((perf() - t) / k)
    finally:
        gc.enable()
    return times, k


def interleaved_blocks(steps: dict[str, Callable], rounds: int, retries: int, wait_idle: float, **block):
    """Time every step in ``rounds`` rounds of one contiguous block each, alternating the order.

    A block disturbed by other processes is timed again (at most ``retries`` times); with
    ``wait_idle`` each block first waits up to that long (60 s at most) for a quiet machine.
    Returns ``{name: stats}``: median, quartiles and minimum of the pooled samples, the
    samples' count, ``k``, the attempts and the largest ``others_cpus`` of a kept block.
    """
    samples: dict[str, list[float]] = {n: [] for n in steps}
    meta = {n: {"others": [], "attempts": 0} for n in steps}
    for rnd in range(rounds):
        for name in list(steps) if rnd % 2 == 0 else list(steps)[::-1]:
            for _ in range(retries + 1):
                if wait_idle > 0:
                    wait_for_idle(min(wait_idle, 60.0))
                time.sleep(0.2)  # let the previous library's worker threads go idle
                meter = OthersMeter()
                meter.start()
                run_block = getattr(steps[name], "run_block", None)  # timed in another process
                times, k = run_block(**block) if run_block else time_block(steps[name], **block)
                others = meter.stop()
                meta[name]["attempts"] += 1
                if others is None or others <= BUSY:
                    break
                print(f"{name}: others used {others:.2f} CPUs, timing again", file=sys.stderr, flush=True)
            samples[name] += times
            meta[name].update(k=k)
            meta[name]["others"].append(others)
    out = {}
    for name, t in samples.items():
        q1, med, q3 = np.percentile(t, [25, 50, 75])
        others = [o for o in meta[name]["others"] if o is not None]
        out[name] = dict(median_s=float(med), q1_s=float(q1), q3_s=float(q3), min_s=float(min(t)))
        out[name].update(samples=len(t), steps_per_sample=meta[name]["k"], attempts=meta[name]["attempts"])
        out[name]["others_cpus"] = round(max(others), 3) if others else None
    return out


def git(*args: str, cwd: Path = ROOT) -> str | None:
    try:
        run = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, timeout=10, check=True)
    except (OSError, subprocess.SubprocessError):
        return None
    return run.stdout.strip()


def machine_facts(torch_version: str | None = None) -> dict:
    """CPU, versions, BLAS and OpenMP pools (threadpoolctl), and the OpenBLAS/OpenMP environment."""
    import scipy
    import sklearn
    import threadpoolctl

    with open("/proc/cpuinfo") as fh:
        cpu = next((ln.split(":", 1)[1].strip() for ln in fh if ln.startswith("model name")), None)
    keep = ("user_api", "internal_api", "version", "num_threads", "architecture", "filepath")
    env = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS")
    facts = {
        "cpu_model": cpu or platform.processor(),
        "cpus_available": len(os.sched_getaffinity(0)),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "sklearn": sklearn.__version__,
        "torch": torch_version,
        "env": {k: os.environ.get(k) for k in env},
        "threadpools": [{k: v for k, v in i.items() if k in keep} for i in threadpoolctl.threadpool_info()],
        "load_average_start": os.getloadavg(),
    }
    if torch_version is not None:
        import torch

        facts["torch_num_threads"] = torch.get_num_threads()
    return facts


def fmt(s: float) -> str:
    """A time in seconds as µs or ms with three significant digits or so."""
    return f"{s * 1e3:.0f} ms" if s >= 0.1 else f"{s * 1e3:.2f} ms" if s >= 1e-3 else f"{s * 1e6:.1f} µs"
