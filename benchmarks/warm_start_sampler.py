"""Warm-start sampler benchmark: related and unrelated task families with controlled relatedness.

For each case a target task gets 3 source studies of 100 trials (TPE, on 3 related or unrelated
tasks) and is then tuned by: cold-start TPE, WarmStartSampler on the 3 sources (with
``surrogate="gp"``, the default, "WS gp", and with ``surrogate="parzen"``), and, on numeric spaces,
``CmaEsSampler(source_trials=...)`` (WS-CMA-ES). Figures:

- related families: trials each warm-started run needs to reach cold TPE's best after 100 trials
  (median over cases; "> 100" when never), best after 15 / 100 trials;
- unrelated family (COCO bbob instances): final best after 100 trials, paired with cold TPE.

Usage: python benchmarks/warm_start_sampler.py [--seeds N] [--workers 2] [--runs runs.jsonl] > x.md

With ``--runs``, each finished case is appended to that JSON-lines file as it completes and
cases already there are not run again, so an interrupted run resumes; ``--report-only`` prints
the report of whatever that file holds. Cases run seed by seed across families, so a partial
file covers every family.
"""

from __future__ import annotations

import argparse
from concurrent.futures import ProcessPoolExecutor
import json
import math
import os
from pathlib import Path
import sys
import time
from typing import Any

import numpy as np
import optuna
from scipy import stats

# Import this checkout's package, not an installed one.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

BUDGET = 100
N_SOURCE_TRIALS = 100
KINDS = ["a", "b", "c", "d"]


# -- task families ------------------------------------------------------------------------


def _mixed_task(rng: np.random.RandomState, base: dict[str, Any], numeric_only: bool) -> dict:
    """A task of the family: the base optimum moved a little, objective rescaled and offset."""
    return {
        "center": np.clip(base["center"] + rng.normal(0, 0.05, size=5), 0.02, 0.98),
        "penalty": np.clip(base["penalty"] + rng.normal(0, 0.1, size=4), 0, None),
        "scale": float(np.exp(rng.uniform(np.log(0.1), np.log(10.0)))),
        "offset": float(rng.uniform(-100, 100)),
        "numeric_only": numeric_only,
        "rot": base["rot"],
    }


def _mixed_base(rng: np.random.RandomState) -> dict[str, Any]:
    q, _ = np.linalg.qr(rng.normal(size=(5, 5)))
    penalty = rng.uniform(0.3, 1.5, size=4)
    penalty[rng.randint(4)] = 0.0
    return {"center": rng.uniform(0.2, 0.8, size=5), "penalty": penalty, "rot": q}


def mixed_objective(trial: optuna.Trial, task: dict) -> float:
    """Rotated ill-conditioned ellipsoid with ripples; log, int and categorical parameters."""
    z = np.array(
        [
            (trial.suggest_float("x0", -5, 5) + 5) / 10,
            (trial.suggest_float("x1", -5, 5) + 5) / 10,
            (math.log10(trial.suggest_float("lr", 1e-4, 1.0, log=True)) + 4) / 4,
            (trial.suggest_float("x3", 0, 1)),
            (
                trial.suggest_float("x4", 0, 20)
                if task["numeric_only"]
                else trial.suggest_int("n", 0, 20)
            )
            / 20,
        ]
    )
    d = task["rot"] @ (z - task["center"])
    value = float(np.sum(np.logspace(0, 2, 5) * d**2) + 0.05 * np.sum(1 - np.cos(12 * np.pi * d)))
    if not task["numeric_only"]:
        value += float(task["penalty"][KINDS.index(trial.suggest_categorical("kind", KINDS))])
    return task["scale"] * value + task["offset"]


_DIGITS: Any = None


def _digits() -> tuple[np.ndarray, np.ndarray]:
    global _DIGITS
    if _DIGITS is None:
        from sklearn.datasets import load_digits

        _DIGITS = load_digits(return_X_y=True)
    return _DIGITS


def _sgd_task(rng: np.random.RandomState, numeric_only: bool) -> dict:
    """A related dataset: a random 700-row subsample of digits with feature noise."""
    x, y = _digits()
    idx = rng.choice(len(y), size=700, replace=False)
    noise = rng.uniform(0.5, 1.5)
    xs = x[idx] + rng.normal(0, noise, size=(700, x.shape[1]))
    return {"x": xs, "y": y[idx], "numeric_only": numeric_only}


def sgd_objective(trial: optuna.Trial, task: dict) -> float:
    """Validation log-loss of an SGD logistic regression (train 450 rows, validate 250)."""
    import warnings

    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import SGDClassifier
    from sklearn.metrics import log_loss
    from sklearn.preprocessing import StandardScaler

    alpha = trial.suggest_float("alpha", 1e-7, 1e0, log=True)
    eta0 = trial.suggest_float("eta0", 1e-4, 1e0, log=True)
    l1_ratio = trial.suggest_float("l1_ratio", 0.0, 1.0)
    if task["numeric_only"]:
        penalty, schedule = "elasticnet", "adaptive"
    else:
        penalty = trial.suggest_categorical("penalty", ["l2", "l1", "elasticnet"])
        schedule = trial.suggest_categorical(
            "learning_rate", ["constant", "optimal", "invscaling", "adaptive"]
        )
    x, y = task["x"], task["y"]
    scaler = StandardScaler().fit(x[:450])
    model = SGDClassifier(
        loss="log_loss",
        alpha=alpha,
        eta0=eta0,
        l1_ratio=l1_ratio,
        penalty=penalty,
        learning_rate=schedule,
        max_iter=10,
        tol=None,
        random_state=0,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(scaler.transform(x[:450]), y[:450])
        proba = model.predict_proba(scaler.transform(x[450:]))
    value = log_loss(y[450:], np.clip(proba, 1e-6, 1.0), labels=np.arange(10))
    return float(min(value, 10.0)) if np.isfinite(value) else 10.0


def _bbob_objective(trial: optuna.Trial, task: dict) -> float:
    import cocoex

    suite = cocoex.Suite("bbob", "instances:1-10", "dimensions:5")
    problem = suite.get_problem_by_function_dimension_instance(task["f"], 5, task["instance"])
    x = [trial.suggest_float(f"x{i}", -5, 5) for i in range(5)]
    return float(problem(x))


OBJECTIVES = {"mixed": mixed_objective, "sgd": sgd_objective, "bbob": _bbob_objective}


# -- one case ------------------------------------------------------------------------------


def _run(objective_name: str, task: dict, sampler: optuna.samplers.BaseSampler, n: int, d: str):
    objective = OBJECTIVES[objective_name]
    study = optuna.create_study(sampler=sampler, direction=d)
    t0 = time.perf_counter()
    study.optimize(lambda t: objective(t, task), n_trials=n)
    return study, time.perf_counter() - t0


def _best_curve(study: optuna.Study) -> np.ndarray:
    values = np.array([t.value for t in study.trials], dtype=float)
    return np.minimum.accumulate(values)


def _trials_to_reach(curve: np.ndarray, target: float) -> int:
    hit = np.nonzero(curve <= target + 1e-12)[0]
    return int(hit[0]) + 1 if len(hit) else BUDGET + 1


def run_case(family: str, seed: int, sampler_offset: int = 0) -> dict[str, Any]:
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    from optuna_recipes.samplers import WarmStartSampler

    rng = np.random.RandomState(1000 + seed)
    numeric_only = family.endswith("-numeric")
    if family.startswith("mixed"):
        base = _mixed_base(rng)
        tasks = [_mixed_task(rng, base, numeric_only) for _ in range(4)]
        obj = "mixed"
    elif family.startswith("sgd"):
        tasks = [_sgd_task(rng, numeric_only) for _ in range(4)]
        obj = "sgd"
    else:  # bbob-fN: instances of one function, optimum anywhere
        f = int(family.split("-f")[1])
        inst = rng.choice(np.arange(1, 11), size=4, replace=False)
        tasks = [{"f": f, "instance": int(i)} for i in inst]
        obj = "bbob"
    # The mixed family has one source that maximizes the negated objective (another direction).
    sources = []
    for k, task in enumerate(tasks[:3]):
        flip = obj == "mixed" and k == 2 and not numeric_only
        direction = "maximize" if flip else "minimize"
        if flip:
            task = {**task, "scale": -task["scale"], "offset": -task["offset"]}
        study, _ = _run(
            obj, task, optuna.samplers.TPESampler(seed=seed * 10 + k), N_SOURCE_TRIALS, direction
        )
        sources.append(study)
    target = tasks[3]
    out: dict[str, Any] = {"family": family, "seed": seed}
    cold, t_cold = _run(obj, target, optuna.samplers.TPESampler(seed=seed), BUDGET, "minimize")
    ws_seed = seed + sampler_offset
    gp = WarmStartSampler(sources, seed=ws_seed, surrogate="gp")
    ws, t_ws = _run(obj, target, gp, BUDGET, "minimize")
    parzen = WarmStartSampler(sources, seed=ws_seed, surrogate="parzen")
    wsp, t_wsp = _run(obj, target, parzen, BUDGET, "minimize")
    out["cold"] = _best_curve(cold).tolist()
    out["ws"] = _best_curve(ws).tolist()
    out["ws_parzen"] = _best_curve(wsp).tolist()
    out["time_cold"], out["time_ws"], out["time_ws_parzen"] = t_cold, t_ws, t_wsp
    attrs = ws.trials[-1].system_attrs
    out["final_weights"] = attrs.get("optuna_recipes.warm_start:source_weights")
    out["final_gp_weights"] = attrs.get("optuna_recipes.warm_start:gp_source_weights")
    if numeric_only or obj == "bbob":
        src_trials = [t for s in sources for t in s.trials]
        cma = optuna.samplers.CmaEsSampler(seed=seed, source_trials=src_trials)
        study, _ = _run(obj, target, cma, BUDGET, "minimize")
        out["wscma"] = _best_curve(study).tolist()
    return out


# -- report --------------------------------------------------------------------------------


def _fmt_reach(values: list[int]) -> str:
    med = float(np.median(values))
    return f"> {BUDGET}" if med > BUDGET else f"{med:g}"


def report(results: list[dict[str, Any]], command: str, elapsed: float, load: str = "") -> str:
    lines = [
        "# WarmStartSampler benchmark",
        "",
        f"Command: `{command}`",
        "",
        *([f"Machine load (/proc/loadavg, start / end): {load}", ""] if load else []),
        f"Each case: 3 source studies x {N_SOURCE_TRIALS} TPE trials on related (or unrelated) "
        f"tasks, then the target tuned for {BUDGET} trials. 'reach' = trials a strategy needs "
        "to match cold-start TPE's best after 100 trials (101 = never). "
        f"Wall time {elapsed:.0f} s.",
        "",
    ]
    families = sorted({r["family"] for r in results}, key=lambda f: (f.startswith("bbob"), f))
    related = [f for f in families if not f.startswith("bbob")]
    lines += [
        "## Related tasks",
        "",
        "| family | cases | WS gp reach (median) | WS gp reach <= 15 | WS parzen reach (median) "
        "| WS-CMA reach (median) | WS gp best@15 < WS-CMA best@15 | WS gp best@100 <= cold "
        "best@100 |",
        "|---|---|---|---|---|---|---|---|",
    ]
    all_reach, all_parzen = [], []
    for fam in related:
        rows = [r for r in results if r["family"] == fam]
        reach = [_trials_to_reach(np.array(r["ws"]), r["cold"][-1]) for r in rows]
        all_reach += reach
        parzen = [_trials_to_reach(np.array(r["ws_parzen"]), r["cold"][-1]) for r in rows]
        all_parzen += parzen
        cma_reach = "n/a (categorical: WS-CMA-ES refuses)"
        vs_cma = "n/a"
        if all("wscma" in r for r in rows):
            cr = [_trials_to_reach(np.array(r["wscma"]), r["cold"][-1]) for r in rows]
            cma_reach = _fmt_reach(cr)
            wins = sum(r["ws"][14] < r["wscma"][14] for r in rows)
            vs_cma = f"{wins}/{len(rows)}"
        better = sum(r["ws"][-1] <= r["cold"][-1] for r in rows)
        lines.append(
            f"| {fam} | {len(rows)} | {_fmt_reach(reach)} | "
            f"{sum(x <= 15 for x in reach)}/{len(rows)} | {_fmt_reach(parzen)} | "
            f"{cma_reach} | {vs_cma} | "
            f"{better}/{len(rows)} |"
        )
    if all_reach:
        lines += [
            "",
            f"All related cases: median WS gp reach = {_fmt_reach(all_reach)} trials "
            f"({sum(x <= 15 for x in all_reach)}/{len(all_reach)} cases within 15); "
            f'with `surrogate="parzen"`: {_fmt_reach(all_parzen)} '
            f"({sum(x <= 15 for x in all_parzen)}/{len(all_parzen)}).",
        ]
    lines += ["", "Per case (best after 1 / 15 / 100 trials; lower is better):", ""]
    lines += [
        "| family | seed | cold TPE | WS gp | WS parzen | WS-CMA-ES | final source "
        "weights (Kendall) | final GP coefficients |"
    ]
    lines += ["|---|---|---|---|---|---|---|---|"]
    for r in sorted(results, key=lambda r: (r["family"], r["seed"])):

        def trio(c: list[float]) -> str:
            return f"{c[0]:.4g} / {c[14]:.4g} / {c[-1]:.4g}"

        cma = trio(r["wscma"]) if "wscma" in r else "n/a"
        w = r.get("final_weights") or {}
        gw = r.get("final_gp_weights") or {}
        lines.append(
            f"| {r['family']} | {r['seed']} | {trio(r['cold'])} | {trio(r['ws'])} | "
            f"{trio(r['ws_parzen'])} | {cma} | {', '.join(f'{v:.2f}' for v in w.values())} | "
            f"{', '.join(f'{v:.2f}' for v in gw.values())} |"
        )
    unrelated = [r for r in results if r["family"].startswith("bbob")]
    if unrelated:
        ws_final = np.array([r["ws"][-1] for r in unrelated])
        cold_final = np.array([r["cold"][-1] for r in unrelated])
        cma_final = np.array([r["wscma"][-1] for r in unrelated])
        # Scale-free per case: difference to cold TPE over cold TPE's own improvement.
        span = np.array([max(r["cold"][0] - r["cold"][-1], 1e-12) for r in unrelated])

        def lr(a: np.ndarray, b: np.ndarray) -> np.ndarray:
            return (a - b) / span

        wsp_final = np.array([r["ws_parzen"][-1] for r in unrelated])
        wins = int(np.sum(ws_final < cold_final))
        enough = len(unrelated) > 5
        p = stats.wilcoxon(lr(ws_final, cold_final)).pvalue if enough else float("nan")
        pc = stats.wilcoxon(lr(cma_final, cold_final)).pvalue if enough else float("nan")
        pp = stats.wilcoxon(lr(wsp_final, cold_final)).pvalue if enough else float("nan")
        lines += [
            "",
            "## Unrelated tasks (COCO bbob, 5-D, source and target instances drawn from 1-10)",
            "",
            "| strategy | cases better than cold TPE at 100 | median (best - cold best) / cold "
            "TPE's own improvement "
            "| Wilcoxon p vs cold TPE |",
            "|---|---|---|---|",
            f'| WarmStartSampler(surrogate="gp") | {wins}/{len(unrelated)} | '
            f"{np.median(lr(ws_final, cold_final)):+.3f} | {p:.3f} |",
            f'| WarmStartSampler(surrogate="parzen") | '
            f"{int(np.sum(wsp_final < cold_final))}/{len(unrelated)} | "
            f"{np.median(lr(wsp_final, cold_final)):+.3f} | {pp:.3f} |",
            f"| WS-CMA-ES | {int(np.sum(cma_final < cold_final))}/{len(unrelated)} | "
            f"{np.median(lr(cma_final, cold_final)):+.3f} | {pc:.3f} |",
        ]
    times = [r["time_ws"] / BUDGET * 1000 for r in results]
    times_c = [r["time_cold"] / BUDGET * 1000 for r in results]
    times_p = [r["time_ws_parzen"] / BUDGET * 1000 for r in results]
    lines += [
        "",
        f"Mean time per trial (sampler + objective): WS gp {np.mean(times):.1f} ms, "
        f"WS parzen {np.mean(times_p):.1f} ms, cold TPE {np.mean(times_c):.1f} ms.",
    ]
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=6)
    parser.add_argument("--sgd-seeds", type=int, default=4)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument(
        "--families",
        default="mixed,mixed-numeric,sgd,sgd-numeric,bbob-f1,bbob-f8,bbob-f15,bbob-f21",
    )
    parser.add_argument("--runs", default=None, help="JSON-lines file of finished cases")
    parser.add_argument(
        "--sampler-seed-offset",
        type=int,
        default=0,
        help="Added to the WarmStartSampler seeds only (same tasks, sources and cold runs): "
        "how much the figures depend on the sampler's own randomness.",
    )
    parser.add_argument("--report-only", action="store_true")
    args = parser.parse_args()
    families = args.families.split(",")
    n_seeds = {f: args.sgd_seeds if f.startswith("sgd") else args.seeds for f in families}
    # Seed by seed across families, so that a partial run covers every family.
    jobs = [(f, s) for s in range(max(n_seeds.values())) for f in families if s < n_seeds[f]]
    done: dict[tuple[str, int], dict[str, Any]] = {}
    if args.runs and Path(args.runs).exists():
        for line in Path(args.runs).read_text().splitlines():
            if line.strip():
                r = json.loads(line)
                done[(r["family"], r["seed"])] = r
    todo = [] if args.report_only else [j for j in jobs if j not in done]
    load_start = " ".join(Path("/proc/loadavg").read_text().split()[:3])
    t0 = time.perf_counter()
    if todo:
        with ProcessPoolExecutor(max_workers=min(args.workers, 2)) as pool:
            offsets = [args.sampler_seed_offset] * len(todo)
            for r in pool.map(run_case, *zip(*todo, strict=True), offsets):
                done[(r["family"], r["seed"])] = r
                if args.runs:
                    with open(args.runs, "a") as fh:
                        fh.write(json.dumps(r) + "\n")
    results = [done[j] for j in jobs if j in done]
    command = "python " + " ".join(sys.argv)
    load_end = " ".join(Path("/proc/loadavg").read_text().split()[:3])
    load = f"{load_start} / {load_end}" if os.path.exists("/proc/loadavg") else ""
    text = report(results, command, time.perf_counter() - t0, load)
    if len(results) < len(jobs):
        text += f"\nPartial: {len(results)} of {len(jobs)} cases finished.\n"
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
