"""``python -m bench [audit] [--entries N]``: run benchmarks, print a table, write results.json."""

from __future__ import annotations

import argparse
import json
import os
import platform
from pathlib import Path

from bench import audit

RESULTS = Path(__file__).with_name("results.json")


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument("suite", nargs="?", default="all", choices=["all", "audit"])
    parser.add_argument("--entries", type=int, default=1_000_000, help="audit log size")
    args = parser.parse_args()
    machine = f"{os.cpu_count()} cores, {platform.processor() or platform.machine()}"
    print(f"== benchmarks on {machine}, Python {platform.python_version()}")
    rows = []
    if args.suite in ("all", "audit"):
        print("-- audit log")
        rows += audit.run(entries=args.entries)
    width = max(len(r["figure"]) for r in rows)
    print(f"\n{'figure':{width}}  {'value':>12} {'unit':10} {'baseline':>12}  ratio")
    for r in rows:
        print(
            f"{r['figure']:{width}}  {r['value']:>12} {r['unit']:10} "
            f"{r['baseline'] if r['baseline'] is not None else '-':>12}  {r['ratio']}"
        )
    print(
        "(ratio: throughput / baseline, or time / baseline for times; baselines measured "
        "in this run, see bench/audit.py)"
    )
    RESULTS.write_text(json.dumps({"machine": machine, "rows": rows}, indent=2) + "\n")
    print(f"wrote {RESULTS}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
