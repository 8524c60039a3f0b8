#include "util/fileio.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

enum { LR_CHUNK = 1 << 20 };

int lr_open(LineReader *lr, const char *path, Err *err)
{
    memset(lr, 0, sizeof *lr);
    lr->path = path;
    if (is_directory(path)) return err_set(err, "%s: is a directory, expected a data file", path);
    gzFile gz = gzopen(path, "rb");
    if (!gz) return err_set(err, "%s: cannot open: %s", path, strerror(errno ? errno : ENOENT));
    gzbuffer(gz, 256 * 1024);
    lr->gz = gz;
    lr->cap = LR_CHUNK;
    lr->buf = xmalloc(lr->cap + 1);
    return 0;
}

/* Moves unread bytes to the front and reads more; grows the buffer when one
 * line is longer than all of it. Returns bytes read, 0 at EOF, -1 on error. */
static int lr_fill(LineReader *lr, Err *err)
{
    if (lr->beg > 0) {
        memmove(lr->buf, lr->buf + lr->beg, lr->end - lr->beg);
        lr->end -= lr->beg;
        lr->beg = 0;
    }
    if (lr->end == lr->cap) {
        lr->cap *= 2;
        lr->buf = xrealloc(lr->buf, lr->cap + 1);
    }
    int n = gzread((gzFile)lr->gz, lr->buf + lr->end, (unsigned)(lr->cap - lr->end));
    if (n < 0) {
        int code;
        const char *msg = gzerror((gzFile)lr->gz, &code);
        return err_set(err, "%s:%lld: read error: %s", lr->path, (long long)lr->lineno + 1, msg);
    }
    lr->end += (size_t)n;
    return n;
}

int lr_next(LineReader *lr, char **line, size_t *len, Err *err)
{
    for (;;) {
        char *start = lr->buf + lr->beg;
        char *nl = memchr(start, '\n', lr->end - lr->beg);
        if (nl || (lr->eof && lr->end > lr->beg)) {
            size_t n = nl ? (size_t)(nl - start) : lr->end - lr->beg;
            lr->beg += n + (nl ? 1 : 0);
            if (n > 0 && start[n - 1] == '\r') n--;
            start[n] = '\0';
            lr->lineno++;
            *line = start;
            *len = n;
            return 1;
        }
        if (lr->eof) return 0;
        int got = lr_fill(lr, err);
        if (got < 0) return -1;
        if (got == 0) lr->eof = 1;
    }
}

void lr_close(LineReader *lr)
{
    if (lr->gz) gzclose((gzFile)lr->gz);
    free(lr->buf);
    memset(lr, 0, sizeof *lr);
}

int read_whole_file(const char *path, char **out, size_t *len, Err *err)
{
    LineReader lr;
    if (lr_open(&lr, path, err) < 0) return -1;
    size_t cap = 1 << 16, n = 0;
    char *buf = xmalloc(cap);
    for (;;) {
        if (n == cap) buf = xrealloc(buf, cap *= 2);
        int got = gzread((gzFile)lr.gz, buf + n, (unsigned)(cap - n));
        if (got < 0) {
            free(buf);
            lr_close(&lr);
            return err_set(err, "%s: read error", path);
        }
        if (got == 0) break;
        n += (size_t)got;
    }
    lr_close(&lr);
    buf = xrealloc(buf, n + 1);
    buf[n] = '\0';
    *out = buf;
    *len = n;
    return 0;
}

int af_open(AtomicFile *af, const char *path, Err *err)
{
    memset(af, 0, sizeof *af);
    af->path = xstrdup(path);
    size_t n = strlen(path) + 32;
    af->tmp = xmalloc(n);
    snprintf(af->tmp, n, "%s.tmp.%ld", path, (long)getpid());
    af->f = fopen(af->tmp, "wb");
    if (!af->f) {
        int e = errno;
        free(af->path);
        free(af->tmp);
        memset(af, 0, sizeof *af);
        return err_set(err, "%s: cannot create: %s", path, strerror(e));
    }
    return 0;
}

static void fsync_parent_dir(const char *path)
{
    char *dir = xstrdup(path);
    char *slash = strrchr(dir, '/');
    if (slash) *slash = '\0';
    else strcpy(dir, ".");
    int fd = open(dir, O_RDONLY | O_DIRECTORY);
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
    free(dir);
}

int af_commit(AtomicFile *af, Err *err)
{
    int failed = ferror(af->f) || fflush(af->f) != 0 || fsync(fileno(af->f)) != 0;
    int e = errno;
    if (fclose(af->f) != 0) failed = 1;
    af->f = NULL;
    if (failed) {
        unlink(af->tmp);
        err_set(err, "%s: write failed: %s", af->path, strerror(e));
    } else if (rename(af->tmp, af->path) != 0) {
        e = errno;
        unlink(af->tmp);
        err_set(err, "%s: cannot rename into place: %s", af->path, strerror(e));
        failed = 1;
    } else {
        fsync_parent_dir(af->path);
    }
    free(af->path);
    free(af->tmp);
    af->path = af->tmp = NULL;
    return failed ? -1 : 0;
}

void af_abort(AtomicFile *af)
{
    if (af->f) {
        fclose(af->f);
        unlink(af->tmp);
    }
    free(af->path);
    free(af->tmp);
    memset(af, 0, sizeof *af);
}

int write_file_atomic(const char *path, const char *data, size_t len, Err *err)
{
    AtomicFile af;
    if (af_open(&af, path, err) < 0) return -1;
    if (fwrite(data, 1, len, af.f) != len) {
        af_abort(&af);
        return err_set(err, "%s: write failed", path);
    }
    return af_commit(&af, err);
}

int mkdir_p(const char *path, Err *err)
{
    char *p = xstrdup(path);
    for (char *s = p + 1; *s; s++) {
        if (*s != '/') continue;
        *s = '\0';
        if (mkdir(p, 0755) != 0 && errno != EEXIST) {
            int e = errno;
            err_set(err, "%s: cannot create directory: %s", p, strerror(e));
            free(p);
            return -1;
        }
        *s = '/';
    }
    int rc = 0;
    if (mkdir(p, 0755) != 0 && errno != EEXIST)
        rc = err_set(err, "%s: cannot create directory: %s", p, strerror(errno));
    else if (!is_directory(p))
        rc = err_set(err, "%s: exists and is not a directory", p);
    free(p);
    return rc;
}

int path_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

int is_directory(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

int rm_rf(const char *path)
{
    struct stat st;
    if (lstat(path, &st) != 0) return 0;
    if (!S_ISDIR(st.st_mode)) return unlink(path);
    DIR *d = opendir(path);
    if (!d) return -1;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..")) continue;
        char *child = path_join(path, de->d_name);
        rm_rf(child);
        free(child);
    }
    closedir(d);
    return rmdir(path);
}

char *path_join(const char *dir, const char *name)
{
    size_t n = strlen(dir) + strlen(name) + 2;
    char *p = xmalloc(n);
    snprintf(p, n, "%s/%s", dir, name);
    return p;
}
