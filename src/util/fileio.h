/* fileio.h — reading lines (plain or gzip, transparently) and writing files
 * atomically.
 *
 * Every output file cltower writes goes through AtomicFile: data goes to a
 * temporary name next to the target, is fsync'ed, then renamed over the target,
 * and the directory is fsync'ed. A crash leaves either the old file or the new
 * one, never half of one. */
#ifndef CLT_FILEIO_H
#define CLT_FILEIO_H

#include "util/common.h"

typedef struct LineReader {
    const char *path;
    void *gz;          /* gzFile; zlib reads plain files unchanged */
    int64_t lineno;    /* 1-based number of the line last returned */
    char *buf;         /* read buffer */
    size_t cap, beg, end;
    int eof;
} LineReader;

int lr_open(LineReader *lr, const char *path, Err *err);
/* Returns 1 and a NUL-terminated line without its "\n" or "\r\n" (valid until
 * the next call, writable), 0 at end of file, -1 on a read error. */
int lr_next(LineReader *lr, char **line, size_t *len, Err *err);
void lr_close(LineReader *lr);

/* Reads a whole (possibly gzipped) file into a NUL-terminated buffer. */
int read_whole_file(const char *path, char **out, size_t *len, Err *err);

typedef struct AtomicFile {
    FILE *f;
    char *path;
    char *tmp;
} AtomicFile;

int af_open(AtomicFile *af, const char *path, Err *err);
/* Flushes, fsyncs, renames into place. On failure the temp file is removed. */
int af_commit(AtomicFile *af, Err *err);
/* Abandons the write: closes and removes the temp file. Safe after commit. */
void af_abort(AtomicFile *af);
/* Convenience: writes a whole string atomically. */
int write_file_atomic(const char *path, const char *data, size_t len, Err *err);

int mkdir_p(const char *path, Err *err);
int path_exists(const char *path);
int is_directory(const char *path);
/* Removes a directory tree (used to clean up a run dir after a failed start). */
int rm_rf(const char *path);
/* Joins dir and name into a newly allocated string. */
char *path_join(const char *dir, const char *name);

#endif
