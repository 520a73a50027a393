"""A benchmark folder's results, condensed into small files that can be committed.

``results.csv`` has one row per trial: tens of megabytes for a suite of a few thousand runs.
Published figures (``benchmarks/claims.toml``) are computed from a digest of it instead, which
loses nothing those figures read:

- ``digest.csv.gz``: per target run, the first trial, every trial where the best value so far
  changed, and the last trial (all columns a figure needs: ``group``, ``problem``, ``strategy``,
  ``seed``, ``trial``, ``value``, ``best``, ``direction``, ``optimum``, plus any per-trial
  attributes the problem records). The best-so-far curve of every run, and so ranks, regret,
  trials-to-target and paired tests at any budget, can be rebuilt exactly from it
  (:meth:`Digest.per_trial`).
- ``timing.csv.gz``: per run, one ``run`` row over all its trials and one ``window`` row per trial
  window (``[0, 25)``, ``[25, 50)``, ``[50, 100)``, then every 100 trials): median milliseconds in
  the sampler, in the objective and elsewhere in the trial, total objective seconds, training
  steps, pruned and failed trials.

A folder whose manifest says ``"kind": "measurements"`` (written by a script, not by
``bench run``: one row per measurement) is small already: its digest is the table itself.

Example:
    .. code-block:: python

        from optuna_recipes.bench import digest

        digest.condense("bench-out/quick")  # digest.csv.gz and timing.csv.gz next to results.csv
        data = digest.load("bench-out/quick")
        print(data.per_trial(budget=20).groupby("strategy")["best"].median())
"""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from optuna_recipes.bench import metrics
from optuna_recipes.bench import outdir

DIGEST = "digest.csv.gz"
TIMING = "timing.csv.gz"
RUN = ["group", "problem", "strategy", "seed"]
TRACE_COLUMNS = [*RUN, "trial", "value", "best", "direction", "optimum"]
#: Columns the trace adds for simulated workers (:mod:`optuna_recipes.bench.simulate`).
SIM_TRACE_COLUMNS = ["workers", "sim_time"]
#: Trial windows of ``timing.csv``: ``[0, 25)``, ``[25, 50)``, ``[50, 100)``, then every 100.
WINDOW_EDGES = (0, 25, 50, 100)
#: Prefix of the trial user attributes a problem records for the results (``bench:test_value``).
ATTR_PREFIX = "bench:"
_FLOAT_FORMAT = "%.9g"
# The label suffix of a run with simulated workers (``tpe@32w``).
_SIMULATED = r"@\d+w$"


@dataclass
class Digest:
    """The condensed results of one benchmark folder (see the module docstring).

    ``trace`` and ``timing`` are set for harness folders, ``table`` for measurement folders.
    """

    folder: Path
    manifest: dict[str, Any]
    trace: pd.DataFrame | None = None
    timing: pd.DataFrame | None = None
    table: pd.DataFrame | None = None
    _expanded: dict[int | None, pd.DataFrame] = field(default_factory=dict, repr=False)

    def per_trial(self, budget: int | None = None) -> pd.DataFrame:
        """The best-so-far table of every target run, one row per trial, cut at ``budget``.

        Columns: those of ``digest.csv``; ``best`` is filled forward between the kept rows and
        ``value`` is the trial's value where the digest has it (the first trial always);
        ``cum_steps`` and ``wall_time`` are empty (costs are in ``timing``). The
        ``optuna_recipes.bench.metrics`` functions accept this table as they accept
        ``results.csv``: the ones that read ``best``, the first trial's ``value``,
        ``direction`` and ``optimum`` (ranks, normalized regret, pairwise tests, speedup)
        give the same results on both.
        """
        if self.trace is None:
            raise ValueError(f"{self.folder} holds measurements, not trials of benchmark runs.")
        if budget not in self._expanded:
            self._expanded[budget] = self._expand(budget)
        return self._expanded[budget]

    def _expand(self, budget: int | None) -> pd.DataFrame:
        assert self.trace is not None
        runs = self.trace.groupby(RUN, sort=False, observed=True).agg(
            n=("trial", "max"), direction=("direction", "first"), optimum=("optimum", "first")
        )
        n = runs["n"].to_numpy() + 1
        if budget is not None:
            n = np.minimum(n, int(budget))
        full = runs.drop(columns="n").reset_index().loc[np.repeat(np.arange(len(runs)), n)]
        full["trial"] = np.concatenate([np.arange(k) for k in n]) if len(n) else []
        kept = self.trace.drop(columns=["direction", "optimum", "cum_steps"], errors="ignore")
        full = full.reset_index(drop=True).merge(kept, on=[*RUN, "trial"], how="left")
        full["best"] = full.groupby(RUN, sort=False, observed=True)["best"].ffill()
        # Per-trial costs live in timing.csv; metrics functions expect the columns.
        full["cum_steps"] = np.nan
        full["wall_time"] = np.nan
        own = [c for c in self.trace.columns if c != "cum_steps"]
        return full[[*own, "cum_steps", "wall_time"]]


def _window_of(trial: pd.Series) -> pd.Series:
    """Start of the window of each (0-based) trial number."""
    t = trial.to_numpy()
    lo = np.where(t >= 100, (t // 100) * 100, 0)
    for edge in WINDOW_EDGES:
        lo = np.where((t >= edge) & (t < 100), edge, lo)
    return pd.Series(lo, index=trial.index)


def trace(results: pd.DataFrame, extra: list[str] | tuple[str, ...] = ()) -> pd.DataFrame:
    """The rows of ``digest.csv``: first, improving and last trial of every target run."""
    df = results[results["role"] == "target"] if "role" in results else results
    df = df.sort_values([*RUN, "trial"], kind="stable")
    keys = pd.Series(df.groupby(RUN, sort=False).ngroup().to_numpy(), index=df.index)
    best = df["best"]
    prev = best.groupby(keys).shift()
    changed = ~((best == prev) | (best.isna() & prev.isna()))
    first = keys != keys.shift()
    last = keys != keys.shift(-1)
    keep = changed | first | last
    columns = [*TRACE_COLUMNS, *extra]
    if "sim_time" in df and df["sim_time"].notna().any():
        # Simulated workers: results arrive in simulated-time order, not trial order; also keep
        # every trial that improves the best in that order, so equal-time figures survive.
        loss = df["value"].where(df["state"] == "COMPLETE") if "state" in df else df["value"]
        loss = loss.where(df["direction"] != "maximize", -loss)
        by_time = df.assign(loss=loss, key=keys).sort_values(["key", "sim_time", "trial"])
        prior = by_time.groupby("key")["loss"].cummin().groupby(by_time["key"]).shift()
        improves = by_time["loss"] < prior.fillna(np.inf)
        keep |= improves.reindex(df.index, fill_value=False)
        columns += [c for c in SIM_TRACE_COLUMNS if c in df and c not in columns]
    if "cum_steps" in df and df["cum_steps"].notna().any() and "cum_steps" not in columns:
        # Training steps so far at each kept trial: best-so-far against steps stays exact.
        columns.append("cum_steps")
    return df.loc[keep, columns].reset_index(drop=True)


def timing(results: pd.DataFrame, extra: list[str] | tuple[str, ...] = ()) -> pd.DataFrame:
    """The rows of ``timing.csv``: one per run (``scope = run``) and per trial window."""
    df = results[results["role"] == "target"] if "role" in results else results
    # Trials that overlapped in real time (several simulated workers) have no per-trial
    # duration, objective or other time (metrics.trial_times).
    df = metrics.trial_times(df).assign(
        pruned=(df["state"] == "PRUNED").astype(int),
        failed=(df["state"] == "FAIL").astype(int),
        lo=_window_of(df["trial"]),
    )
    keys = [*RUN, "sampler", "pruner"]
    frames = []
    for scope, by in (("run", keys), ("window", [*keys, "lo"])):
        agg: dict[str, Any] = {
            "first": ("trial", "min"),
            "hi": ("trial", "max"),
            "trials": ("trial", "count"),
            "sampler_ms": ("sampler_time", "median"),
            "objective_ms": ("objective_time", "median"),
            "other_ms": ("other", "median"),
            "objective_s": ("objective_time", lambda s: float(s.sum(min_count=1))),
            "duration_s": ("duration", lambda s: float(s.sum(min_count=1))),
            "steps": ("steps", lambda s: float(s.sum(min_count=1))),
            "pruned": ("pruned", "sum"),
            "failed": ("failed", "sum"),
        }
        agg.update({name: (name, "median") for name in extra})
        table = df.groupby(by, observed=True, dropna=False).agg(**agg).reset_index()
        if scope == "run":
            table["lo"] = 0
        table["hi"] = table["hi"] + 1
        if scope == "window":
            table["hi"] = np.where(table["lo"] < 100, _next_edge(table["lo"]), table["lo"] + 100)
        for col in ("sampler_ms", "objective_ms", "other_ms"):
            table[col] = table[col] * 1e3
        table.insert(len(keys), "scope", scope)
        frames.append(table.drop(columns="first"))
    out = pd.concat(frames, ignore_index=True)
    lead = [*keys, "scope", "lo", "hi", "trials"]
    return out[lead + [c for c in out.columns if c not in lead]]


def _next_edge(lo: pd.Series) -> np.ndarray:
    edges = np.asarray([*WINDOW_EDGES, 100])
    idx = np.searchsorted(edges, lo.to_numpy(), side="right")
    return edges[np.minimum(idx, len(edges) - 1)]


def attr_columns(results: pd.DataFrame) -> list[str]:
    """Per-trial attribute columns of ``results`` (beyond the runner's own columns)."""
    from optuna_recipes.bench.results import RESULT_COLUMNS

    return [c for c in results.columns if c not in RESULT_COLUMNS]


def condense(out: str | Path) -> list[Path]:
    """Write the digest of a finished benchmark folder; return the files written.

    Raises:
        OutputFolderError: the folder has no finished benchmark.
    """
    out = Path(out)
    manifest = outdir.read_manifest(out)
    results = outdir.read_results(out)
    if manifest.get("kind") == "measurements":
        _write_csv_gz(out / DIGEST, results)
        return [out / DIGEST]
    results = with_recorded_attrs(out, manifest, results)
    extra = attr_columns(results)
    _write_csv_gz(out / DIGEST, trace(results, extra))
    _write_csv_gz(out / TIMING, timing(results, extra))
    return [out / DIGEST, out / TIMING]


def _write_csv_gz(path: Path, table: pd.DataFrame) -> None:
    """Gzipped CSV with a fixed header time: the same table gives the same bytes."""
    import gzip

    text = table.to_csv(index=False, float_format=_FLOAT_FORMAT)
    outdir.write_atomic(path, gzip.compress(text.encode("utf-8"), compresslevel=9, mtime=0))


def load(out: str | Path) -> Digest:
    """The digest of a benchmark folder (``condense`` must have written it).

    Raises:
        FileNotFoundError: the folder or its digest is missing; the message says how to make it.
    """
    out = Path(out)
    if not (out / DIGEST).exists():
        raise FileNotFoundError(
            f"{out / DIGEST} is missing: run the benchmark into {out}, then condense its "
            "results.csv (`optuna_recipes.bench.digest.condense`; in this repository "
            "`python benchmarks/claims.py --record RUN` does it)."
        )
    manifest = outdir.read_manifest(out)
    table = pd.read_csv(out / DIGEST)
    if manifest.get("kind") == "measurements":
        return Digest(out, manifest, table=table)
    timing_table = pd.read_csv(out / TIMING) if (out / TIMING).exists() else None
    for frame in (table, timing_table):
        if frame is not None:
            for col in ("group", "problem", "strategy"):
                frame[col] = frame[col].astype(str)
    return Digest(out, manifest, trace=table, timing=timing_table)


def with_recorded_attrs(
    out: Path, manifest: dict[str, Any], results: pd.DataFrame
) -> pd.DataFrame:
    """Add the per-trial attributes problems record (``trial.set_user_attr("bench:NAME", x)``)
    as columns ``NAME`` of ``results``, read from the folder's Optuna storage.

    Only problems whose class lists the names in ``result_attrs`` are read, so a suite without
    them costs nothing. The runner's results table does not carry user attributes yet; once it
    does, this returns ``results`` unchanged.
    """
    names = _declared_attrs(out)
    if not names or all(n in results.columns for n in names):
        return results
    import optuna

    from optuna_recipes._redact import MASK
    from optuna_recipes.bench.storage import open_storage
    from optuna_recipes.bench.storage import storage_url_for

    if MASK in str(manifest.get("storage") or ""):
        raise ValueError(
            f"{out}: the benchmark's storage URL was saved with its password hidden; condense "
            "this folder where the storage needs no password, or add the attributes to "
            "results.csv."
        )
    storage = open_storage(storage_url_for(out, manifest.get("storage")))
    rows = []
    targets = results[results["role"] == "target"] if "role" in results else results
    for (suite, problem, strategy, seed), _ in targets.groupby(
        ["suite", "problem", "strategy", "seed"]
    ):
        name = f"{suite}:{problem}/{strategy}/seed{seed}"
        study = optuna.load_study(study_name=name, storage=storage)
        for t in study.get_trials(deepcopy=False):
            attrs = {n: t.user_attrs.get(ATTR_PREFIX + n, math.nan) for n in names}
            rows.append(
                {"problem": problem, "strategy": strategy, "seed": seed, "trial": t.number}
            )
            rows[-1].update(attrs)
    if not rows:
        return results
    extra = pd.DataFrame(rows)
    return results.drop(columns=[n for n in names if n in results.columns]).merge(
        extra, on=["problem", "strategy", "seed", "trial"], how="left"
    )


def _problem_facts(rows: pd.DataFrame) -> tuple[Any, ...]:
    """What must agree between two folders' runs of one problem (direction and optimum)."""
    facts = []
    for column in ("direction", "optimum"):
        values = rows[column].dropna().unique() if column in rows else []
        facts.append(tuple(sorted(str(v) for v in values)))
    return tuple(facts)


def _declared_attrs(out: Path) -> list[str]:
    """Attribute names the problems of the folder's suite record (``Problem.result_attrs``)."""
    from optuna_recipes.bench.suite import load_suite

    suite_file = out / "suite.toml"
    if not suite_file.exists() or not suite_file.read_text().strip():
        return []
    names: list[str] = []
    for sp in load_suite(str(suite_file)).problems:
        cls_attrs = getattr(sp.spec.build(), "result_attrs", ())
        names += [n for n in cls_attrs if n not in names]
    return names


def only(data: Digest, strategies: list[str]) -> Digest:
    """The digest's runs of ``strategies`` alone (a run simulated with N workers, labelled
    ``NAME@Nw``, counts as ``NAME``): a folder's share of a comparison whose other strategies
    run in a folder of their own (``bench run SUITE --only NAME``).

    Raises:
        ValueError: the folder has no run of one of ``strategies``.
    """
    frame = data.trace if data.trace is not None else data.table
    if frame is None or "strategy" not in frame:
        return data
    base = frame["strategy"].astype(str).str.replace(_SIMULATED, "", regex=True)
    absent = [s for s in strategies if s not in set(base)]
    if absent:
        raise ValueError(
            f"{data.folder} has no runs of strateg{'ies' if len(absent) > 1 else 'y'} "
            f"{', '.join(absent)}; it has {', '.join(sorted(set(base)))}."
        )

    def keep(table: pd.DataFrame | None) -> pd.DataFrame | None:
        if table is None:
            return None
        names = table["strategy"].astype(str).str.replace(_SIMULATED, "", regex=True)
        return table[names.isin(strategies)].reset_index(drop=True)

    return Digest(
        folder=data.folder,
        manifest=data.manifest,
        trace=keep(data.trace),
        timing=keep(data.timing),
        table=keep(data.table),
    )


def combine(digests: list[Digest]) -> Digest:
    """One digest of several folders' runs (figures that pool suites, such as a table).

    Folders may share a problem when they ran different strategies on it (for example a
    comparison whose anchor strategies run in a folder of their own), or different seeds of it
    (a replicate on fresh seeds, ``bench run --first-seed``): the blocks then hold every
    folder's runs, as one folder with all the strategies and seeds would.

    Raises:
        ValueError: two folders have runs of the same strategy on the same problem with the
            same seed (the blocks would hold both), or give one problem two directions or
            optima.
    """
    if len(digests) == 1:
        return digests[0]
    seen: dict[tuple[str, str, str], Path] = {}
    shape: dict[str, tuple[tuple[Any, ...], Path]] = {}
    for d in digests:
        frame = d.trace if d.trace is not None else d.table
        if frame is None:
            continue
        by = ["problem", "strategy", "seed"] if "seed" in frame else ["problem", "strategy"]
        for values, rows in frame.groupby(by, sort=False):
            key = (str(values[0]), str(values[1]), str(values[2]) if len(by) == 3 else "")
            if key in seen:
                seed = f" with seed {key[2]}" if key[2] else ""
                raise ValueError(
                    f"runs of strategy {key[1]!r} on problem {key[0]!r}{seed} are in both "
                    f"{seen[key]} and {d.folder}: pool folders that ran different strategies, "
                    "problems or seeds."
                )
            seen[key] = d.folder
            facts = _problem_facts(rows)
            if key[0] in shape and shape[key[0]][0] != facts:
                raise ValueError(
                    f"problem {key[0]!r} has another direction or optimum in {d.folder} than in "
                    f"{shape[key[0]][1]} ({facts} against {shape[key[0]][0]}): two problems of "
                    "one name; rename one of them."
                )
            shape.setdefault(key[0], (facts, d.folder))

    def cat(frames: list[pd.DataFrame | None]) -> pd.DataFrame | None:
        present = [f for f in frames if f is not None]
        return pd.concat(present, ignore_index=True) if present else None

    return Digest(
        folder=digests[0].folder,
        manifest=digests[0].manifest,
        trace=cat([d.trace for d in digests]),
        timing=cat([d.timing for d in digests]),
        table=cat([d.table for d in digests]),
    )
