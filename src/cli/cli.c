#include "cli/cli.h"

#include <stdio.h>

int cli_error(const char *cmd, int code, const char *msg)
{
    fprintf(stderr, "cltower %s: %s\n", cmd, msg);
    return code;
}
