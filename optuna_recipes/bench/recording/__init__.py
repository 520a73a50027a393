"""Record learning curves of real model tuning once, for replay as benchmark problems.

Tuning a model live costs 0.1-10 s per trial; comparing strategies over many seeds, budgets and
simulated workers needs hundreds of thousands of trials. So, as tabular benchmarks do (HPO-B,
LCBench, TabRepo, HPOBench's tabular sets), we evaluate a design of configurations *once* per
task, keep every configuration's whole learning curve and its training seconds, and replay them:
:class:`optuna_recipes.bench.problems.recorded.RecordedProblem` answers a trial in milliseconds.

What is recorded (:mod:`~optuna_recipes.bench.recording.families`): seven families, each one
model and one search space with ordinal-grid (int/float with ``step``), log-scale and
categorical parameters, on 10 classification tasks (datasets shipped with scikit-learn,
generated ones with imbalance, label noise, categorical columns, many features, and subsamples
and perturbations of them), split into development and test tasks by dataset. The curves
(:mod:`~optuna_recipes.bench.recording.models`): 3-fold stratified CV validation log loss after
each boosting round, epoch or block of 4 trees (the SVM: error rate of one fit), every model
single-threaded with seed 0. The design (:func:`~optuna_recipes.bench.recording.record.design`):
a 4 x 4 grid over the family's two most important parameters plus scrambled Sobol points, the
same for every task of a family; the SVM family records its whole grid.

Each family is one file, ``optuna_recipes/bench/data/<family>.npz`` (format :data:`FORMAT`):
``configs`` (encoded design), ``curves`` ``(tasks, configs, steps)`` float32, ``seconds``
``(tasks, configs)`` float32 (CPU seconds of one thread), and ``meta`` (JSON: space, design,
per-task facts and held-out replay accuracy, commands, seconds, library versions). The file
is rewritten after every task, so a killed recording resumes where it stopped::

    OMP_NUM_THREADS=1 nice -n 19 python -m optuna_recipes.bench.recording --all

(``--family NAME`` for one, ``--list`` to see them, ``--tasks``/``--configs``/``--steps`` for
small trial recordings, ``--out DIR`` to write elsewhere.)

Example:
    .. code-block:: python

        from optuna_recipes.bench.recording import record_family

        path = record_family("svm", tasks=["iris"], out="records", verbose=False)
"""

from __future__ import annotations

from optuna_recipes.bench.recording.families import DEV_DATASETS
from optuna_recipes.bench.recording.families import FAMILIES
from optuna_recipes.bench.recording.families import TEST_DATASETS
from optuna_recipes.bench.recording.families import FamilySpec
from optuna_recipes.bench.recording.families import load_task
from optuna_recipes.bench.recording.families import split_of
from optuna_recipes.bench.recording.record import DATA_DIR
from optuna_recipes.bench.recording.record import FORMAT
from optuna_recipes.bench.recording.record import design
from optuna_recipes.bench.recording.record import holdout_check
from optuna_recipes.bench.recording.record import main
from optuna_recipes.bench.recording.record import record_family

__all__ = [
    "DATA_DIR",
    "DEV_DATASETS",
    "FAMILIES",
    "FORMAT",
    "TEST_DATASETS",
    "FamilySpec",
    "design",
    "holdout_check",
    "load_task",
    "main",
    "record_family",
    "split_of",
]
