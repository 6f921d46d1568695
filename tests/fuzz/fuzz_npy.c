// fuzz_npy.c - libFuzzer target: the .npy parser on arbitrary bytes, for each output type.
#include <stdint.h>
#include <stdlib.h>

#include "base/npy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char kinds[3] = {'f', 'd', 'i'};
    for (int k = 0; k < 3; k++) {
        int ndim;
        int64_t dims[NPY_MAX_NDIM];
        void *out = NULL;
        if (hy_npy_parse("fuzz.npy", data, size, kinds[k], &ndim, dims, &out) == 0) free(out);
    }
    return 0;
}
