#!/usr/bin/python3
"""PyTorch parity check for cltower's sequence models (make test-parity).

For each configuration below, tests/parity/parity_dump (C) writes the
parameters of a tiny model, the training batch exactly as the C model composed
it (tokens, targets, candidates, augmented views, masks), the loss terms, every
parameter gradient and the losses of 10 Adam steps. This script rebuilds the
same network in PyTorch (float64; tests/parity/torch_model.py, written from
docs/MODEL.md and not from the C code, and shared with bench/torch_ref.py, the
speed peer), and checks:
  * the user vectors of every token and the candidate item vectors (forward),
  * every loss term,
  * every parameter gradient (relative L2 error <= 1e-4),
  * the losses of 10 torch.optim.Adam steps,
  * that torch_model.param_shapes (what bench/torch_ref.py trains) declares
    the C model's tensors, shapes and constant initializations.
Stop-gradients of the model (mimic targets, the augmented-vector input) are
.detach() here. Run with Debian's python3-torch: /usr/bin/python3.
"""
import argparse
import os
import subprocess
import sys
import tempfile

import numpy as np
import torch

from torch_model import Batch, Catalog, Net, Spec, load_config, param_shapes

TOL = 1e-4

CONFIGS = [
    ("cl-epidtn", "negatives=3 cl-items=8 lambda-mimic=0.7 alpha-cl=0.5 beta-cl=0.5"),
    ("cl-epidtn", "loss=full cosine=true temperature=0.5 item-mlp=false cl-items=8 features=false"),
    ("sasrec", "loss=bce negatives=1"),
    ("sasrec", "negatives=4 heads=4"),
    ("sasrec", "item-mlp=true cosine=true temperature=0.3"),
]


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


def load_batch(D):
    """The C model's batch of the dump, as a torch_model.Batch."""
    n_main, n, Nq, n_cl = D.i("meta.npy").tolist()
    kw = dict(tok=D.i("tok.npy"), ptr=D.i("ptr.npy").numpy(), tgt=D.i("tgt.npy"), n_main=n_main, n=n, Nq=Nq,
              cand=D.i("cand_items.npy"), logq=D.f("cand_logq.npy"), col=D.i("cand_col.npy"))
    if D.has("cl_w.npy"):
        kw["cl_w"] = D.f("cl_w.npy")
    if D.has("cl_ids.npy"):
        kw["cl_ids"] = D.i("cl_ids.npy")
        kw["views"] = [{k: (D.f if k == "mask" else D.i)("view%d_%s.npy" % (w, k)) for k in ("id", "fptr", "fids", "mask")}
                       for w in range(2)]
    return Batch(**kw)


def make_net(D, P):
    feat_ptr = D.i("feat_ptr.npy")
    cat = Catalog(len(feat_ptr) - 1, feat_ptr, D.i("feat.npy"), D.i("bucket.npy") if D.has("bucket.npy") else None)
    return Net(Spec(D.cfg, D.cfg["model_name"]), cat, P)


def rel(a, b):
    return (a - b).norm().item() / max(b.norm().item(), 1e-8)


def check(dump_bin, model, extra, tmp):
    d = os.path.join(tmp, "%s-%d" % (model, abs(hash(extra)) % 10000))
    subprocess.run([dump_bin, d, model, extra], check=True)
    D = Dump(d)
    P = {k: t.clone().requires_grad_(True) for k, t in D.tensors("params").items()}
    G = D.tensors("grads")
    batch = load_batch(D)
    parts, uo, v = make_net(D, P).losses(batch)
    total = sum(parts.values())
    total.backward()
    failures = []

    def expect(name, err):
        ok = err <= TOL
        if not ok:
            failures.append("%s: relative error %.2e" % (name, err))
        return ok

    # bench/torch_ref.py declares and initializes the parameters itself: the same tensors as the C model?
    init0 = D.tensors("params")
    n_feats = init0["feat_emb"].shape[0] if "feat_emb" in init0 else 0
    decl = param_shapes(Spec(D.cfg, model), len(D.i("feat_ptr.npy")) - 1, n_feats)
    same = sorted(decl) == sorted(init0) and all(
        tuple(init0[k].shape) == (r, c) and (init not in ("zero", "one") or bool((init0[k] == (init == "one")).all()))
        for k, (r, c, init) in decl.items())
    expect("declared parameters (names, shapes, constant inits)", 0.0 if same else 1.0)
    # The C encoder outputs every position of the causal sequences and only the last of the views.
    rows = torch.cat([torch.arange(batch.Nq), batch.layout.last[batch.n_main:]])
    expect("user vectors (forward)", rel(D.f("uo.npy"), uo.detach()[rows]))
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
    net2 = make_net(D, P2)
    opt = torch.optim.Adam(P2.values(), lr=0.01, betas=(0.9, 0.999), eps=1e-8)
    c_steps = [float(x) for x in open(os.path.join(d, "steps.txt"))]
    t_steps = []
    for _ in range(10):
        opt.zero_grad()
        loss = sum(net2.losses(batch)[0].values())
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
