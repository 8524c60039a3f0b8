#!/usr/bin/python3
"""PyTorch speed peer of `cltower train --model sasrec|cl-epidtn` (bench/vs_pytorch.sh).

Trains the same network as cltower (tests/parity/torch_model.py, the module
`make test-parity` checks against the C code: forward, every loss term, every
gradient) in float32 with torch.optim.Adam and global gradient-norm clipping,
on batches composed as the C trainer composes them: per step --batch-size user
sequences (the last max-len training items of each user, every position
predicting the next item), the candidates of the sampled softmax (the batch's
distinct next items + --negatives uniform items, log-Q), two CL4SRec views per
user, --cl-items uniformly drawn items with two feature-masked views. It does
the same arithmetic per step; it does not try to reproduce cltower's metrics
(no evaluation, its own random streams).

The options are cltower's: the defaults come from `cltower train --model M
--help` (generic defaults, then the model's own), then --config FILE (a run's
RUN_DIR/config), then --set key=value ... . Examples/s counts user sequences,
as cltower's train_log.jsonl does for the per-sequence models, and is measured
over --steps steps after --warmup steps. Batches are composed (in Python)
before the timed steps, so the time is the model's: forward, backward, clipping
and Adam.

Prints one JSON line on stdout; progress on stderr. Run with Debian's
python3-torch: /usr/bin/python3 bench/torch_ref.py --model cl-epidtn --threads 2
"""
import argparse
import json
import math
import os
import re
import subprocess
import sys
import time

import numpy as np
import torch

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "parity"))
from torch_model import SEQ_MASK, Batch, Catalog, Net, Spec, init_params, load_config  # noqa: E402


# ---- configuration ---------------------------------------------------------------------------

def help_defaults(cltower, model):
    """cltower's option defaults for MODEL, read from `cltower train --help`."""
    text = subprocess.run([cltower, "train", "--model", model, "--help"], capture_output=True, text=True).stdout
    cfg = {}
    for line in text.splitlines():
        m = re.match(r"\s+--(?:\[no-\])?([a-z0-9-]+)\s.*\[([^\]]*)\]$", line)
        if m:
            cfg[m.group(1)] = m.group(2)
    lines = text.splitlines()
    for i, line in enumerate(lines):
        if re.match(r"\s+%s\s" % re.escape(model), line) and i + 1 < len(lines) and "defaults:" in lines[i + 1]:
            for kv in lines[i + 1].split("defaults:", 1)[1].split():
                k, v = kv.split("=", 1)
                cfg[k] = v
    if "dim" not in cfg:
        sys.exit("torch_ref: could not read the defaults from `%s train --help`" % cltower)
    return cfg


# ---- data (cltower's seq format, loo split) -----------------------------------------------------

def numeric_order(keys):
    return sorted(keys, key=lambda k: (0, int(k), k) if k.isdigit() else (1, 0, k))


def load_data(path, features_path, use_features):
    """Dense user sequences, item feature CSR, as cltower's seq loader (dense ids in raw-id order)."""
    raw = []
    for line in open(path):
        f = line.split()
        if len(f) >= 2:
            raw.append(f[1:])
    items = numeric_order({i for s in raw for i in s})
    iid = {k: n for n, k in enumerate(items)}
    seqs = [np.array([iid[i] for i in s], dtype=np.int64) for s in raw]
    feat_ptr, feat, fid = [0], [], {}
    if use_features and features_path:
        attrs = json.load(open(features_path))
        for it in items:
            seen = []
            for f in attrs.get(it, []):
                k = fid.setdefault(str(f), len(fid))
                if k not in seen:
                    seen.append(k)
            feat.extend(seen)
            feat_ptr.append(len(feat))
    else:
        feat_ptr = [0] * (len(items) + 1)
    return seqs, len(items), np.array(feat_ptr, np.int64), np.array(feat or [0], np.int64), len(fid)


def loo_train_len(seqs):
    return np.array([len(s) - 2 if len(s) >= 3 else len(s) for s in seqs], dtype=np.int64)


def pop_buckets(counts, nb):
    n = len(counts)
    order = np.lexsort((np.arange(n), -counts))  # by count desc, ties by id
    bucket = np.empty(n, np.int64)
    bucket[order] = np.arange(n) * nb // n
    return bucket


# ---- batches, composed as src/model/cl_epidtn.c composes them ---------------------------------------

class Composer:
    def __init__(self, cfg, spec, seqs, train_len, counts, feat_ptr, feat, n_items, rng):
        self.cfg, self.spec, self.seqs, self.train_len, self.rng = cfg, spec, seqs, train_len, rng
        self.counts, self.feat_ptr, self.feat, self.n_items = counts, feat_ptr, feat, n_items
        self.negatives = int(cfg["negatives"])
        self.logq = cfg["logq"] == "true"
        self.n_cl = min(int(cfg["cl-items"]), n_items // 2)
        self.use_feat = spec.use_features and feat_ptr[-1] > 0

    def view(self, seq, end):
        """A CL4SRec view of the last max-len items of seq[:end] (crop, mask or reorder)."""
        c, rng = self.cfg, self.rng
        L = min(end, self.spec.L)
        v = seq[end - L:end].copy()
        kind = rng.integers(3)
        if kind == 0:
            n = max(1, math.ceil(float(c["crop-ratio"]) * L))
            start = rng.integers(L - n + 1)
            return v[start:start + n]
        if kind == 1:
            n = math.floor(float(c["mask-ratio"]) * L)
            v[rng.choice(L, n, replace=False)] = SEQ_MASK
        else:
            n = math.floor(float(c["reorder-ratio"]) * L)
            if n >= 2:
                start = rng.integers(L - n + 1)
                v[start:start + n] = rng.permutation(v[start:start + n])
        return v

    def candidates(self, pos, extra):
        """Distinct items of pos (first appearance order) then new ones of extra; column of each pos."""
        allc = np.concatenate([pos, extra])
        _, first = np.unique(allc, return_index=True)
        first = np.sort(first)
        items = allc[first]
        col_of = np.empty(self.n_items, np.int64)
        col_of[items] = np.arange(len(items))
        return items, col_of[pos]

    def batch(self, users):
        spec, rng, L = self.spec, self.rng, self.spec.L
        tok, tgt = [], []
        for u in users:
            s, end = self.seqs[u], self.train_len[u]
            n = min(end - 1, L)
            tok.append(s[end - 1 - n:end - 1])
            tgt.append(s[end - n:end])
        n_main = len(tok)
        Nq = sum(len(t) for t in tok)
        pos = np.concatenate(tgt)
        kw = {}
        if spec.cl_user:
            for _ in range(2):
                tok.extend(self.view(self.seqs[u], self.train_len[u]) for u in users)
            w = 1.0 / np.sqrt(np.maximum(1, self.train_len[users]).astype(np.float32))
            w = np.clip(w * len(w) / w.sum(), 1 / 3, 3)
            kw["cl_w"] = torch.as_tensor((w * len(w) / w.sum()).astype(np.float32))
        lens = [len(t) for t in tok]
        ptr = np.concatenate([[0], np.cumsum(lens)])
        if spec.loss == "bce":
            neg = np.empty(Nq, np.int64)
            t = 0
            for k, u in enumerate(users):
                seen = set(self.seqs[u].tolist())
                for _ in range(len(tgt[k])):
                    for _try in range(100):
                        j = int(rng.integers(self.n_items))
                        if j not in seen:
                            break
                    neg[t] = j
                    t += 1
            cand, col = self.candidates(np.concatenate([pos, neg]), np.zeros(0, np.int64))
            logq = np.zeros(len(cand), np.float32)
        elif spec.loss == "full":
            cand, col = np.arange(self.n_items), pos
            logq = np.zeros(self.n_items, np.float32)
        else:
            cand, col = self.candidates(pos, rng.integers(self.n_items, size=self.negatives))
            logq = np.zeros(len(cand), np.float32)
            if self.logq:
                p = (self.counts[cand] + 1.0) / (self.counts.sum() + self.n_items)
                log_miss = Nq * np.log1p(-p) + self.negatives * math.log1p(-1.0 / self.n_items)
                logq = np.log(-np.expm1(log_miss)).astype(np.float32)
        if spec.cl_item:
            ids = rng.choice(self.n_items, self.n_cl, replace=False)
            kw["cl_ids"] = torch.as_tensor(ids)
            kw["views"] = [self.item_views(ids) for _ in range(2)]
        return Batch(tok=torch.as_tensor(np.concatenate(tok)), ptr=ptr, tgt=torch.as_tensor(pos), n_main=n_main,
                     n=len(users), Nq=Nq, cand=torch.as_tensor(cand), logq=torch.as_tensor(logq),
                     col=torch.as_tensor(col), **kw)

    def item_views(self, ids):
        """Feature masking: each slot (id, each feature) dropped with prob feat-mask-ratio, one kept."""
        p, rng = float(self.cfg["feat-mask-ratio"]), self.rng
        vid, fptr, fids = np.empty(len(ids), np.int64), [0], []
        for k, it in enumerate(ids):
            f = self.feat[self.feat_ptr[it]:self.feat_ptr[it + 1]] if self.use_feat else self.feat[:0]
            keep_id = rng.random() >= p
            kept = list(f[rng.random(len(f)) >= p])
            if not keep_id and not kept:
                pick = rng.integers(len(f) + 1)
                if pick == len(f):
                    keep_id = True
                else:
                    kept = [f[pick]]
            vid[k] = it if keep_id else -1
            fids.extend(kept)
            fptr.append(len(fids))
        return {"id": torch.as_tensor(vid), "fptr": torch.as_tensor(np.array(fptr, np.int64)),
                "fids": torch.as_tensor(np.array(fids or [0], np.int64)), "mask": None}


# ---- main -------------------------------------------------------------------------------------------

def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", required=True, choices=["sasrec", "cl-epidtn"])
    ap.add_argument("--data", default=os.path.join(ROOT, "..", "shared", "data", "amazon-beauty", "Beauty.txt"))
    ap.add_argument("--item-features", default=None,
                    help="item features JSON (default: Beauty_item2attributes.json next to --data; 'none' for none)")
    ap.add_argument("--config", help="a cltower run's RUN_DIR/config: use its options")
    ap.add_argument("--set", nargs="*", default=[], metavar="KEY=VALUE", help="override cltower options")
    ap.add_argument("--cltower", default=os.path.join(ROOT, "build", "cltower"))
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--steps", type=int, default=0, help="timed steps (0: one epoch)")
    ap.add_argument("--warmup", type=int, default=3, help="untimed steps first")
    ap.add_argument("--seed", type=int, default=42)
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    cfg = help_defaults(args.cltower, args.model)
    if args.config:
        cfg.update(load_config(args.config))
    for kv in args.set:
        k, v = kv.split("=", 1)
        cfg[k] = v
    spec = Spec(cfg, args.model)
    feats = args.item_features
    if feats is None:
        feats = os.path.join(os.path.dirname(args.data), "Beauty_item2attributes.json")
        feats = feats if os.path.exists(feats) else None
    elif feats == "none":
        feats = None
    seqs, n_items, feat_ptr, feat, n_feats = load_data(args.data, feats, spec.use_features)
    train_len = loo_train_len(seqs)
    counts = np.zeros(n_items, np.int64)
    for s, n in zip(seqs, train_len):
        np.add.at(counts, s[:n], 1)
    bucket = pop_buckets(counts, spec.pop_buckets) if spec.gates else None
    examples = np.nonzero(train_len >= 2)[0]
    B = int(cfg["batch-size"])
    steps = args.steps or math.ceil(len(examples) / B)

    rng = np.random.default_rng(args.seed)
    comp = Composer(cfg, spec, seqs, train_len, counts, feat_ptr, feat, n_items, rng)
    t0 = time.perf_counter()
    batches, order = [], np.zeros(0, np.int64)
    while len(batches) < args.warmup + steps:
        if len(order) == 0:
            order = rng.permutation(examples)
        batches.append(comp.batch(order[:B]))
        order = order[B:]
    prep = time.perf_counter() - t0

    P = init_params(spec, n_items, n_feats, torch.Generator().manual_seed(args.seed))
    params = list(P.values())
    net = Net(spec, Catalog(n_items, feat_ptr, feat, bucket), P, train=True)
    opt = torch.optim.Adam(params, lr=float(cfg["lr"]), betas=(0.9, 0.999), eps=1e-8,
                           weight_decay=float(cfg["weight-decay"]))
    clip = float(cfg["clip-norm"])
    losses, parts_sum = [], {}
    t_start = None
    for k, b in enumerate(batches):
        if k == args.warmup:
            t_start = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        parts = net.losses(b)[0]
        loss = sum(parts.values())
        loss.backward()
        if clip > 0:
            torch.nn.utils.clip_grad_norm_(params, clip)
        opt.step()
        losses.append(loss.item())
        if k >= args.warmup:
            for name, v in parts.items():
                parts_sum[name] = parts_sum.get(name, 0.0) + v.item()
        if k % 10 == 0:
            print("step %d/%d loss %.4f" % (k, len(batches), losses[-1]), file=sys.stderr)
    seconds = time.perf_counter() - (t_start if t_start is not None else time.perf_counter())
    timed = batches[args.warmup:]
    n_ex = sum(b.n for b in timed)
    print(json.dumps({
        "impl": "pytorch", "torch": torch.__version__, "model": args.model, "threads": args.threads,
        "warmup_steps": args.warmup, "steps": len(timed), "examples": n_ex, "seconds": round(seconds, 4),
        "examples_per_second": round(n_ex / seconds, 2) if seconds > 0 else 0,
        "first_loss": round(losses[0], 5), "mean_loss": round(float(np.mean(losses[args.warmup:])), 5),
        "mean_loss_parts": {k: round(v / max(len(timed), 1), 5) for k, v in parts_sum.items()},
        "tokens_per_step": round(float(np.mean([b.layout.N for b in timed])), 1),
        "candidates_per_step": round(float(np.mean([len(b.cand) for b in timed])), 1),
        "prep_seconds": round(prep, 3),
    }))


if __name__ == "__main__":
    main()
