/* cli.h — the subcommands. Each takes argv after the subcommand name and
 * returns the process exit code: 0 success, 1 failure (bad data, I/O),
 * 2 usage error (unknown option, bad value). */
#ifndef CLT_CLI_H
#define CLT_CLI_H

int cmd_synth(int argc, char **argv);
int cmd_train(int argc, char **argv);
int cmd_eval(int argc, char **argv);
int cmd_recommend(int argc, char **argv);
int cmd_export(int argc, char **argv);
int cmd_serve(int argc, char **argv);
int cmd_compare(int argc, char **argv);

enum { EXIT_OK = 0, EXIT_FAIL = 1, EXIT_USAGE = 2 };

/* Option-table rows choosing the search of recommend and serve; T has
 * char index[OPT_STR_MAX] and int ef_search, nprobe. */
#define CLI_SEARCH_OPTS(T)                                                                                     \
    {"index", OPT_STR, offsetof(T, index), "", "Faiss index written by cltower export (default: exact search)", \
     0, 0, NULL},                                                                                              \
    {"ef-search", OPT_INT, offsetof(T, ef_search), "0", "HNSW search depth (0 = as saved in the index)", 0,     \
     1 << 20, NULL},                                                                                           \
    {"nprobe", OPT_INT, offsetof(T, nprobe), "0", "IVF lists to visit (0 = as saved in the index)", 0, 1 << 20, NULL}

/* Prints "cltower <cmd>: <msg>" to stderr and returns code. */
int cli_error(const char *cmd, int code, const char *msg);

#endif
