/* Shared by the libFuzzer targets: an invariant that does not hold is a
 * crash libFuzzer reports (and saves the input of). */
#pragma once

#include <stdio.h>
#include <stdlib.h>

#define CHECK(c)                                                                                   \
        do {                                                                                       \
                if (!(c)) {                                                                        \
                        fprintf(stderr, "fuzz invariant failed: %s (%s:%d)\n", #c, __FILE__,       \
                                __LINE__);                                                         \
                        abort();                                                                   \
                }                                                                                  \
        } while (0)

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);
