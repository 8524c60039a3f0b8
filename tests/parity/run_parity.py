#!/usr/bin/python3
"""PyTorch parity check for cltower's sequence models (make test-parity).

For each configuration below, tests/parity/parity_dump (C) writes the
parameters of a tiny model, the training batch exactly as the C model composed
it (tokens, targets, candidates, augmented views, masks), the loss terms, every
parameter gradient and the losses of 10 Adam steps. This script rebuilds the
same network in PyTorch (float64), written from docs/MODEL.md and not from the
C code, and checks:
  * the user vectors of every token and the candidate item vectors (forward),
  * every loss term,
  * every parameter gradient (relative L2 error <= 1e-4),
  * the losses of 10 torch.optim.Adam steps.
Stop-gradients of the model (mimic targets, the augmented-vector input) are
.detach() here. Run with Debian's python3-torch: /usr/bin/python3.
"""
import argparse
import math
import os
import subprocess
import sys
import tempfile

import numpy as np
import torch
import torch.nn.functional as F

TOL = 1e-4

CONFIGS = [
    ("cl-epidtn", "negatives=3 cl-items=8 lambda-mimic=0.7 alpha-cl=0.5 beta-cl=0.5"),
    ("cl-epidtn", "loss=full cosine=true temperature=0.5 item-mlp=false cl-items=8 features=false"),
    ("sasrec", "loss=bce negatives=1"),
    ("sasrec", "negatives=4 heads=4"),
    ("sasrec", "item-mlp=true cosine=true temperature=0.3"),
]


def load_config(path):
    cfg = {}
    for line in open(path):
        if "=" in line and not line.startswith("#"):
            k, v = line.split("=", 1)
            cfg[k.strip()] = v.strip()
    return cfg


class Dump:
    def __init__(self, d):
        self.d = d
        self.cfg = load_config(os.path.join(d, "config.txt"))

    def i(self, name):
        return torch.from_numpy(np.load(os.path.join(self.d, name)).astype(np.int64))

    def f(self, name):
        return torch.from_numpy(np.load(os.path.join(self.d, name)).astype(np.float64))

    def has(self, name):
        return os.path.exists(os.path.join(self.d, name))

    def tensors(self, sub):
        out = {}
        for fn in sorted(os.listdir(os.path.join(self.d, sub))):
            out[fn[:-4]] = torch.from_numpy(np.load(os.path.join(self.d, sub, fn)).astype(np.float64))
        return out


def gelu(x):
    return F.gelu(x, approximate="tanh")


def mlp2(P, prefix, x):
    h = gelu(x @ P[prefix + ".w1"].T + P[prefix + ".b1"][0])
    return h @ P[prefix + ".w2"].T + P[prefix + ".b2"][0]


def layernorm(x, w, b):
    return F.layer_norm(x, (x.shape[-1],), w[0], b[0], eps=1e-5)


class Model:
    """The CL-EPIDTN equations of docs/MODEL.md for one packed batch."""

    def __init__(self, dump, P):
        c = dump.cfg
        self.D, self.P = dump, P
        self.model = c["model_name"]
        sas = self.model == "sasrec"
        self.C = int(c["dim"])
        self.NH = int(c["heads"])
        self.L = int(c["max-len"])
        self.layers = int(c["layers"])
        self.enhance = not sas and c["enhance"] == "true"
        self.gates = not sas and c["gates"] == "true"
        self.cl_user = not sas and c["cl-user"] == "true"
        self.cl_item = not sas and c["cl-item"] == "true"
        self.item_mlp = c["item-mlp"] == "true"
        self.cosine = c["cosine"] == "true"
        self.loss = c["loss"]
        self.T = float(c["temperature"])
        self.tau = float(c["cl-temperature"])
        self.lam, self.alpha, self.beta = (float(c[k]) for k in ("lambda-mimic", "alpha-cl", "beta-cl"))
        self.use_feat = "feat_emb" in P
        self.feat_ptr, self.feat = dump.i("feat_ptr.npy"), dump.i("feat.npy")

    # ---- shared pieces ----
    def feat_mean(self, ids):
        P, out = self.P, []
        for i in ids.tolist():
            a, b = self.feat_ptr[i].item(), self.feat_ptr[i + 1].item()
            rows = P["feat_emb"][self.feat[a:b]] if b > a else None
            out.append(rows.mean(0) if rows is not None else torch.zeros(self.C, dtype=torch.float64))
        return torch.stack(out)

    def item_input(self, ids):
        x = self.P["item_emb"][ids]
        return x + self.feat_mean(ids) if self.use_feat else x

    def out(self, v):
        return F.normalize(v, dim=-1, eps=1e-12) if self.cosine else v

    # ---- towers ----
    def item_tower(self, ids, x):
        P = self.P
        xt = x
        if self.gates:
            gin = P["pop_emb"][self.D.i("bucket.npy")[ids]]
            if self.use_feat:
                gin = gin + self.feat_mean(ids)
            xt = 2 * torch.sigmoid(mlp2(P, "item_gate", gin)) * x
        v = xt
        ai = mlp2(P, "aug_item", x.detach()) if self.enhance else None
        if self.item_mlp:
            z = torch.cat([xt, ai], 1) if self.enhance else xt
            v = xt + mlp2(P, "item_mlp", z)
        elif self.enhance:
            v = xt + ai @ P["aug_item_proj"].T
        return self.out(v), ai

    def attention(self, x, blk, ptr):
        P, C, NH = self.P, self.C, self.NH
        hs = C // NH
        qkv = x @ P[blk + ".wqkv"].T + P[blk + ".bqkv"][0]
        outs = []
        for s in range(len(ptr) - 1):
            a, b = ptr[s], ptr[s + 1]
            L = b - a
            heads = []
            for h in range(NH):
                q = qkv[a:b, h * hs:(h + 1) * hs]
                k = qkv[a:b, C + h * hs:C + (h + 1) * hs]
                v = qkv[a:b, 2 * C + h * hs:2 * C + (h + 1) * hs]
                sc = q @ k.T / math.sqrt(hs)
                mask = torch.triu(torch.ones(L, L, dtype=torch.bool), 1)
                att = torch.softmax(sc.masked_fill(mask, float("-inf")), -1)
                heads.append(att @ v)
            outs.append(torch.cat(heads, 1))
        return torch.cat(outs, 0)

    def encoder(self, x, ptr):
        P = self.P
        pos = torch.cat([torch.arange(self.L - (ptr[s + 1] - ptr[s]), self.L) for s in range(len(ptr) - 1)])
        e = layernorm(x + P["enc.pos_emb"][pos], P["enc.lnw"], P["enc.lnb"])
        for l in range(self.layers):
            blk = "enc.blk%d" % l
            p = self.attention(e, blk, ptr) @ P[blk + ".wo"].T + P[blk + ".bo"][0]
            y = layernorm(e + p, P[blk + ".ln1w"], P[blk + ".ln1b"])
            f = gelu(y @ P[blk + ".w1"].T + P[blk + ".b1"][0]) @ P[blk + ".w2"].T + P[blk + ".b2"][0]
            e = layernorm(y + f, P[blk + ".ln2w"], P[blk + ".ln2b"])
        return e

    def user_tower(self, tok, ptr):
        P = self.P
        masked = tok == -2
        x = self.item_input(torch.where(masked, torch.zeros_like(tok), tok))
        x = torch.where(masked[:, None], P["mask_emb"][0].expand_as(x), x)
        c = None
        if self.gates or self.enhance:
            c = torch.cat([torch.cumsum(x[ptr[s]:ptr[s + 1]], 0)
                           / torch.arange(1, ptr[s + 1] - ptr[s] + 1, dtype=torch.float64)[:, None]
                           for s in range(len(ptr) - 1)])
        xin = 2 * torch.sigmoid(mlp2(P, "user_gate", c)) * x if self.gates else x
        u = self.encoder(xin, ptr)
        a = None
        if self.enhance:
            a = mlp2(P, "aug_user", c.detach())
            u = u + a @ P["aug_user_proj"].T
        return self.out(u), a

    # ---- the losses ----
    def losses(self):
        D = self.D
        meta = D.i("meta.npy").tolist()
        n_main, n, Nq, n_cl = meta
        tok, ptr, tgt = D.i("tok.npy"), D.i("ptr.npy").tolist(), D.i("tgt.npy")
        cand = D.i("cand_items.npy")
        col = D.i("cand_col.npy")
        uo, a = self.user_tower(tok, ptr)
        v, ai = self.item_tower(cand, self.item_input(cand))
        U = uo[:Nq]
        parts = {}
        if self.loss == "bce":
            pos = (U * v[col[:Nq]]).sum(1) / self.T
            neg = (U * v[col[Nq:]]).sum(1) / self.T
            parts["main"] = (F.softplus(-pos) + F.softplus(neg)).sum() / Nq
        else:
            logits = U @ v.T / self.T - D.f("cand_logq.npy")
            parts["main"] = F.cross_entropy(logits, col[:Nq])
        if self.enhance:
            c = col[:Nq]
            tv = F.normalize(v[c].detach(), dim=1, eps=1e-12)
            tu = F.normalize(U.detach(), dim=1, eps=1e-12)
            parts["mimic"] = self.lam * (((a[:Nq] - tv) ** 2).sum() + ((ai[c] - tu) ** 2).sum()) / Nq
        if self.cl_user:
            last1 = [ptr[n_main + k + 1] - 1 for k in range(n)]
            last2 = [ptr[n_main + n + k + 1] - 1 for k in range(n)]
            z1, z2 = F.normalize(uo[last1], dim=1), F.normalize(uo[last2], dim=1)
            w = D.f("cl_w.npy")
            lab = torch.arange(n)
            ce = F.cross_entropy(z1 @ z2.T / self.tau, lab, reduction="none") + \
                F.cross_entropy(z2 @ z1.T / self.tau, lab, reduction="none")
            parts["cl_user"] = self.alpha * 0.5 * (w * ce).sum() / n
        if self.cl_item:
            ids = D.i("cl_ids.npy")
            zs = []
            for w in range(2):
                vid, fptr, fids = (D.i("view%d_%s.npy" % (w, k)) for k in ("id", "fptr", "fids"))
                x = torch.stack([self.P["item_emb"][i] if i >= 0 else torch.zeros(self.C, dtype=torch.float64)
                                 for i in vid.tolist()])
                if self.use_feat:
                    fm = []
                    for k in range(n_cl):
                        a_, b_ = fptr[k].item(), fptr[k + 1].item()
                        fm.append(self.P["feat_emb"][fids[a_:b_]].mean(0) if b_ > a_
                                  else torch.zeros(self.C, dtype=torch.float64))
                    x = x + torch.stack(fm)
                x = x * D.f("view%d_mask.npy" % w)
                zs.append(F.normalize(self.item_tower(ids, x)[0], dim=1))
            lab = torch.arange(n_cl)
            ce = F.cross_entropy(zs[0] @ zs[1].T / self.tau, lab, reduction="sum") + \
                F.cross_entropy(zs[1] @ zs[0].T / self.tau, lab, reduction="sum")
            parts["cl_item"] = self.beta * 0.5 * ce / n_cl
        return parts, uo, v


def rel(a, b):
    return (a - b).norm().item() / max(b.norm().item(), 1e-8)


def check(dump_bin, model, extra, tmp):
    d = os.path.join(tmp, "%s-%d" % (model, abs(hash(extra)) % 10000))
    subprocess.run([dump_bin, d, model, extra], check=True)
    D = Dump(d)
    P = {k: t.clone().requires_grad_(True) for k, t in D.tensors("params").items()}
    G = D.tensors("grads")
    net = Model(D, P)
    parts, uo, v = net.losses()
    total = sum(parts.values())
    total.backward()
    failures = []

    def expect(name, err):
        ok = err <= TOL
        if not ok:
            failures.append("%s: relative error %.2e" % (name, err))
        return ok

    expect("user vectors (forward)", rel(D.f("uo.npy"), uo.detach()))
    expect("candidate item vectors (forward)", rel(D.f("cand_v.npy"), v.detach()))
    c_losses = load_config(os.path.join(d, "losses.txt"))
    for k, val in parts.items():
        expect("loss term %s" % k, abs(float(c_losses[k]) - val.item()) / max(abs(val.item()), 1e-8))
    worst = 0.0
    for k, p in P.items():
        g = p.grad if p.grad is not None else torch.zeros_like(p)
        e = rel(G[k], g)
        worst = max(worst, e)
        expect("gradient %s" % k, e)
    # 10 Adam steps on the same batch.
    P2 = {k: t.clone().requires_grad_(True) for k, t in D.tensors("params").items()}
    net2 = Model(D, P2)
    opt = torch.optim.Adam(P2.values(), lr=0.01, betas=(0.9, 0.999), eps=1e-8)
    c_steps = [float(x) for x in open(os.path.join(d, "steps.txt"))]
    t_steps = []
    for _ in range(10):
        opt.zero_grad()
        loss = sum(net2.losses()[0].values())
        loss.backward()
        opt.step()
        t_steps.append(loss.item())
    step_err = max(abs(a - b) / abs(b) for a, b in zip(c_steps, t_steps))
    expect("losses of 10 Adam steps", step_err)
    print("%-10s %-70s %s  terms %s  worst grad err %.1e  steps err %.1e (%d tensors)" % (
        model, extra, "ok  " if not failures else "FAIL",
        " ".join("%s=%.4f" % (k, v.item()) for k, v in parts.items()), worst, step_err, len(P)))
    for f_ in failures:
        print("    " + f_)
    return not failures


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dump", required=True, help="path of the parity_dump binary")
    args = ap.parse_args()
    torch.set_default_dtype(torch.float64)
    ok = True
    with tempfile.TemporaryDirectory() as tmp:
        for model, extra in CONFIGS:
            ok &= check(args.dump, model, extra, tmp)
    print("parity: %s" % ("all configurations match PyTorch" if ok else "MISMATCH"))
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
