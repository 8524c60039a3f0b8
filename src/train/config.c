#include "train/config.h"

#include <stddef.h>

#include "eval/evaluate.h"
#include "util/fileio.h"

#define F(field) offsetof(RunConfig, field)
#define M(field) offsetof(RunConfig, mc.field)
#define BIG 1e9

const OptSpec g_run_options[] = {
    /* data */
    {"data", OPT_STR, F(data), "", "interaction log file (or directory for movielens)", 0, 0, NULL},
    {"format", OPT_STR, F(format), "seq", "input format", 0, 0, "seq|comirec|tmall|taobao|recbole|movielens"},
    {"item-features", OPT_STR, F(item_features), "", "item side features: JSON {item: [ids]} or CSV item,feature", 0, 0, NULL},
    {"actions", OPT_STR, F(actions), "", "tmall/taobao: keep only these action types, e.g. 2 or pv (default all)", 0, 0, NULL},
    {"min-rating", OPT_FLOAT, F(min_rating), "0", "movielens/recbole: keep ratings >= this", 0, 100, NULL},
    {"dedup", OPT_BOOL, F(dedup), "false", "keep only the first interaction of each (user, item)", 0, 0, NULL},
    {"min-item-inter", OPT_INT, F(min_item_inter), "0", "drop items with fewer interactions (ComiRec: 5)", 0, BIG, NULL},
    {"min-user-inter", OPT_INT, F(min_user_inter), "0", "then drop users with fewer interactions (ComiRec: 5)", 0, BIG, NULL},
    {"kcore-iterative", OPT_BOOL, F(kcore_iterative), "false", "repeat the item/user filters until stable", 0, 0, NULL},
    {"protocol", OPT_STR, F(protocol), "loo", "evaluation protocol", 0, 0, "loo|comirec"},
    /* model */
    {"model", OPT_STR, F(model), "youtubednn", "model to train (see cltower train --help)", 0, 0, NULL},
    {"dim", OPT_INT, M(dim), "64", "embedding / output vector size", 1, 4096, NULL},
    {"max-len", OPT_INT, M(max_len), "50", "most recent history items the user tower sees", 1, 4096, NULL},
    {"hidden", OPT_INT, M(hidden), "0", "MLP hidden size (0 = dim)", 0, 65536, NULL},
    {"layers", OPT_INT, M(layers), "2", "Transformer blocks / GRU layers", 1, 64, NULL},
    {"heads", OPT_INT, M(heads), "2", "attention heads", 1, 64, NULL},
    {"dropout", OPT_FLOAT, M(dropout), "0.2", "dropout in the user tower", 0, 0.95, NULL},
    {"emb-dropout", OPT_FLOAT, M(emb_dropout), "0.2", "dropout on the input embeddings", 0, 0.95, NULL},
    {"batch-size", OPT_INT, M(batch_size), "256", "examples per training step", 1, 1 << 20, NULL},
    {"loss", OPT_STR, M(loss), "sampled", "sampled (in-batch softmax), full softmax, or bce", 0, 0, "sampled|full|bce"},
    {"negatives", OPT_INT, M(negatives), "0", "extra uniform negatives per batch (bce: per position)", 0, 1 << 20, NULL},
    {"logq", OPT_BOOL, M(logq), "true", "log-Q sampling-bias correction of in-batch negatives", 0, 0, NULL},
    {"cosine", OPT_BOOL, M(cosine), "false", "L2-normalize both towers (cosine scores)", 0, 0, NULL},
    {"temperature", OPT_FLOAT, M(temperature), "1", "softmax temperature (logits / T)", 1e-4, 1e4, NULL},
    {"features", OPT_BOOL, M(use_features), "true", "use item side features when the data has them", 0, 0, NULL},
    {"init-std", OPT_FLOAT, M(init_std), "0.02", "std of the normal initialization of embeddings", 0, 10, NULL},
    {"enhance", OPT_BOOL, M(enhance), "true", "cl-epidtn: dual-path adaptive-mimic augmented vectors", 0, 0, NULL},
    {"gates", OPT_BOOL, M(gates), "true", "cl-epidtn: personalized feature gates", 0, 0, NULL},
    {"cl-user", OPT_BOOL, M(cl_user), "true", "cl-epidtn: sequence-view contrastive loss", 0, 0, NULL},
    {"cl-item", OPT_BOOL, M(cl_item), "true", "cl-epidtn: item-feature-view contrastive loss", 0, 0, NULL},
    {"lambda-mimic", OPT_FLOAT, M(lambda_mimic), "0.5", "weight of the mimic losses", 0, 1e3, NULL},
    {"alpha-cl", OPT_FLOAT, M(alpha_cl), "0.02", "weight of the user-side InfoNCE", 0, 1e3, NULL},
    {"beta-cl", OPT_FLOAT, M(beta_cl), "0.1", "weight of the item-side InfoNCE", 0, 1e3, NULL},
    {"cl-temperature", OPT_FLOAT, M(cl_temperature), "0.2", "InfoNCE temperature", 1e-4, 1e4, NULL},
    {"crop-ratio", OPT_FLOAT, M(crop_ratio), "0.6", "kept share of a cropped sequence view", 0.05, 1, NULL},
    {"mask-ratio", OPT_FLOAT, M(mask_ratio), "0.3", "masked share of a masked sequence view", 0, 0.95, NULL},
    {"reorder-ratio", OPT_FLOAT, M(reorder_ratio), "0.6", "shuffled share of a reordered view", 0, 1, NULL},
    {"feat-mask-ratio", OPT_FLOAT, M(feat_mask_ratio), "0.5", "masked share of item features in a view", 0, 0.95, NULL},
    {"cl-short-boost", OPT_BOOL, M(cl_short_boost), "true", "weight short histories more in the user InfoNCE", 0, 0, NULL},
    {"cl-items", OPT_INT, M(cl_items), "256", "uniformly drawn items per step for the item InfoNCE", 2, 1 << 20, NULL},
    {"item-mlp", OPT_BOOL, M(item_mlp), "true", "cl-epidtn: residual MLP head in the item tower", 0, 0, NULL},
    {"pop-buckets", OPT_INT, M(pop_buckets), "10", "popularity buckets of the item gate", 1, 1000, NULL},
    {"interests", OPT_INT, M(interests), "4", "multi-interest models: interests per user", 1, 64, NULL},
    {"routing-iters", OPT_INT, M(routing_iters), "3", "capsule routing iterations", 1, 20, NULL},
    {"label-power", OPT_FLOAT, M(label_power), "2", "label-aware attention power (MIND)", 0, 100, NULL},
    {"cal-weight", OPT_FLOAT, M(cal_weight), "0.1", "DAT category alignment loss weight", 0, 1e3, NULL},
    /* optimization */
    {"epochs", OPT_INT, F(epochs), "50", "maximum epochs (early stopping on valid)", 0, 100000, NULL},
    {"patience", OPT_INT, F(patience), "5", "evaluations without improvement before stopping", 1, 100000, NULL},
    {"eval-every", OPT_INT, F(eval_every), "1", "evaluate on valid every N epochs", 1, 100000, NULL},
    {"lr", OPT_FLOAT, F(lr), "0.001", "Adam learning rate", 0, 10, NULL},
    {"weight-decay", OPT_FLOAT, F(weight_decay), "0", "weight decay", 0, 10, NULL},
    {"adamw", OPT_BOOL, F(adamw), "false", "decoupled weight decay (AdamW) instead of L2", 0, 0, NULL},
    {"lazy-adam", OPT_STR, F(lazy_adam), "auto", "update only the embedding rows a step touched (auto: dense for --loss bce, as the original SASRec; lazy otherwise)", 0, 0, "auto|true|false"},
    {"clip-norm", OPT_FLOAT, F(clip_norm), "5", "clip the global gradient norm (0 = off)", 0, 1e9, NULL},
    {"seed", OPT_INT, F(seed), "42", "random seed (split, init, sampling, dropout)", 0, 2147483647, NULL},
    {"threads", OPT_INT, F(threads), "0", "threads (0 = all cores)", 0, 1024, NULL},
    /* evaluation */
    {"k", OPT_INT_LIST, F(ks), "10,20,50", "metric cut-offs", 1, 100000, NULL},
    {"select-metric", OPT_STR, F(select_metric), "auto", "valid metric for early stopping (auto: NDCG@10 for loo, Recall@50 for comirec)", 0, 0, NULL},
    {"exclude-seen", OPT_STR, F(exclude_seen), "auto", "exclude history items from rankings (auto: loo yes, comirec no; zero: score them 0, as ICLRec's evaluation code does)", 0, 0, "auto|true|false|zero"},
    /* output */
    {"out", OPT_STR, F(out), "", "run directory to create", 0, 0, NULL},
    {"overwrite", OPT_BOOL, F(overwrite), "false", "replace an existing run directory", 0, 0, NULL},
    {"quiet", OPT_BOOL, F(quiet), "false", "no progress output", 0, 0, NULL},
    {"checkpoint-every", OPT_INT, F(checkpoint_every), "0", "also checkpoint every N optimizer steps (epoch ends always)", 0, BIG, NULL},
};
const int g_n_run_options = (int)ARRAY_LEN(g_run_options);

/* Finds --model in argv or in a --config file without applying anything else. */
static void find_model_name(int argc, char **argv, char *out, size_t n)
{
    RunConfig tmp;
    opt_defaults(g_run_options, g_n_run_options, &tmp);
    int help;
    Err ignore;
    opt_parse_argv(g_run_options, g_n_run_options, &tmp, argc, argv, &help, &ignore);
    snprintf(out, n, "%s", tmp.model);
}

int run_config_model_defaults(RunConfig *rc, const char *model, Err *err)
{
    const ModelClass *cls = model_class_find(model);
    if (!cls || !cls->defaults) return 0;
    char buf[1024];
    snprintf(buf, sizeof buf, "%s", cls->defaults);
    for (char *tok = strtok(buf, " "); tok; tok = strtok(NULL, " ")) {
        char *eq = strchr(tok, '=');
        if (!eq) die("model %s: bad default '%s'", model, tok);
        *eq = '\0';
        if (opt_set(g_run_options, g_n_run_options, rc, tok, eq + 1, err) < 0) die("model %s: %s", model, err->msg);
    }
    return 0;
}

int run_config_parse(RunConfig *rc, int argc, char **argv, int *help, Err *err)
{
    char model[32];
    find_model_name(argc, argv, model, sizeof model);
    opt_defaults(g_run_options, g_n_run_options, rc);
    run_config_model_defaults(rc, model, err);
    return opt_parse_argv(g_run_options, g_n_run_options, rc, argc, argv, help, err);
}

int run_config_validate(const RunConfig *rc, Err *err)
{
    Protocol p;
    if (!rc->data[0]) return err_set(err, "--data is required");
    if (!rc->out[0]) return err_set(err, "--out is required");
    if (!model_class_find(rc->model)) return err_set(err, "--model: unknown model '%s' (expected one of: %s)", rc->model, model_names());
    if (protocol_parse(rc->protocol, &p) < 0) return err_set(err, "--protocol: expected loo or comirec");
    if (strcmp(rc->select_metric, "auto") != 0) {
        char kind[16];
        int k;
        if (sscanf(rc->select_metric, "%15[A-Za-z]@%d", kind, &k) != 2 ||
            (strcmp(kind, "HR") && strcmp(kind, "Recall") && strcmp(kind, "NDCG")))
            return err_set(err, "--select-metric: expected HR@N, Recall@N or NDCG@N, got '%s'", rc->select_metric);
        int found = 0;
        for (int i = 0; i < rc->ks.n; i++) found |= rc->ks.v[i] == k;
        if (!found) return err_set(err, "--select-metric %s: @%d is not among --k", rc->select_metric, k);
    }
    if (rc->mc.dim % rc->mc.heads != 0 && !strcmp(rc->model, "sasrec"))
        return err_set(err, "--dim %d must be divisible by --heads %d", rc->mc.dim, rc->mc.heads);
    return 0;
}

int run_config_write(const RunConfig *rc, const char *path, Err *err)
{
    AtomicFile af;
    if (af_open(&af, path, err) < 0) return -1;
    fprintf(af.f, "# cltower run configuration (complete; `cltower train --config` reads it back)\n");
    opt_write(g_run_options, g_n_run_options, rc, af.f);
    return af_commit(&af, err);
}

char *run_config_text(const RunConfig *rc)
{
    char *text = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&text, &len);
    opt_write(g_run_options, g_n_run_options, rc, mem);
    fclose(mem);
    return text;
}

int run_config_read(RunConfig *rc, const char *path, Err *err)
{
    opt_defaults(g_run_options, g_n_run_options, rc);
    return opt_parse_file(g_run_options, g_n_run_options, rc, path, err);
}

void run_config_load_options(const RunConfig *rc, LoadOptions *lo)
{
    memset(lo, 0, sizeof *lo);
    lo->path = rc->data;
    lo->format = rc->format;
    lo->item_features = rc->item_features;
    lo->actions = rc->actions;
    lo->min_rating = rc->min_rating;
    lo->build = (BuildOptions){rc->dedup, rc->min_item_inter, rc->min_user_inter, rc->kcore_iterative};
}

int run_config_same_data(const RunConfig *a, const RunConfig *b)
{
    LoadOptions x, y;
    run_config_load_options(a, &x);
    run_config_load_options(b, &y);
    return !strcmp(x.path, y.path) && !strcmp(x.format, y.format) && !strcmp(x.item_features, y.item_features) &&
           !strcmp(x.actions, y.actions) && x.min_rating == y.min_rating &&
           !memcmp(&x.build, &y.build, sizeof x.build) && !strcmp(a->protocol, b->protocol) && a->seed == b->seed;
}

int run_config_exclude_seen(const RunConfig *rc, Protocol p)
{
    if (!strcmp(rc->exclude_seen, "true")) return SEEN_REMOVE;
    if (!strcmp(rc->exclude_seen, "false")) return SEEN_KEEP;
    if (!strcmp(rc->exclude_seen, "zero")) return SEEN_ZERO;
    return p == PROTO_LOO ? SEEN_REMOVE : SEEN_KEEP;
}

/* auto: the original SASRec (TensorFlow's AdamOptimizer) and PyTorch
 * reproductions of it update every row; the BCE recipe is the one meant to
 * reproduce them, and on Sports the lazy update lands ~5% above the
 * published HR@20 (docs/RESULTS.md). Every other loss keeps the cheap lazy
 * update its results were measured with. */
int run_config_lazy_adam(const RunConfig *rc)
{
    if (!strcmp(rc->lazy_adam, "true")) return 1;
    if (!strcmp(rc->lazy_adam, "false")) return 0;
    return strcmp(rc->mc.loss, "bce") != 0;
}
