// fuzz_dataset.c - libFuzzer target: the dataset loader's matrix reader (ds_read_matrix:
// .npy -> float64 with its 2-D / shape / finiteness validation) on arbitrary bytes.
#include <stdint.h>
#include <stdlib.h>

#include "dataset.h"
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *p = fz_tmp_write(".npy", data, size);
    if (!p) return 0;
    double *m = NULL;
    int r = -1, c = -1;
    if (ds_read_matrix(p, &m, &r, &c) == 0) {
        if (r < 1 || c < 1) abort();  // the loader promises a usable shape
        volatile double s = m[0] + m[(size_t)r * c - 1];
        (void)s;
        free(m);
    }
    return 0;
}
