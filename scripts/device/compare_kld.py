#!/usr/bin/env python3
"""Compares a metric column (default kld) of two measurement CSVs (`quantscope jobs export`) unit by
unit: for each band of the first file's value, how many units, and the median and largest relative
difference of the second's. docs/gpu.md's TF32 tables are this script's output (fp32 sweep first,
tf32 second)."""
import csv
import statistics
import sys


def values_by_unit(path, column):
    with open(path, newline="") as f:
        return {(row["tensor"], row["type"]): float(row[column]) for row in csv.DictReader(f) if row.get(column)}


def main():
    if len(sys.argv) not in (3, 4):
        sys.exit("usage: compare_kld.py BASE.csv OTHER.csv [COLUMN]")
    column = sys.argv[3] if len(sys.argv) == 4 else "kld"
    base, other = values_by_unit(sys.argv[1], column), values_by_unit(sys.argv[2], column)
    if base.keys() != other.keys():
        sys.exit(f"the files measure different units ({len(base)} and {len(other)})")
    bands = [(1e-2, float("inf")), (1e-3, 1e-2), (1e-4, 1e-3), (1e-5, 1e-4), (0.0, 1e-5)]
    print(f"| {column} (base) | units | median relative difference | largest |")
    print("|---|---|---|---|")
    for lo, hi in bands:
        diffs = [abs(other[k] - v) / v for k, v in base.items() if lo <= v < hi and v > 0]
        if not diffs:
            continue
        label = f"≥ {lo:g}" if hi == float("inf") else (f"< {hi:g}" if lo == 0.0 else f"{lo:g} – {hi:g}")
        print(f"| {label} | {len(diffs)} | {statistics.median(diffs):.2g} | {max(diffs):.2g} |")


if __name__ == "__main__":
    main()
