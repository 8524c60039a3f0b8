#!/usr/bin/python3
"""Standalone PyTorch reference: original SASRec trained with BCE (one negative).

What it is
    An independent re-implementation of SASRec + binary cross-entropy with one
    sampled negative per position, written to cross-check cltower's own
    `--model sasrec --loss bce --negatives 1` run.  It imports nothing from
    cltower; it only needs torch and numpy (Debian's /usr/bin/python3).

Recipe followed
    The SASRec baseline code of salesforce/ICLRec (the recommendation task of
    ICLRec with the contrastive terms removed), read from:
      src/models.py    SASRecModel: item emb (padding_idx=0) + learned position
                       emb -> LayerNorm(eps 1e-12) -> dropout -> Encoder;
                       causal*padding mask turned into (1-mask)*-10000;
                       init_weights (normal(0, 0.02) Linear/Embedding weights,
                       Linear bias 0, LayerNorm 1/0).
      src/modules.py   LayerNorm (TF style, eps inside sqrt), SelfAttention
                       (scaled dot product, mask added, softmax, attention
                       dropout, dense, dropout, post-LN residual), Intermediate
                       (dense 4h, erf GELU, dense h, dropout, post-LN residual),
                       Encoder (stack of Layer).
      src/datasets.py  training example per user: input items[:-3], targets
                       items[1:-2] at every position; valid input items[:-2] ->
                       items[-2]; test input items[:-1] -> items[-1]; left pad
                       with 0 then keep the last max_seq_length=50; one negative
                       per position drawn by utils.neg_sample with the user's
                       WHOLE sequence as the excluded set.
      src/utils.py     neg_sample (uniform over 1..item_size-1, rejection),
                       get_user_seqs (item_size = max_item + 2), rating matrices
                       for the history to exclude (valid items[:-2], test
                       items[:-1]), get_metric / ndcg_k (NDCG = 1/log2(rank+2)),
                       set_seed, EarlyStopping (strict improvement, patience).
      src/trainers.py  cross_entropy (BCE with +1e-24 inside the logs, summed
                       over target>0 positions / their count), Adam(lr, betas,
                       weight_decay), full-sort scoring of the output at the
                       last position against item_embeddings.weight, history
                       scores set to 0, HR/NDCG @5/10/20.
      src/main.py      hyper-parameters (hidden 64, 2 layers, 2 heads, gelu,
                       dropouts 0.5, init range 0.02, max_seq_length 50, lr
                       1e-3, batch 256, Adam betas (0.9, 0.999), weight decay
                       0), RandomSampler (reshuffle every epoch), validation
                       after every epoch, early stopping on valid NDCG@20 with
                       patience 40, test with the best checkpoint.

Deviations from ICLRec's code (all deliberate)
    * Ranking: ICLRec scores every row of the embedding table, i.e. also the
      padding row 0 (frozen random vector) and the unused row max_item+1
      (ICLRec's mask_id), and sets history items to score 0.  Here only items
      1..N are ranked, and history items are removed (score -inf) by default;
      `--seen zero` restores ICLRec's "set to 0" (item 0 / N+1 still excluded).
    * Rank is "number of items with a strictly higher score" (ties favour the
      target); ICLRec takes np.argpartition top-20 (ties broken arbitrarily).
      The target's score is read after the history masking, as in ICLRec (a
      target that also occurs in the history is a miss; this never happens
      in the Amazon Sports / Beauty files).
    * Best model is kept as an in-memory copy of the state_dict instead of a
      checkpoint file (same effect).
    * Defaults: --seed 42 (ICLRec main.py: 1), --epochs 400 (ICLRec: 300).
      ICLRec's scripts use 1 layer for Beauty; here 2 layers for every data
      set (--layers to change).
    * Negatives are sampled with numpy in one vectorized rejection loop per
      epoch instead of python's random.randint per position; same
      distribution (uniform over the allowed ids, excluding the user's whole
      sequence), different random stream.
    * Item table / negative range: ICLRec's table has max_item+2 rows and
      neg_sample draws from 1..max_item+1, so the never-seen id max_item+1 can
      be a negative.  That is the default here (`--item-table iclrec`);
      `--item-table n1` uses an (N+1)-row table and negatives from 1..N.
      Row max_item+1 is never ranked (see first point).
    * Users are taken in file order and the user id column is ignored, as in
      get_user_seqs.  N (max item id) is always computed over the whole file,
      also with --max-users (ICLRec has no such option; it is for quick
      tests only and also restricts valid/test to those users).
    Kept from ICLRec although not in a plain SASRec description: padding_idx=0
    on the item embedding (row 0 is initialised normal(0, 0.02) by
    init_weights and then never receives a gradient), no scaling of item
    embeddings by sqrt(d), no final LayerNorm after the encoder, dropout on
    the attention probabilities, padding positions only masked as attention
    keys (their own outputs are computed but carry no loss).

How to run (from /work/main)
    /usr/bin/python3 bench/sasrec_bce_torch.py \
        --data ../shared/data/amazon-sports/Sports_and_Outdoors.txt \
        --seed 42 --threads 1 --log runs/sasrec_bce_torch_sports.jsonl
    Quick check: add --max-users 2000 --epochs 3.

What it prints
    stderr: one progress line per epoch (loss, valid HR/NDCG@20, seconds).
    stdout: ONE JSON line at the end with data, seed, best_epoch, epochs_run,
            valid (metrics at the best epoch), test (metrics of the best
            model), train_seconds (wall time of the training loop including
            the per-epoch validation), train_loss (mean training loss per
            epoch, list), and the settings used.
    --log FILE: one JSON line per epoch: epoch, loss, valid metrics,
            epoch_seconds (train + valid), train_seconds, valid_seconds.
"""

import argparse
import copy
import json
import math
import os
import random
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

KS = (5, 10, 20)


# --------------------------------------------------------------------------
# data
# --------------------------------------------------------------------------

def read_sequences(path, max_users):
    seqs = []
    n_items = 0
    with open(path) as f:
        for line in f:
            parts = line.split()
            if len(parts) < 2:
                continue
            items = np.array(parts[1:], dtype=np.int64)
            n_items = max(n_items, int(items.max()))
            seqs.append(items)
    if max_users > 0:
        seqs = seqs[:max_users]
    return seqs, n_items


def left_pad(rows, max_len):
    """rows: list of int arrays -> (len(rows), max_len) int64, keep the tail."""
    out = np.zeros((len(rows), max_len), dtype=np.int64)
    for u, r in enumerate(rows):
        r = r[-max_len:]
        if len(r):
            out[u, max_len - len(r):] = r
    return out


def history_pairs(seqs, cut):
    """(user, item) index arrays of items[:cut] for every user."""
    us, its = [], []
    for u, s in enumerate(seqs):
        h = s[:cut]
        us.append(np.full(len(h), u, dtype=np.int64))
        its.append(h)
    return np.concatenate(us), np.concatenate(its)


class Data:
    def __init__(self, seqs, n_items, max_len):
        self.n_users = len(seqs)
        self.n_items = n_items
        # training example (datasets.py, data_type == "train")
        self.train_in = left_pad([s[:-3] for s in seqs], max_len)
        self.train_pos = left_pad([s[1:-2] for s in seqs], max_len)
        # evaluation examples
        self.valid_in = left_pad([s[:-2] for s in seqs], max_len)
        self.valid_tgt = np.array([s[-2] for s in seqs], dtype=np.int64)
        self.test_in = left_pad([s[:-1] for s in seqs], max_len)
        self.test_tgt = np.array([s[-1] for s in seqs], dtype=np.int64)
        self.valid_hist = history_pairs(seqs, -2)
        self.test_hist = history_pairs(seqs, -1)
        # sorted keys user*K + item of each user's WHOLE sequence (negative
        # sampling excludes all of them, as neg_sample(set(items), ...))
        self.key_mult = n_items + 2
        u, it = history_pairs(seqs, None)
        self.seq_keys = np.unique(u * self.key_mult + it)

    def sample_negatives(self, rng, neg_max):
        """One negative per training position with target > 0, uniform over
        1..neg_max minus the user's whole sequence (rejection sampling)."""
        mask = self.train_pos > 0
        rows, cols = np.nonzero(mask)
        neg = np.zeros_like(self.train_pos)
        todo = np.arange(len(rows))
        while len(todo):
            cand = rng.integers(1, neg_max + 1, size=len(todo))
            keys = rows[todo] * self.key_mult + cand
            pos = np.searchsorted(self.seq_keys, keys)
            pos = np.minimum(pos, len(self.seq_keys) - 1)
            bad = self.seq_keys[pos] == keys
            ok = todo[~bad]
            neg[rows[ok], cols[ok]] = cand[~bad]
            todo = todo[bad]
        return neg


# --------------------------------------------------------------------------
# model (ICLRec models.py / modules.py)
# --------------------------------------------------------------------------

class TFLayerNorm(nn.Module):
    def __init__(self, hidden, eps=1e-12):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(hidden))
        self.bias = nn.Parameter(torch.zeros(hidden))
        self.eps = eps

    def forward(self, x):
        mu = x.mean(-1, keepdim=True)
        var = (x - mu).pow(2).mean(-1, keepdim=True)
        return self.weight * ((x - mu) / torch.sqrt(var + self.eps)) + self.bias


def gelu_erf(x):
    return 0.5 * x * (1.0 + torch.erf(x / math.sqrt(2.0)))


class Block(nn.Module):
    def __init__(self, hidden, heads, attn_drop, hid_drop):
        super().__init__()
        assert hidden % heads == 0
        self.heads = heads
        self.dh = hidden // heads
        self.q = nn.Linear(hidden, hidden)
        self.k = nn.Linear(hidden, hidden)
        self.v = nn.Linear(hidden, hidden)
        self.attn_drop = nn.Dropout(attn_drop)
        self.o = nn.Linear(hidden, hidden)
        self.o_drop = nn.Dropout(hid_drop)
        self.ln1 = TFLayerNorm(hidden)
        self.ff1 = nn.Linear(hidden, 4 * hidden)
        self.ff2 = nn.Linear(4 * hidden, hidden)
        self.ff_drop = nn.Dropout(hid_drop)
        self.ln2 = TFLayerNorm(hidden)

    def split(self, x):
        b, l, _ = x.shape
        return x.view(b, l, self.heads, self.dh).permute(0, 2, 1, 3)

    def forward(self, x, add_mask, last_only=False):
        # last_only: queries (and everything after attention) only for the
        # last position; same values as the full computation, used at eval.
        b, l, h = x.shape
        k, v = self.split(self.k(x)), self.split(self.v(x))
        if last_only:
            x = x[:, -1:, :]
            add_mask = add_mask[:, :, -1:, :]
        q = self.split(self.q(x))
        att = torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(self.dh)
        att = att + add_mask
        att = self.attn_drop(torch.softmax(att, dim=-1))
        ctx = torch.matmul(att, v).permute(0, 2, 1, 3).reshape(b, x.shape[1], h)
        x = self.ln1(self.o_drop(self.o(ctx)) + x)
        y = self.ff_drop(self.ff2(gelu_erf(self.ff1(x))))
        return self.ln2(y + x)


class SASRec(nn.Module):
    def __init__(self, table_rows, hidden=64, max_len=50, layers=2, heads=2,
                 attn_drop=0.5, hid_drop=0.5, init_range=0.02):
        super().__init__()
        self.item_emb = nn.Embedding(table_rows, hidden, padding_idx=0)
        self.pos_emb = nn.Embedding(max_len, hidden)
        self.ln = TFLayerNorm(hidden)
        self.drop = nn.Dropout(hid_drop)
        self.blocks = nn.ModuleList(
            [Block(hidden, heads, attn_drop, hid_drop) for _ in range(layers)])
        self.init_range = init_range
        self.apply(self._init)
        causal = torch.tril(torch.ones(max_len, max_len))
        self.register_buffer("causal", causal, persistent=False)

    def _init(self, m):
        # init_weights: note this overwrites the zero row of padding_idx
        if isinstance(m, (nn.Linear, nn.Embedding)):
            m.weight.data.normal_(0.0, self.init_range)
        elif isinstance(m, TFLayerNorm):
            m.weight.data.fill_(1.0)
            m.bias.data.zero_()
        if isinstance(m, nn.Linear) and m.bias is not None:
            m.bias.data.zero_()

    def forward(self, ids, last_only=False):
        """(B, L) ids -> (B, L, H) outputs, or (B, H) at the last position
        when last_only (the last layer then skips the other queries)."""
        b, l = ids.shape
        keep = (ids > 0).float()[:, None, None, :] * self.causal[:l, :l][None, None]
        add_mask = (1.0 - keep) * -10000.0
        pos = torch.arange(l, device=ids.device)
        x = self.item_emb(ids) + self.pos_emb(pos)[None]
        x = self.drop(self.ln(x))
        for i, blk in enumerate(self.blocks):
            last = last_only and i == len(self.blocks) - 1
            x = blk(x, add_mask, last_only=last)
        return x[:, -1, :] if last_only else x


def bce_loss(model, out, pos, neg):
    pe = model.item_emb(pos)
    ne = model.item_emb(neg)
    pl = (out * pe).sum(-1)
    nl = (out * ne).sum(-1)
    ist = (pos > 0).float()
    loss = (-torch.log(torch.sigmoid(pl) + 1e-24) * ist
            - torch.log(1 - torch.sigmoid(nl) + 1e-24) * ist)
    return loss.sum() / ist.sum()


# --------------------------------------------------------------------------
# evaluation
# --------------------------------------------------------------------------

@torch.no_grad()
def evaluate(model, inputs, targets, hist, n_items, seen, block=1024):
    model.eval()
    hu, hi = hist
    order = np.argsort(hu, kind="stable")
    hu, hi = hu[order], hi[order]
    starts = np.searchsorted(hu, np.arange(len(targets) + 1))
    table = model.item_emb.weight
    sums = {f"{m}@{k}": 0.0 for k in KS for m in ("HR", "NDCG")}
    n = len(targets)
    for a in range(0, n, block):
        b = min(a + block, n)
        out = model(torch.from_numpy(inputs[a:b]), last_only=True)
        scores = out @ table.t()
        s0, s1 = starts[a], starts[b]
        ru = torch.from_numpy(hu[s0:s1] - a)
        ri = torch.from_numpy(hi[s0:s1])
        scores[ru, ri] = float("-inf") if seen == "remove" else 0.0
        scores[:, 0] = float("-inf")               # padding row never ranked
        scores[:, n_items + 1:] = float("-inf")    # ICLRec's mask_id row
        tgt = torch.from_numpy(targets[a:b])
        ts = scores.gather(1, tgt[:, None])
        rank = (scores > ts).sum(1).double()
        for k in KS:
            hit = rank < k
            sums[f"HR@{k}"] += hit.double().sum().item()
            sums[f"NDCG@{k}"] += torch.where(
                hit, 1.0 / torch.log2(rank + 2.0), torch.zeros_like(rank)).sum().item()
    return {key: v / n for key, v in sums.items()}


# --------------------------------------------------------------------------
# main
# --------------------------------------------------------------------------

def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[1])
    ap.add_argument("--data", required=True)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--epochs", type=int, default=400)
    ap.add_argument("--patience", type=int, default=40)
    ap.add_argument("--max-users", type=int, default=0)
    ap.add_argument("--seen", choices=("remove", "zero"), default="remove")
    ap.add_argument("--item-table", choices=("iclrec", "n1"), default="iclrec")
    ap.add_argument("--log", default=None)
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--hidden", type=int, default=64)
    ap.add_argument("--layers", type=int, default=2)
    ap.add_argument("--heads", type=int, default=2)
    ap.add_argument("--max-len", type=int, default=50)
    ap.add_argument("--dropout", type=float, default=0.5)
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    try:
        torch.set_num_interop_threads(1)
    except RuntimeError:
        pass
    random.seed(args.seed)
    np.random.seed(args.seed)
    torch.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)

    seqs, n_items = read_sequences(args.data, args.max_users)
    data = Data(seqs, n_items, args.max_len)
    table_rows = n_items + 2 if args.item_table == "iclrec" else n_items + 1
    neg_max = table_rows - 1
    print(f"[sasrec-bce-torch] users={data.n_users} items={n_items} "
          f"table_rows={table_rows} neg_range=1..{neg_max} "
          f"train_positions={int((data.train_pos > 0).sum())}",
          file=sys.stderr, flush=True)

    model = SASRec(table_rows, hidden=args.hidden, max_len=args.max_len,
                   layers=args.layers, heads=args.heads,
                   attn_drop=args.dropout, hid_drop=args.dropout)
    opt = torch.optim.Adam(model.parameters(), lr=args.lr,
                           betas=(0.9, 0.999), weight_decay=0.0)

    logf = open(args.log, "a") if args.log else None
    train_in = torch.from_numpy(data.train_in)
    train_pos = torch.from_numpy(data.train_pos)
    losses = []
    best = None          # (ndcg20, epoch, valid metrics, state_dict)
    since_best = 0
    t_start = time.time()
    epoch = 0
    for epoch in range(1, args.epochs + 1):
        t0 = time.time()
        model.train()
        neg = torch.from_numpy(data.sample_negatives(rng, neg_max))
        perm = torch.from_numpy(rng.permutation(data.n_users))
        tot, nb = 0.0, 0
        for a in range(0, data.n_users, args.batch):
            idx = perm[a:a + args.batch]
            pos = train_pos[idx]
            if not bool((pos > 0).any()):
                continue
            out = model(train_in[idx])
            loss = bce_loss(model, out, pos, neg[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            tot += loss.item()
            nb += 1
        mean_loss = tot / max(nb, 1)
        losses.append(mean_loss)
        t1 = time.time()
        valid = evaluate(model, data.valid_in, data.valid_tgt, data.valid_hist,
                         n_items, args.seen)
        t2 = time.time()
        score = valid["NDCG@20"]
        improved = best is None or score > best[0]
        if improved:
            best = (score, epoch, valid,
                    {k: v.detach().clone() for k, v in model.state_dict().items()})
            since_best = 0
        else:
            since_best += 1
        print(f"epoch {epoch:3d} loss {mean_loss:.4f} valid HR@20 "
              f"{valid['HR@20']:.4f} NDCG@20 {valid['NDCG@20']:.4f} "
              f"train {t1 - t0:.1f}s valid {t2 - t1:.1f}s"
              f"{' *' if improved else ''}", file=sys.stderr, flush=True)
        if logf:
            logf.write(json.dumps({
                "epoch": epoch, "loss": mean_loss, "valid": valid,
                "epoch_seconds": t2 - t0, "train_seconds": t1 - t0,
                "valid_seconds": t2 - t1}) + "\n")
            logf.flush()
        if since_best >= args.patience:
            print(f"early stop: no valid NDCG@20 improvement for "
                  f"{args.patience} epochs", file=sys.stderr, flush=True)
            break
    train_seconds = time.time() - t_start

    model.load_state_dict(best[3])
    test = evaluate(model, data.test_in, data.test_tgt, data.test_hist,
                    n_items, args.seen)
    result = {
        "data": args.data, "seed": args.seed, "best_epoch": best[1],
        "epochs_run": epoch, "valid": best[2], "test": test,
        "train_seconds": round(train_seconds, 2), "train_loss": losses,
        "users": data.n_users, "items": n_items, "seen": args.seen,
        "item_table": args.item_table, "threads": args.threads,
    }
    if logf:
        logf.close()
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
