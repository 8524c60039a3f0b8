/* modelfile.h — model weights and checkpoints on disk.
 *
 * Layout: magic "CLTOWER\0", u32 version, u32 flags, u64 payload length,
 * u32 CRC-32 of the payload, then the payload: model name, the run config
 * text, the parameter block (nn/params.c) with or without the Adam state, and
 * an opaque "extra" blob (the trainer's resume state). Written atomically
 * (temp file, fsync, rename); a truncated or corrupted file fails the length
 * or checksum test and is refused with a message that says so. */
#ifndef CLT_MODELFILE_H
#define CLT_MODELFILE_H

#include "model/model.h"

typedef struct ModelFileInfo {
    char model[64];
    char *config_text;   /* malloc'ed */
    int with_optimizer;  /* holds the Adam state (checkpoints do) */
    void *extra;         /* malloc'ed, extra_len bytes (NULL if none) */
    size_t extra_len;
} ModelFileInfo;

int modelfile_write(const char *path, Model *m, const char *config_text, int with_optimizer, const void *extra,
                    size_t extra_len, Err *err);
/* Reads just the header and config (to know which model to build). */
int modelfile_peek(const char *path, ModelFileInfo *info, Err *err);
/* Loads the parameters (and Adam state if asked and present) into m. */
int modelfile_read(const char *path, Model *m, int with_optimizer, ModelFileInfo *info, Err *err);
void modelfile_info_free(ModelFileInfo *info);

#endif
