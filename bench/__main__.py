"""``python -m bench [SUITE] [--rows N] [--big-rows N] [--spark-rows N] [--seconds S]
[--entries N]``: run benchmarks (all, or one of audit, disclosure, ingest, quality, linking,
spark, retention, small-pushes, tokens), print a table, write results.json."""

from __future__ import annotations

import argparse
import json
import os
import platform
from pathlib import Path

from bench import (
    audit,
    disclosure,
    ingest,
    linking,
    quality,
    retention,
    small_pushes,
    spark,
    tokens,
)

RESULTS = Path(__file__).with_name("results.json")


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument(
        "suite",
        nargs="?",
        default="all",
        choices=[
            "all",
            "audit",
            "disclosure",
            "ingest",
            "quality",
            "linking",
            "retention",
            "small-pushes",
            "spark",
            "tokens",
        ],
    )
    parser.add_argument("--entries", type=int, default=1_000_000, help="audit log size")
    parser.add_argument("--rows", type=int, default=1_000_000, help="ingest delivery rows")
    parser.add_argument(
        "--big-rows",
        type=int,
        default=10_000_000,
        help="rows of the memory run (0: skip it); part of 'all' and 'ingest'",
    )
    parser.add_argument(
        "--spark-rows",
        type=int,
        default=10_000_000,
        help="rows of each of the three linked datasets on both engines (0: skip)",
    )
    parser.add_argument(
        "--spark-only",
        action="store_true",
        help="skip the local engine in the Spark suite (sizes one process cannot hold)",
    )
    parser.add_argument("--seconds", type=float, default=60.0, help="small-push run length")
    args = parser.parse_args()
    machine = f"{os.cpu_count()} cores, {platform.processor() or platform.machine()}"
    print(f"== benchmarks on {machine}, Python {platform.python_version()}")
    rows = []
    if args.suite in ("all", "ingest"):
        print("-- data plane")
        rows += ingest.run(rows=args.rows, persons=max(1, args.rows // 4))
        if args.big_rows:
            print("-- memory on a large delivery")
            rows += ingest.run(
                rows=args.big_rows, persons=max(1, args.big_rows // 4), memory_only=True
            )
    if args.suite in ("all", "quality"):
        print("-- quality report")
        rows += quality.cost(rows=args.rows)
        rows += quality.findings()
    if args.suite in ("all", "linking"):
        print("-- linking")
        rows += linking.run(rows=args.rows, persons=max(1, args.rows // 4))
    if args.suite in ("all", "spark") and args.spark_rows:
        print("-- the Spark engine")
        rows += spark.run(rows=args.spark_rows, local=not args.spark_only)
    if args.suite in ("all", "small-pushes"):
        print("-- small pushes")
        rows += small_pushes.run(seconds=args.seconds)
    if args.suite in ("all", "disclosure"):
        print("-- disclosure control")
        rows += disclosure.run()
    if args.suite in ("all", "tokens"):
        print("-- identity")
        rows += tokens.run()
    if args.suite in ("all", "retention"):
        print("-- retention sweep")
        rows += retention.run()
    if args.suite in ("all", "audit"):
        print("-- audit log")
        rows += audit.run(entries=args.entries)
    width = max(len(r["figure"]) for r in rows)
    print(
        f"\n{'figure':{width}}  {'value':>12} {'unit':10} {'baseline':>12}  {'ratio':>7}  "
        "target: holds?"
    )
    for r in rows:
        target = f"{r['target']}: {'yes' if r['holds'] else 'NO'}" if "target" in r else "-"
        baseline = r["baseline"] if r["baseline"] is not None else "-"
        print(
            f"{r['figure']:{width}}  {r['value']:>12} {r['unit']:10} {baseline:>12}  "
            f"{r['ratio']:>7}  {target}"
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
