/* seq format: one user per line, "user item item ...", oldest item first
 * (the SASRec / S3-Rec / ICLRec files such as Beauty.txt). The event time is
 * the item's position in the line. */
#include "data/loader.h"
#include "util/fileio.h"

int load_seq(const LoadOptions *opt, EventLog *log, Err *err)
{
    LineReader lr;
    if (lr_open(&lr, opt->path, err) < 0) return -1;
    char *line;
    size_t len;
    int rc, ret = 0;
    enum { MAXF = 1 << 16 };
    char **f = xmalloc(MAXF * sizeof *f);
    StrTab seen_users;
    strtab_init(&seen_users);
    while ((rc = lr_next(&lr, &line, &len, err)) == 1) {
        int n = split_ws(line, f, MAXF);
        if (n == 0) continue; /* blank lines are allowed (e.g. a trailing one) */
        if (n > MAXF) {
            ret = err_set(err, "%s:%lld: more than %d items on one line", opt->path, (long long)lr.lineno, MAXF - 1);
            break;
        }
        if (n < 2) {
            ret = err_set(err, "%s:%lld: expected 'user item [item ...]', got only one field", opt->path, (long long)lr.lineno);
            break;
        }
        int32_t before = seen_users.n;
        strtab_intern(&seen_users, f[0], strlen(f[0]));
        if (seen_users.n == before) {
            ret = err_set(err, "%s:%lld: user '%s' appears on more than one line", opt->path, (long long)lr.lineno, f[0]);
            break;
        }
        for (int i = 1; i < n; i++) evlog_add(log, f[0], strlen(f[0]), f[i], strlen(f[i]), i - 1);
    }
    if (rc < 0) ret = -1;
    if (ret == 0 && log->n_events == 0) ret = err_set(err, "%s: no interactions (empty file?)", opt->path);
    strtab_free(&seen_users);
    free(f);
    lr_close(&lr);
    return ret;
}
