"""PyTorch form of cltower's sequence models (sasrec, cl-epidtn), written from docs/MODEL.md.

Shared by the parity check (tests/parity/run_parity.py: float64, the C code's
own parameters and batch) and the speed peer (bench/torch_ref.py: float32,
batches composed in Python). Parameters are a dict named as the C tensors
(`enc.blk0.wqkv`, biases of shape (1, n)), so the parity check can load the
C model's tensors by name.

A batch is packed as in the C code: sequence s is tokens ptr[s] .. ptr[s+1],
no padding, the first n_main sequences causal (token t predicts tgt[t]), then
2 n user views (cl-user). Per-token layers run on the packed (N, C) tokens;
attention and the causal mean pad only within groups of similar length
(lengths in (2^(k-1), 2^k]), so the padded work stays within ~2x of the
packed C kernels instead of padding every sequence to max-len.
"""
import math

import numpy as np
import torch
import torch.nn.functional as F

SEQ_MASK = -2  # token id of a masked position


def load_config(path):
    """A cltower `key = value` config file (a run's RUN_DIR/config) as a dict."""
    cfg = {}
    for line in open(path):
        if "=" in line and not line.startswith("#"):
            k, v = line.split("=", 1)
            cfg[k.strip()] = v.strip()
    return cfg


class Spec:
    """The model options the network needs, from a cltower `key = value` config."""

    def __init__(self, cfg, model):
        sas = model == "sasrec"
        self.model = model
        self.C = int(cfg["dim"])
        self.NH = int(cfg["heads"])
        self.L = int(cfg["max-len"])
        self.layers = int(cfg["layers"])
        hidden = int(cfg["hidden"])
        self.H_ffn = hidden if hidden > 0 else 4 * self.C
        self.H_mlp = hidden if hidden > 0 else self.C
        self.enhance = not sas and cfg["enhance"] == "true"
        self.gates = not sas and cfg["gates"] == "true"
        self.cl_user = not sas and cfg["cl-user"] == "true"
        self.cl_item = not sas and cfg["cl-item"] == "true"
        self.item_mlp = cfg["item-mlp"] == "true"
        self.cosine = cfg["cosine"] == "true"
        self.loss = cfg["loss"]
        self.T = float(cfg["temperature"])
        self.tau = float(cfg["cl-temperature"])
        self.lam, self.alpha, self.beta = (float(cfg[k]) for k in ("lambda-mimic", "alpha-cl", "beta-cl"))
        self.p_emb = float(cfg["emb-dropout"])
        self.p_drop = float(cfg["dropout"])  # attention probabilities and the two residual branches
        self.init_std = float(cfg["init-std"])
        self.pop_buckets = int(cfg["pop-buckets"])
        self.use_features = cfg["features"] == "true"


class Catalog:
    """Item side: feature lists (CSR) and popularity buckets, as torch tensors."""

    def __init__(self, n_items, feat_ptr, feat, bucket=None):
        self.n_items = n_items
        self.feat_ptr = torch.as_tensor(np.asarray(feat_ptr, dtype=np.int64))
        self.feat = torch.as_tensor(np.asarray(feat, dtype=np.int64))
        self.bucket = None if bucket is None else torch.as_tensor(np.asarray(bucket, dtype=np.int64))


def bags(ptr, ids):
    """embedding_bag (indices, offsets) for the CSR rows `ids` of ptr."""
    start = ptr[ids]
    cnt = ptr[ids + 1] - start
    offsets = torch.cumsum(cnt, 0) - cnt
    total = int(cnt.sum())
    pos = torch.arange(total) - torch.repeat_interleave(offsets - start, cnt)
    return pos, offsets


def param_shapes(spec, n_items, n_feats):
    """name -> (rows, cols, init) of every tensor, as the C model declares them."""
    C, Hg = spec.C, spec.H_mlp
    out = {"item_emb": (n_items, C, "normal")}
    if spec.use_features and n_feats > 0:
        out["feat_emb"] = (n_feats, C, "normal")
    out["mask_emb"] = (1, C, "normal")
    out["enc.pos_emb"] = (spec.L, C, "normal")
    out["enc.lnw"], out["enc.lnb"] = (1, C, "one"), (1, C, "zero")
    for l in range(spec.layers):
        b = "enc.blk%d." % l
        for name, r, c, init in (("wqkv", 3 * C, C, "normal"), ("bqkv", 1, 3 * C, "zero"), ("wo", C, C, "normal"),
                                 ("bo", 1, C, "zero"), ("ln1w", 1, C, "one"), ("ln1b", 1, C, "zero"),
                                 ("w1", spec.H_ffn, C, "normal"), ("b1", 1, spec.H_ffn, "zero"),
                                 ("w2", C, spec.H_ffn, "normal"), ("b2", 1, C, "zero"), ("ln2w", 1, C, "one"),
                                 ("ln2b", 1, C, "zero")):
            out[b + name] = (r, c, init)

    def mlp(name, n_in, zero_out):
        out[name + ".w1"] = (Hg, n_in, "xavier")
        out[name + ".b1"] = (1, Hg, "zero")
        out[name + ".w2"] = (C, Hg, "zero" if zero_out else "normal")
        out[name + ".b2"] = (1, C, "zero")

    if spec.gates:
        mlp("user_gate", C, True)
        mlp("item_gate", C, True)
        out["pop_emb"] = (spec.pop_buckets, C, "normal")
    if spec.enhance:
        mlp("aug_user", C, False)
        out["aug_user_proj"] = (C, C, "normal")
        mlp("aug_item", C, False)
        if not spec.item_mlp:
            out["aug_item_proj"] = (C, C, "normal")
    if spec.item_mlp:
        mlp("item_mlp", 2 * C if spec.enhance else C, True)
    return out


def init_params(spec, n_items, n_feats, gen, dtype=torch.float32):
    """Fresh parameters initialized as the C code does (normal std init-std, Glorot uniform MLP inputs)."""
    P = {}
    for name, (r, c, init) in param_shapes(spec, n_items, n_feats).items():
        if init == "normal":
            t = torch.randn(r, c, generator=gen, dtype=dtype) * spec.init_std
        elif init == "xavier":
            bound = math.sqrt(6.0 / (r + c))
            t = (torch.rand(r, c, generator=gen, dtype=dtype) * 2 - 1) * bound
        elif init == "one":
            t = torch.ones(r, c, dtype=dtype)
        else:
            t = torch.zeros(r, c, dtype=dtype)
        P[name] = t.requires_grad_(True)
    return P


class Layout:
    """Index maps of a packed batch: per-token sequence/position, and length groups for padded ops."""

    def __init__(self, ptr):
        ptr = np.asarray(ptr, dtype=np.int64)
        lens = np.diff(ptr)
        self.S, self.N = len(lens), int(ptr[-1])
        self.lens = torch.as_tensor(lens)
        self.last = torch.as_tensor(ptr[1:] - 1)
        seq_id = np.repeat(np.arange(self.S), lens)
        self.pos_in_seq = torch.as_tensor(np.arange(self.N) - ptr[seq_id])
        self.seq_id = torch.as_tensor(seq_id)
        gkey = np.ceil(np.log2(np.maximum(lens, 1))).astype(np.int64)
        self.groups, order = [], []
        for g in np.unique(gkey):
            seqs = np.nonzero(gkey == g)[0]
            Lg = int(lens[seqs].max())
            t = np.arange(Lg)
            idx = ptr[seqs][:, None] + t[None, :]
            valid = t[None, :] < lens[seqs][:, None]
            idx = np.where(valid, idx, self.N)  # row N: a zero pad row
            self.groups.append((torch.as_tensor(idx), torch.as_tensor(valid)))
            order.append(idx[valid])
        order = np.concatenate(order) if order else np.zeros(0, np.int64)
        inv = np.empty(self.N, dtype=np.int64)
        inv[order] = np.arange(self.N)
        self.inv = torch.as_tensor(inv)  # packed token -> row of the concatenated group outputs

    def padded_map(self, x, fn):
        """Applies fn to each length group of x (N, ...) padded to (Sg, Lg, ...), returns packed (N, ...)."""
        xp = torch.cat([x, x.new_zeros((1,) + x.shape[1:])])
        outs = [fn(xp[idx])[valid] for idx, valid in self.groups]
        return torch.cat(outs)[self.inv]


def gelu(x):
    return F.gelu(x, approximate="tanh")


def linear(x, w, b=None):
    return F.linear(x, w, None if b is None else b[0])


def mlp2(P, prefix, x):
    return linear(gelu(linear(x, P[prefix + ".w1"], P[prefix + ".b1"])), P[prefix + ".w2"], P[prefix + ".b2"])


def layernorm(x, w, b):
    return F.layer_norm(x, (x.shape[-1],), w[0], b[0], eps=1e-5)


class Batch:
    """One training step's inputs, composed as the C model composes them.

    tok (N,) item ids or SEQ_MASK; ptr (S+1,); tgt (N,); n_main causal sequences
    (Nq tokens) then 2 n views; cand (M,) candidate items, logq (M,), col (Nq,)
    (BCE: (2 Nq,), positives then negatives) the candidate column of each row;
    cl_w (n,) user InfoNCE weights; cl_ids (n_cl,) and views: two dicts of
    id (n_cl,) (-1: masked), fptr (n_cl+1,), fids, mask (n_cl, C) dropout mask
    or None (then dropout 0.1 is drawn by torch)."""

    def __init__(self, **kw):
        self.views = None
        self.cl_w = self.cl_ids = None
        self.__dict__.update(kw)
        self.layout = Layout(self.ptr)


class Net:
    """The CL-EPIDTN equations of docs/MODEL.md (sasrec: enhancement, gates and CL off)."""

    def __init__(self, spec, cat, P, train=False):
        self.s, self.cat, self.P, self.train = spec, cat, P, train
        self.use_feat = "feat_emb" in P

    def dropout(self, x, p):
        return F.dropout(x, p, training=True) if self.train and p > 0 else x

    # ---- shared pieces ----
    def feat_mean(self, ids):
        idx, off = bags(self.cat.feat_ptr, ids)
        return F.embedding_bag(self.cat.feat[idx], self.P["feat_emb"], off, mode="mean")

    def item_input(self, ids):
        x = self.P["item_emb"][ids]
        return x + self.feat_mean(ids) if self.use_feat else x

    def out(self, v):
        return F.normalize(v, dim=-1, eps=1e-12) if self.s.cosine else v

    # ---- towers ----
    def item_tower(self, ids, x):
        P, s = self.P, self.s
        xt = x
        if s.gates:
            gin = P["pop_emb"][self.cat.bucket[ids]]
            if self.use_feat:
                gin = gin + self.feat_mean(ids)
            xt = 2 * torch.sigmoid(mlp2(P, "item_gate", gin)) * x
        v = xt
        ai = mlp2(P, "aug_item", x.detach()) if s.enhance else None
        if s.item_mlp:
            z = torch.cat([xt, ai], 1) if s.enhance else xt
            v = xt + mlp2(P, "item_mlp", z)
        elif s.enhance:
            v = xt + linear(ai, P["aug_item_proj"])
        return self.out(v), ai

    def attention(self, qkv, lay):
        C, NH = self.s.C, self.s.NH
        hs = C // NH

        def heads(g):  # g (Sg, Lg, 3C) -> (Sg, Lg, C)
            Sg, Lg = g.shape[0], g.shape[1]
            q, k, v = g.view(Sg, Lg, 3, NH, hs).permute(2, 0, 3, 1, 4)
            sc = q @ k.transpose(-1, -2) / math.sqrt(hs)
            causal = torch.triu(torch.ones(Lg, Lg, dtype=torch.bool), 1)
            att = self.dropout(torch.softmax(sc.masked_fill(causal, float("-inf")), -1), self.s.p_drop)
            return (att @ v).transpose(1, 2).reshape(Sg, Lg, C)

        return lay.padded_map(qkv, heads)

    def encoder(self, x, lay):
        P, s = self.P, self.s
        pos = s.L - lay.lens[lay.seq_id] + lay.pos_in_seq
        e = self.dropout(layernorm(x + P["enc.pos_emb"][pos], P["enc.lnw"], P["enc.lnb"]), s.p_emb)
        for l in range(s.layers):
            b = "enc.blk%d." % l
            a = self.attention(linear(e, P[b + "wqkv"], P[b + "bqkv"]), lay)
            y = layernorm(e + self.dropout(linear(a, P[b + "wo"], P[b + "bo"]), s.p_drop), P[b + "ln1w"], P[b + "ln1b"])
            f = linear(gelu(linear(y, P[b + "w1"], P[b + "b1"])), P[b + "w2"], P[b + "b2"])
            e = layernorm(y + self.dropout(f, s.p_drop), P[b + "ln2w"], P[b + "ln2b"])
        return e

    def user_tower(self, tok, lay):
        P, s = self.P, self.s
        masked = tok == SEQ_MASK
        x = self.item_input(torch.where(masked, torch.zeros_like(tok), tok))
        x = torch.where(masked[:, None], P["mask_emb"][0].expand_as(x), x)
        c = None
        if s.gates or s.enhance:
            def cummean(g):
                n = torch.arange(1, g.shape[1] + 1, dtype=g.dtype)
                return torch.cumsum(g, 1) / n[None, :, None]
            c = lay.padded_map(x, cummean)
        xin = 2 * torch.sigmoid(mlp2(P, "user_gate", c)) * x if s.gates else x
        u = self.encoder(xin, lay)
        a = None
        if s.enhance:
            a = mlp2(P, "aug_user", c.detach())
            u = u + linear(a, P["aug_user_proj"])
        return self.out(u), a

    def item_view(self, ids, view):
        P = self.P
        vid = view["id"]
        x = P["item_emb"][vid.clamp(min=0)] * (vid >= 0).to(P["item_emb"].dtype)[:, None]
        if self.use_feat:
            fptr = view["fptr"]
            x = x + F.embedding_bag(view["fids"][:int(fptr[-1])], P["feat_emb"], fptr[:-1], mode="mean")
        x = x * view["mask"] if view.get("mask") is not None else F.dropout(x, 0.1, training=True)
        return F.normalize(self.item_tower(ids, x)[0], dim=1)

    # ---- the losses ----
    def losses(self, b):
        """Loss terms (each already weighted, as the C code logs them), user vectors, candidate vectors."""
        s = self.s
        Nq, n_main, n = b.Nq, b.n_main, b.n
        uo, a = self.user_tower(b.tok, b.layout)
        v, ai = self.item_tower(b.cand, self.item_input(b.cand))
        U = uo[:Nq]
        parts = {}
        if s.loss == "bce":
            pos = (U * v[b.col[:Nq]]).sum(1) / s.T
            neg = (U * v[b.col[Nq:]]).sum(1) / s.T
            parts["main"] = (F.softplus(-pos) + F.softplus(neg)).sum() / Nq
        else:
            parts["main"] = F.cross_entropy(U @ v.T / s.T - b.logq, b.col[:Nq])
        if s.enhance:
            c = b.col[:Nq]
            tv = F.normalize(v[c].detach(), dim=1, eps=1e-12)
            tu = F.normalize(U.detach(), dim=1, eps=1e-12)
            parts["mimic"] = s.lam * (((a[:Nq] - tv) ** 2).sum() + ((ai[c] - tu) ** 2).sum()) / Nq
        if s.cl_user:
            last = b.layout.last
            z1 = F.normalize(uo[last[n_main:n_main + n]], dim=1)
            z2 = F.normalize(uo[last[n_main + n:n_main + 2 * n]], dim=1)
            lab = torch.arange(n)
            ce = F.cross_entropy(z1 @ z2.T / s.tau, lab, reduction="none") + \
                F.cross_entropy(z2 @ z1.T / s.tau, lab, reduction="none")
            parts["cl_user"] = s.alpha * 0.5 * (b.cl_w * ce).sum() / n
        if s.cl_item:
            n_cl = len(b.cl_ids)
            z = [self.item_view(b.cl_ids, b.views[w]) for w in range(2)]
            lab = torch.arange(n_cl)
            ce = F.cross_entropy(z[0] @ z[1].T / s.tau, lab, reduction="sum") + \
                F.cross_entropy(z[1] @ z[0].T / s.tau, lab, reduction="sum")
            parts["cl_item"] = s.beta * 0.5 * ce / n_cl
        return parts, uo, v
