/* cltower — train, evaluate and serve two-tower retrieval recommenders.
 * This file only dispatches to the subcommands in src/cli/. */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

typedef struct {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
} Command;

static const Command g_commands[] = {
    {"synth", cmd_synth, "write a synthetic interaction log (the embedded default dataset)"},
    {"train", cmd_train, "train a model on an interaction log; writes a run directory"},
    {"eval", cmd_eval, "evaluate a trained run with exact full-corpus ranking"},
    {"recommend", cmd_recommend, "top-k items for a user or a history, from a trained run"},
    {"export", cmd_export, "write a run's item/user vectors (.npy), id maps and a Faiss index"},
    {"serve", cmd_serve, "HTTP recommendation service over a trained run"},
    {"compare", cmd_compare, "train several models on one split; writes a results table and chart"},
};

static void usage(FILE *f)
{
    fprintf(f, "usage: cltower <command> [options]   (cltower <command> --help for details)\n\ncommands:\n");
    for (size_t i = 0; i < sizeof g_commands / sizeof g_commands[0]; i++)
        fprintf(f, "  %-10s %s\n", g_commands[i].name, g_commands[i].summary);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return EXIT_USAGE;
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        usage(stdout);
        return EXIT_OK;
    }
    for (size_t i = 0; i < sizeof g_commands / sizeof g_commands[0]; i++)
        if (!strcmp(argv[1], g_commands[i].name)) return g_commands[i].run(argc - 2, argv + 2);
    fprintf(stderr, "cltower: unknown command '%s'\n", argv[1]);
    usage(stderr);
    return EXIT_USAGE;
}
