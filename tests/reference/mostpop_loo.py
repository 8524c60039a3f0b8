#!/usr/bin/env python3
"""Independent MostPop under leave-one-out, from the raw seq file.

Written from the protocol's definition only (no cltower code): for every user
with >= 3 items, the last item is the test target and the second last the
valid target; popularity = count of each item over all users' training items
(everything before the valid item; users with < 3 items train on everything);
each user's ranking is all items by (-count, item id), skipping the user's
history (all items before the target; never the target itself).
Prints HR@k and NDCG@k for valid and test as JSON.

usage: mostpop_loo.py Beauty.txt [k ...]
"""
import json
import math
import sys
from collections import Counter


def main():
    path = sys.argv[1]
    ks = [int(k) for k in sys.argv[2:]] or [10, 20, 50]
    seqs = []
    with open(path) as f:
        for line in f:
            parts = line.split()
            if len(parts) >= 2:
                seqs.append(parts[1:])
    count = Counter()
    for s in seqs:
        count.update(s[:-2] if len(s) >= 3 else s)
    all_items = {i for s in seqs for i in s}

    def key(item):  # raw ids are integers in these files: order numerically
        return (-count.get(item, 0), int(item))

    ranking = sorted(all_items, key=key)
    kmax = max(ks)
    out = {}
    for split, cut in (("valid", 2), ("test", 1)):
        hr = {k: 0.0 for k in ks}
        ndcg = {k: 0.0 for k in ks}
        users = 0
        for s in seqs:
            if len(s) < 3:
                continue
            users += 1
            target = s[-cut]
            seen = set(s[:-cut]) - {target}
            top = []
            for item in ranking:
                if item not in seen:
                    top.append(item)
                    if len(top) == kmax:
                        break
            if target in top:
                r = top.index(target)
                for k in ks:
                    if r < k:
                        hr[k] += 1
                        ndcg[k] += 1 / math.log2(r + 2)
        out[split] = {"users": users}
        for k in ks:
            out[split][f"HR@{k}"] = hr[k] / users
            out[split][f"NDCG@{k}"] = ndcg[k] / users
    json.dump(out, sys.stdout, indent=1)
    print()


if __name__ == "__main__":
    main()
