"""GeneticSampler vs Optuna's samplers on COCO bbob-mixint (5-D and 10-D, all 24 functions).

Each run is one (sampler, dimension, function, seed) study of ``--budget`` trials on instance 1
of the suite; the best value so far is recorded at budgets 100, 300 and 1000 (from the same run).
Runs go to a process pool (``--workers``, default 2) and each finished run is appended to a JSONL
cache, so an interrupted benchmark resumes where it stopped. The report (Markdown, on stdout) has
mean rank per budget, per-function medians, win rates vs NSGA-II, and the functions GA loses on.

Usage::

    python benchmarks/genetic_bbob_mixint.py > benchmarks/results/genetic_bbob_mixint.md
    python benchmarks/genetic_bbob_mixint.py --report-only      # re-print from the cache
    python benchmarks/genetic_bbob_mixint.py --samplers GA --functions 1,7,21 --dims 5 \\
        --seeds 0,1,2 --cache /tmp/quick.jsonl                  # a quick subset while tuning
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures import as_completed
import json
import math
import os
import sys
import time
from typing import Any
import warnings

import numpy as np

# Import this checkout's package (the script's folder, not the repo root, is on sys.path).
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

BUDGETS = (100, 300, 1000)
SAMPLERS = ("GA", "TPE", "CMA-ES", "NSGA-II", "Random")
# Longest runs first so that the pool does not end on one long straggler.
COST_ORDER = ("TPE", "CMA-ES", "NSGA-II", "GA", "Random")
RESULTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results")
DEFAULT_CACHE = os.path.join(RESULTS, "genetic_bbob_mixint_runs.jsonl")


def make_sampler(name: str, seed: int) -> Any:
    import optuna

    if name == "GA":
        from optuna_recipes.samplers import GeneticSampler

        return GeneticSampler(seed=seed)
    if name == "TPE":
        return optuna.samplers.TPESampler(seed=seed)
    if name == "CMA-ES":
        return optuna.samplers.CmaEsSampler(seed=seed)
    if name == "NSGA-II":
        return optuna.samplers.NSGAIISampler(seed=seed)
    if name == "Random":
        return optuna.samplers.RandomSampler(seed=seed)
    raise ValueError(f"Unknown sampler {name!r}; expected one of {SAMPLERS}.")


def make_objective(dim: int, fid: int) -> tuple[Callable[[Any], float], Any]:
    import cocoex

    suite = cocoex.Suite("bbob-mixint", "", f"dimensions:{dim} instance_indices:1")
    problem = suite.get_problem_by_function_dimension_instance(fid, dim, 1)
    n_int = problem.number_of_integer_variables
    lower, upper = problem.lower_bounds, problem.upper_bounds

    def objective(trial: Any) -> float:
        x = [
            trial.suggest_int(f"x{i}", int(lower[i]), int(upper[i]))
            if i < n_int
            else trial.suggest_float(f"x{i}", float(lower[i]), float(upper[i]))
            for i in range(dim)
        ]
        return float(problem(np.asarray(x, dtype=float)))

    return objective, suite


def run_one(sampler_name: str, dim: int, fid: int, seed: int, budget: int) -> dict[str, Any]:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.ERROR)
    warnings.filterwarnings("ignore")
    objective, suite = make_objective(dim, fid)
    study = optuna.create_study(sampler=make_sampler(sampler_name, seed))
    start = time.perf_counter()
    study.optimize(objective, n_trials=budget)
    elapsed = time.perf_counter() - start
    values = np.array([t.value for t in study.trials], dtype=float)
    best = np.minimum.accumulate(values)
    suite.free()
    return {
        "sampler": sampler_name,
        "dim": dim,
        "fid": fid,
        "seed": seed,
        "budget": budget,
        "best": {str(b): float(best[b - 1]) for b in BUDGETS if b <= len(best)},
        "seconds": elapsed,
    }


def _key(row: dict[str, Any]) -> tuple[str, int, int, int]:
    return (row["sampler"], int(row["dim"]), int(row["fid"]), int(row["seed"]))


def load_cache(path: str) -> dict[tuple[str, int, int, int], dict[str, Any]]:
    rows: dict[tuple[str, int, int, int], dict[str, Any]] = {}
    if os.path.exists(path):
        with open(path) as f:
            for line in f:
                if line.strip():
                    row = json.loads(line)
                    rows[_key(row)] = row
    return rows


def run_all(args: argparse.Namespace) -> None:
    done = load_cache(args.cache)
    todo = [
        (s, d, f, seed)
        for d in sorted(args.dims)
        for f in args.functions
        for seed in args.seeds
        for s in sorted(args.samplers, key=COST_ORDER.index)
        if (s, d, f, seed) not in done
    ]
    # Case by case, cheapest cases first (TPE dominates), so that complete (dim, function)
    # cases accumulate steadily and a report from a partial cache is still meaningful.
    tpe_left = {(d, f) for s, d, f, _ in todo if s == "TPE"}
    todo.sort(key=lambda t: ((t[1], t[2]) in tpe_left, t[1], t[2], COST_ORDER.index(t[0])))
    print(f"{len(done)} runs cached, {len(todo)} to run", file=sys.stderr)
    os.makedirs(os.path.dirname(os.path.abspath(args.cache)), exist_ok=True)
    with ProcessPoolExecutor(args.workers) as pool:
        futures = [pool.submit(run_one, *task, args.budget) for task in todo]
        for i, fut in enumerate(as_completed(futures), 1):
            row = fut.result()
            with open(args.cache, "a") as f:
                f.write(json.dumps(row) + "\n")
            print(f"[{i}/{len(todo)}] {_key(row)} {row['seconds']:.1f}s", file=sys.stderr)


def _fmt(x: float) -> str:
    return f"{x:.3g}"


def report(args: argparse.Namespace, command: str) -> None:
    rows = load_cache(args.cache)
    samplers = [s for s in SAMPLERS if s in args.samplers]
    cases = [(d, f) for d in args.dims for f in args.functions]
    budgets = [b for b in BUDGETS if b <= args.budget]

    def value(s: str, d: int, f: int, seed: int, b: int) -> float:
        # COCO's finest target is f_opt + 1e-8: differences below that are ties, not wins.
        return round(rows[(s, d, f, seed)]["best"][str(b)], 8)

    complete = [
        (d, f)
        for d, f in cases
        if all((s, d, f, seed) in rows for s in samplers for seed in args.seeds)
    ]
    print("# GeneticSampler on COCO bbob-mixint\n")
    print(f"Command: `{command}`\n")
    print(
        f"Suite bbob-mixint, instance 1, dimensions {args.dims}, functions {len(args.functions)}, "
        f"seeds {args.seeds}, samplers {samplers} (Optuna defaults, `seed` set). "
        f"Objective minimized; value = best so far at each budget, taken from the same "
        f"{args.budget}-trial run, rounded to 1e-8 (COCO's finest target precision). "
        f"Complete (dim, function) cases: {len(complete)} of {len(cases)}.\n"
    )
    if not complete:
        return
    dims_sets = [(f"{d}-D", [c for c in complete if c[0] == d]) for d in args.dims]
    dims_sets.append(("all", complete))

    print("## Mean rank per budget (1 = best; ranked per function and seed, ties averaged)\n")
    from scipy.stats import rankdata

    print("| dims | budget | " + " | ".join(samplers) + " |")
    print("|---|---|" + "---|" * len(samplers))
    for label, subset in dims_sets:
        for b in budgets:
            ranks = []
            for d, f in subset:
                for seed in args.seeds:
                    ranks.append(rankdata([value(s, d, f, seed, b) for s in samplers]))
            mean = np.mean(ranks, axis=0)
            cells = " | ".join(f"{m:.2f}" for m in mean)
            print(f"| {label} | {b} | {cells} |")
    print()

    def median(s: str, d: int, f: int, b: int) -> float:
        return float(np.median([value(s, d, f, seed, b) for seed in args.seeds]))

    if "GA" in samplers:
        print("## GA vs each sampler: share of functions where GA's median is better\n")
        print("Ties (equal medians, e.g. all at the optimum) count as half a win.\n")
        others = [s for s in samplers if s != "GA"]
        print("| dims | budget | " + " | ".join(f"vs {s}" for s in others) + " |")
        print("|---|---|" + "---|" * len(others))
        for label, subset in dims_sets:
            for b in budgets:
                cells = []
                for o in others:
                    wins = 0.0
                    for d, f in subset:
                        g, h = median("GA", d, f, b), median(o, d, f, b)
                        wins += 1.0 if g < h else 0.5 if g == h else 0.0
                    cells.append(f"{100 * wins / len(subset):.1f}%")
                print(f"| {label} | {b} | " + " | ".join(cells) + " |")
        print()

    for b in budgets:
        print(f"## Per-function medians at {b} trials (best so far; bold = best median)\n")
        for d in args.dims:
            print(f"### {d}-D\n")
            print("| f | " + " | ".join(samplers) + " |")
            print("|---|" + "---|" * len(samplers))
            for dd, f in complete:
                if dd != d:
                    continue
                meds = [median(s, d, f, b) for s in samplers]
                best = min(meds)
                cells = [f"**{_fmt(m)}**" if m == best else _fmt(m) for m in meds]
                print(f"| f{f} | " + " | ".join(cells) + " |")
            print()

    if "GA" in samplers:
        print("## Where GA loses\n")
        for b in budgets:
            worse_nsga = [
                f"{d}-D f{f}"
                for d, f in complete
                if "NSGA-II" in samplers and median("GA", d, f, b) > median("NSGA-II", d, f, b)
            ]
            not_best = []
            for d, f in complete:
                meds = {s: median(s, d, f, b) for s in samplers}
                winner = min(meds, key=meds.__getitem__)
                if meds["GA"] > meds[winner]:
                    not_best.append(f"{d}-D f{f} ({winner})")
            print(f"- {b} trials: worse than NSGA-II on {worse_nsga or 'none'}.")
            print(f"  Not the best median on {len(not_best)} cases: {', '.join(not_best)}.")
        print()
        if "NSGA-II" in samplers:
            _significance_vs(value, complete, budgets, args.seeds, "NSGA-II")

    print("## Wall time per run (seconds, mean over runs, whole study incl. objective)\n")
    print("| dims | " + " | ".join(samplers) + " |")
    print("|---|" + "---|" * len(samplers))
    for d in args.dims:
        cells = []
        for s in samplers:
            secs = [r["seconds"] for k, r in rows.items() if k[0] == s and k[1] == d]
            cells.append(f"{np.mean(secs):.1f}" if secs else "-")
        print(f"| {d}-D | " + " | ".join(cells) + " |")
    print()


def _significance_vs(
    value: Callable[[str, int, int, int, int], float],
    complete: list[tuple[int, int]],
    budgets: list[int],
    seeds: list[int],
    other: str,
) -> None:
    """Per budget: cases where GA is significantly better / worse than ``other`` (two-sided
    Mann-Whitney U over seeds, p < 0.05), and each median loss with its p-value and values."""
    from scipy.stats import mannwhitneyu

    print(f"## GA vs {other}: which differences are significant\n")
    print(
        "Two-sided Mann-Whitney U test per (dimension, function) over the seeds' best values "
        f"(with {len(seeds)} seeds per side the smallest possible p is "
        f"{2 / math.comb(2 * len(seeds), len(seeds)):.2g}). A median loss with a large p is a "
        "tie within seed noise.\n"
    )
    print("| budget | GA significantly better | GA significantly worse | median losses (p) |")
    print("|---|---|---|---|")
    for b in budgets:
        better, worse, losses = 0, 0, []
        for d, f in complete:
            g = [value("GA", d, f, seed, b) for seed in seeds]
            h = [value(other, d, f, seed, b) for seed in seeds]
            if g == h:
                continue
            p = float(mannwhitneyu(g, h, alternative="two-sided").pvalue)
            if p < 0.05:
                better += int(np.median(g) < np.median(h))
                worse += int(np.median(g) > np.median(h))
            if np.median(g) > np.median(h):
                losses.append(f"{d}-D f{f} ({p:.2f})")
        print(f"| {b} | {better} | {worse} | {', '.join(losses) or 'none'} |")
    print()


def _ints(text: str) -> list[int]:
    return [int(x) for x in text.split(",") if x]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samplers", type=lambda t: t.split(","), default=list(SAMPLERS))
    parser.add_argument("--dims", type=_ints, default=[5, 10])
    parser.add_argument("--functions", type=_ints, default=list(range(1, 25)))
    parser.add_argument("--seeds", type=_ints, default=list(range(10)))
    parser.add_argument("--budget", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--cache", default=DEFAULT_CACHE)
    parser.add_argument("--report-only", action="store_true")
    args = parser.parse_args()
    bad = set(args.samplers) - set(SAMPLERS)
    if bad:
        parser.error(f"unknown samplers {sorted(bad)}; expected a subset of {SAMPLERS}")
    command = "python benchmarks/genetic_bbob_mixint.py " + " ".join(sys.argv[1:])
    if not args.report_only:
        run_all(args)
    report(args, command.strip())


if __name__ == "__main__":
    main()
