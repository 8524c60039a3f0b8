/* parity_dump — writes what the PyTorch parity test needs to rebuild one
 * training step of a tiny cl-epidtn / sasrec exactly: the configuration, every
 * parameter, the batch as the model composed it (tokens, targets, candidates,
 * views, masks), the loss terms, every parameter gradient, and the losses of
 * 10 Adam steps on the same batch.
 *
 * usage: parity_dump OUTDIR MODEL "key=value ..." */
#include <stdio.h>
#include <sys/stat.h>

#include "model/cl_epidtn.h"
#include "model_fixture.h"
#include "util/fileio.h"
#include "util/npy.h"

static void dump_params(const ParamStore *ps, const char *dir, int grads)
{
    Err err;
    mkdir(dir, 0755);
    for (int t = 0; t < ps->n; t++) {
        char name[PARAM_NAME_MAX + 8];
        snprintf(name, sizeof name, "%s.npy", ps->t[t].name);
        char *p = path_join(dir, name);
        int64_t shape[2] = {ps->t[t].rows, ps->t[t].cols};
        const float *src = (grads ? ps->grad : ps->data) + ps->t[t].off;
        if (npy_write_f32(p, src, shape, 2, &err) < 0) die("%s", err.msg);
        free(p);
    }
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: parity_dump OUTDIR MODEL \"key=value ...\"\n");
        return 2;
    }
    const char *out = argv[1];
    Err err;
    if (mkdir_p(out, &err) < 0) die("%s", err.msg);
    ModelFixture f;
    fixture_data(&f, 10, 7, 30, 101);
    if (fixture_model(&f, argv[2], argv[3]) < 0) return 1;
    ParamStore *ps = &f.m->params;
    char *p = path_join(out, "config.txt");
    FILE *cf = fopen(p, "w");
    opt_write(g_run_options, g_n_run_options, &f.rc, cf);
    fprintf(cf, "model_name = %s\n", argv[2]);
    fclose(cf);
    free(p);

    char *pdir = path_join(out, "params"), *gdir = path_join(out, "grads");
    dump_params(ps, pdir, 0);
    memset(ps->grad, 0, ps->size * sizeof(float));
    double loss = fixture_step(&f, 8);
    dump_params(ps, gdir, 1);
    if (cl_epidtn_dump(f.m, out, &err) < 0) die("%s", err.msg);
    p = path_join(out, "losses.txt");
    FILE *lf = fopen(p, "w");
    fprintf(lf, "total = %.9g\n", loss);
    for (int k = 0; k < f.m->n_loss_parts; k++) fprintf(lf, "%s = %.9g\n", f.m->loss_names[k], f.m->loss_parts[k]);
    fclose(lf);
    free(p);

    /* 10 Adam steps on the same batch (the RNG streams are reset per step). */
    AdamConfig ac = {0.01f, 0.9f, 0.999f, 1e-8f, 0, 0, 0, 0}; /* dense, as torch.optim.Adam */
    p = path_join(out, "steps.txt");
    FILE *sf = fopen(p, "w");
    for (int s = 0; s < 10; s++) {
        param_zero_grad(ps);
        fprintf(sf, "%.9g\n", fixture_step(&f, 8));
        adam_step(ps, &ac);
    }
    fclose(sf);
    free(p), free(pdir), free(gdir);
    fixture_free(&f);
    return 0;
}
