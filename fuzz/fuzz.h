/* fuzz.h — checks shared by the fuzz targets (docs/FUZZING.md). A failed
 * check aborts, which libFuzzer reports as a crash with the input saved. */
#ifndef CLT_FUZZ_H
#define CLT_FUZZ_H

#include <stdio.h>
#include <stdlib.h>

#include "util/common.h"

#ifndef FUZZ_TARGET
#error "compile with -DFUZZ_TARGET=\"<target name>\""
#endif

#define CHECK(cond)                                                                                    \
    do {                                                                                               \
        if (!(cond)) {                                                                                 \
            fprintf(stderr, "fuzz %s: check failed: %s (%s:%d)\n", FUZZ_TARGET, #cond, __FILE__, __LINE__); \
            abort();                                                                                   \
        }                                                                                              \
    } while (0)

/* A failure must come with a message: one printable line. */
static inline void check_error(const Err *err)
{
    CHECK(err->msg[0] != '\0');
    CHECK(strnlen(err->msg, sizeof err->msg) < sizeof err->msg);
    for (const unsigned char *p = (const unsigned char *)err->msg; *p; p++) CHECK(*p >= 0x20 && *p != 0x7f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#endif
