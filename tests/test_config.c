/* Run options that resolve "auto" from other options. */
#include "test.h"
#include "train/config.h"

static int lazy_for(const char *a, const char *b)
{
    char *argv[] = {(char *)a, (char *)b, NULL};
    int argc = (a != NULL) + (b != NULL), help;
    RunConfig rc;
    Err err = {{0}};
    if (run_config_parse(&rc, argc, argv, &help, &err) < 0) return -1;
    return run_config_lazy_adam(&rc);
}

TEST(run_config_lazy_adam_auto_is_dense_for_bce_only)
{
    CHECK_EQ_INT(lazy_for(NULL, NULL), 1);
    CHECK_EQ_INT(lazy_for("--loss=sampled", NULL), 1);
    CHECK_EQ_INT(lazy_for("--loss=full", NULL), 1);
    CHECK_EQ_INT(lazy_for("--loss=bce", NULL), 0);
    CHECK_EQ_INT(lazy_for("--loss=bce", "--lazy-adam=true"), 1);
    CHECK_EQ_INT(lazy_for("--loss=sampled", "--lazy-adam=false"), 0);
    CHECK_EQ_INT(lazy_for("--lazy-adam=sometimes", NULL), -1);
}
