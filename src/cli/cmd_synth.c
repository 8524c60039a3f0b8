/* cltower synth — writes the synthetic dataset (src/data/synth.c) to a directory.
 *
 * Options are the generator's table plus --out and --quiet. A preset sets the
 * starting values and explicit options override it, so argv is parsed twice:
 * once to learn the preset, once over the preset's values. */
#include <stddef.h>

#include "cli/cli.h"
#include "data/synth.h"
#include "util/options.h"
#include "util/timer.h"

typedef struct SynthCli {
    SynthOptions gen;
    char out[OPT_STR_MAX];
} SynthCli;

static const char *const k_usage =
    "usage: cltower synth --out DIR [--preset demo|books|tmall] [options]\n"
    "\n"
    "Writes DIR/interactions.csv (user_id,item_id,cate_id,timestamp; read it with\n"
    "--format comirec) and DIR/README.md (parameters, statistics, generative story).\n"
    "Presets: demo = 6,000 users x 3,000 items, mean length 15 (trains in seconds);\n"
    "books = ComiRec Amazon Books sizes (459,133 users, 313,966 items, ~8.9M events);\n"
    "tmall = Tmall IJCAI-15 sizes (424,170 users, 1,090,390 items, ~34M events).\n"
    "See docs/SYNTH.md.";

/* The generator's specs re-based into SynthCli, plus the CLI-only options. */
static OptSpec *cli_specs(int *n)
{
    OptSpec *s = xmalloc(((size_t)g_synth_nspecs + 2) * sizeof *s);
    for (int i = 0; i < g_synth_nspecs; i++) {
        s[i] = g_synth_specs[i];
        s[i].offset += offsetof(SynthCli, gen);
    }
    s[g_synth_nspecs] = (OptSpec){"out", OPT_STR, offsetof(SynthCli, out), "", "output directory (created if missing; required)", 0, 0, NULL};
    s[g_synth_nspecs + 1] = (OptSpec){"quiet", OPT_BOOL, offsetof(SynthCli, gen.quiet), "false", "no progress output", 0, 0, NULL};
    *n = g_synth_nspecs + 2;
    return s;
}

/* Parses argv into cli: table defaults, then the preset, then argv again.
 * Returns 0, 1 for --help, -1 on a usage error. */
static int parse_options(const OptSpec *specs, int n, SynthCli *cli, int argc, char **argv, Err *err)
{
    int help;
    opt_defaults(specs, n, cli);
    if (opt_parse_argv(specs, n, cli, argc, argv, &help, err) < 0) return -1;
    if (help) return 1;
    char preset[OPT_STR_MAX];
    snprintf(preset, sizeof preset, "%s", cli->gen.preset);
    if (synth_defaults(&cli->gen, preset, err) < 0) return -1;
    if (opt_parse_argv(specs, n, cli, argc, argv, &help, err) < 0) return -1;
    if (!cli->out[0]) return err_set(err, "--out DIR is required (see --help)");
    return synth_check(&cli->gen, err);
}

int cmd_synth(int argc, char **argv)
{
    int n;
    OptSpec *specs = cli_specs(&n);
    SynthCli cli;
    Err err = {{0}};
    int rc = parse_options(specs, n, &cli, argc, argv, &err);
    if (rc == 1) opt_print_help(specs, n, k_usage, stdout);
    free(specs);
    if (rc == 1) return EXIT_OK;
    if (rc < 0) return cli_error("synth", EXIT_USAGE, err.msg);
    double t0 = now_seconds();
    SynthStats st;
    if (synth_write(&cli.gen, cli.out, &st, &err) < 0) return cli_error("synth", EXIT_FAIL, err.msg);
    if (!cli.gen.quiet)
        fprintf(stderr, "synth: wrote %s/interactions.csv: %d users, %d items, %lld interactions, %d categories (%.1f s)\n",
                cli.out, st.users, st.items_used, (long long)st.inter, st.cates_used, now_seconds() - t0);
    return EXIT_OK;
}
