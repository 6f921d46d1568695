// rng.h - PyTorch-compatible random numbers (CPU generator): mt19937 seeded like
// torch.manual_seed, uniform floats like torch.rand, and normals like torch.randn
// (for tensors of >= 16 elements, the vectorised Box-Muller path).
#ifndef HY_RNG_H
#define HY_RNG_H

#include <stdint.h>

typedef struct {
    uint32_t state[624];
    int left;
    int next;
} mt19937;

void hy_mt_seed(mt19937 *r, uint64_t seed);
uint32_t hy_mt_u32(mt19937 *r);
uint64_t hy_mt_u64(mt19937 *r);
float hy_mt_uniform_f32(mt19937 *r);   // [0,1), 24-bit, as torch.rand (float32)
double hy_mt_uniform_f64(mt19937 *r);  // [0,1), 53-bit
// Fills n normals exactly as torch.randn(n) on a fresh generator would (n >= 16); for
// n < 16 uses torch's scalar path.
void hy_mt_randn_f32(mt19937 *r, float *out, long n);
// Standard normal double (Box-Muller, for simulators; not torch-compatible).
double hy_mt_normal(mt19937 *r);

#endif
