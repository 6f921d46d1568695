// fuzz_dataset.c - libFuzzer target: the dataset loader's matrix reader (ds_matrix_mem, which
// ds_read_matrix runs on a file's bytes: .npy -> float64 with its 2-D / shape / finiteness
// validation) on arbitrary bytes, in memory.
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#include "study/dataset.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    double *m = NULL;
    int r = -1, c = -1;
    if (hy_ds_matrix_mem("fuzz.npy", data, size, &m, &r, &c) == 0) {
        if (r < 1 || c < 1) abort();  // the loader promises a usable shape
        for (size_t i = 0; i < (size_t)r * c; i++)  // ... and values that fit float32 (issue 19 #7)
            if (!(fabs(m[i]) <= FLT_MAX)) abort();
        volatile double s = m[0] + m[(size_t)r * c - 1];
        (void)s;
        free(m);
    }
    return 0;
}
