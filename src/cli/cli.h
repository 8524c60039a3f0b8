/* cli.h — the subcommands. Each takes argv after the subcommand name and
 * returns the process exit code: 0 success, 1 failure (bad data, I/O),
 * 2 usage error (unknown option, bad value). */
#ifndef CLT_CLI_H
#define CLT_CLI_H

int cmd_synth(int argc, char **argv);
int cmd_train(int argc, char **argv);
int cmd_eval(int argc, char **argv);

enum { EXIT_OK = 0, EXIT_FAIL = 1, EXIT_USAGE = 2 };

/* Prints "cltower <cmd>: <msg>" to stderr and returns code. */
int cli_error(const char *cmd, int code, const char *msg);

#endif
