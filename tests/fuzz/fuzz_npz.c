// fuzz_npz.c - libFuzzer target: the .npz reader (zip directory, local headers, ZIP64 extra
// fields, inflate, CRC, then the .npy parser) on arbitrary bytes, in memory. Every member that
// opens is read as float32, float64 and int64. Seeds: tests/fixtures/npz/.
#include <stdint.h>
#include <stdlib.h>

#include "base/npz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    npz_file z;
    if (hy_npz_open_mem(&z, "fuzz.npz", data, size) != 0) return 0;
    const char kinds[3] = {'f', 'd', 'i'};
    for (int i = 0; i < z.n; i++)
        for (int k = 0; k < 3; k++) {
            int ndim;
            int64_t dims[NPY_MAX_NDIM];
            void *out = NULL;
            if (hy_npz_read(&z, z.members[i].name, kinds[k], &ndim, dims, &out) == 0) free(out);
        }
    hy_npz_close(&z);
    return 0;
}
