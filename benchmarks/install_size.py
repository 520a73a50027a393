"""How much disk a fresh ``pip install optuna-recipes[EXTRA]`` takes, per extra and per package.

For each extra, a new virtual environment gets ``pip install -c .ci/constraints.txt .[EXTRA]``
(this checkout, built as a wheel, dependencies from the package index; the constraints pin the
CPU build of PyTorch, as the README's commands do). The size counted is the environment's
``site-packages`` (bytes of every file, as ``du --apparent-size`` would) less what the bare
environment already held (pip), so it is what the install adds. One row per (extra, package) in
MB (10**6 bytes) and one ``problem = "total"`` row per extra. Needs the package index; the
environments are deleted afterwards.

Usage: python benchmarks/install_size.py --out benchmarks/results/install-size
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path
import subprocess
import sys
import tempfile
import venv

import _measurements
import pandas as pd

# Run inside the new environment: bytes per installed distribution (from its RECORD) and of the
# whole site-packages folder.
_SIZES = r"""
import json, os, sysconfig
from importlib import metadata
site = sysconfig.get_paths()["purelib"]
def size(path):
    try:
        return os.lstat(path).st_size
    except OSError:
        return 0
total = sum(size(os.path.join(d, f)) for d, _, files in os.walk(site) for f in files)
dists = {}
for dist in metadata.distributions():
    name = dist.metadata["Name"].lower().replace("_", "-")
    dists[name] = dists.get(name, 0) + sum(size(dist.locate_file(f)) for f in dist.files or [])
print(json.dumps({"total": total, "dists": dists}))
"""

MB = 10**6


def _sizes(python: Path) -> dict[str, object]:
    run = subprocess.run([str(python), "-c", _SIZES], capture_output=True, text=True, check=True)
    return json.loads(run.stdout)


def _python(env: Path) -> Path:
    return env / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def measure_extra(extra: str, constraints: Path) -> list[dict[str, object]]:
    """Install this checkout with ``extra`` ("core" for none) into a fresh environment; rows."""
    with tempfile.TemporaryDirectory(prefix="install-size-") as tmp:
        env = Path(tmp) / "env"
        venv.create(env, with_pip=True)
        python = _python(env)
        bare = _sizes(python)
        target = str(_measurements.ROOT) + ("" if extra == "core" else f"[{extra}]")
        pip = [str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check"]
        run = subprocess.run(
            [*pip, "-c", str(constraints), target], cwd=tmp, capture_output=True, text=True
        )
        if run.returncode:
            sys.exit(f"pip install {target} failed:\n{run.stderr[-4000:]}")
        after = _sizes(python)
    added = {
        name: size
        for name, size in after["dists"].items()  # type: ignore[union-attr]
        if name not in bare["dists"]  # type: ignore[operator]
    }
    rows: list[dict[str, object]] = [
        {"problem": "total", "strategy": extra, "seed": 0}
        | {"value": (after["total"] - bare["total"]) / MB, "packages": len(added)}  # type: ignore[operator]
    ]
    rows += [
        {"problem": name, "strategy": extra, "seed": 0, "value": size / MB, "packages": 1}
        for name, size in sorted(added.items(), key=lambda kv: -kv[1])
    ]
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="benchmarks/results/install-size")
    parser.add_argument(
        "--extras", default="core,all,all-cpu", help="comma-separated; 'core' installs no extra"
    )
    parser.add_argument("--constraints", default=".ci/constraints.txt")
    args = parser.parse_args()
    constraints = (_measurements.ROOT / args.constraints).resolve()
    rows = [row for extra in args.extras.split(",") for row in measure_extra(extra, constraints)]
    table = pd.DataFrame(rows)
    totals = table[table["problem"] == "total"][["strategy", "value", "packages"]]
    totals = totals.rename(columns={"strategy": "extra", "value": "MB"}).astype({"MB": int})
    largest = (
        table[table["problem"] != "total"]
        .sort_values("value", ascending=False)
        .drop_duplicates("problem")
        .head(12)[["problem", "value"]]
        .rename(columns={"problem": "package", "value": "MB"})
        .astype({"MB": int})
    )
    _measurements.write(
        args.out,
        table,
        title="Install size",
        text=f"What `pip install -c {args.constraints} .[EXTRA]` adds to a fresh virtual "
        f"environment's site-packages (Python {sys.version.split()[0]}), in MB; `packages`: the "
        "distributions installed.\n\n"
        + _measurements.markdown_table(totals)
        + "\n\nThe largest packages over all extras:\n",
        summary=largest,
        settings={"extras": args.extras, "constraints": args.constraints},
    )


if __name__ == "__main__":
    main()
