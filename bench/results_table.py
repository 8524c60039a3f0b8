#!/usr/bin/env python3
"""Markdown tables from a directory of cltower runs (bench/ablation.sh).

usage: results_table.py OUT_DIR   (reads OUT_DIR/runs.txt, OUT_DIR/<name>/metrics.json, OUT_DIR/<name>.cmd)
Plain python3, no third-party modules.
"""
import json
import os
import statistics
import sys


def epoch_seconds(run_dir):
    """Median training seconds per epoch (valid evaluation excluded)."""
    p = os.path.join(run_dir, "train_log.jsonl")
    if not os.path.exists(p):
        return 0.0
    secs = [json.loads(l).get("train_seconds", 0.0) for l in open(p) if l.strip()]
    return statistics.median(secs) if secs else 0.0


def main():
    out = sys.argv[1]
    names = [l.split("|")[0] for l in open(os.path.join(out, "runs.txt")) if l.strip() and not l.startswith("#")]
    rows = []
    for n in names:
        p = os.path.join(out, n, "metrics.json")
        if os.path.exists(p):
            rows.append((n, json.load(open(p))))
    cols = ["HR@5", "HR@10", "HR@20", "HR@50", "NDCG@5", "NDCG@10", "NDCG@20", "NDCG@50"]
    best = {c: max(m["test"].get(c, 0) for _, m in rows) for c in cols}
    print("| run | " + " | ".join(cols) + " | best epoch | s/epoch | train s | command |")
    print("| --- | " + " | ".join("---" for _ in cols) + " | --- | --- | --- | --- |")
    for n, m in rows:
        t = m["test"]
        cells = [("**%.4f**" if abs(t.get(c, 0) - best[c]) < 1e-12 else "%.4f") % t.get(c, 0) for c in cols]
        cmd_path = os.path.join(out, n + ".cmd")
        cmd = open(cmd_path).read().strip() if os.path.exists(cmd_path) else ""
        print("| %s | %s | %d | %.1f | %.0f | `%s` |" % (n, " | ".join(cells), m.get("best_epoch", 0),
                                                        epoch_seconds(os.path.join(out, n)),
                                                        m.get("train_seconds", 0), cmd))
    print()
    print("Buckets (test, @20): Recall@20 of targets in each item-popularity fifth (least popular first), "
          "HR@20 of the 20% users with the shortest histories.")
    print()
    print("| run | pop 0 (tail) | pop 1 | pop 2 | pop 3 | pop 4 (head) | short-history HR@20 |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for n, m in rows:
        b = [x for x in m.get("test_buckets", []) if x["k"] == 20]
        if not b:
            continue
        b = b[0]
        print("| %s | %s | %.4f |" % (n, " | ".join("%.4f" % r for r in b["popularity_recall"]),
                                      b["short_history_hr"]))


if __name__ == "__main__":
    main()
