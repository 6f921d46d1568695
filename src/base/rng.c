// rng.c - PyTorch-compatible CPU random numbers: mt19937 seeded as torch.manual_seed,
// 24-bit uniform floats as torch.rand, and torch.randn's Box-Muller layout for tensors of
// >= 16 elements (uniforms first, then pairs (j, j+8) in blocks of 16; a ragged tail
// redraws the last 16). torch may evaluate log/cos/sin with SLEEF vector code, so values
// agree to about 1e-6, not always bit for bit.
#include "base/rng.h"

#include <math.h>

#define MT_N 624
#define MT_M 397

void hy_mt_seed(mt19937 *r, uint64_t seed) {
    r->state[0] = (uint32_t)(seed & 0xffffffffu);
    for (int j = 1; j < MT_N; j++)
        r->state[j] = 1812433253u * (r->state[j - 1] ^ (r->state[j - 1] >> 30)) + (uint32_t)j;
    r->left = 1;
    r->next = 0;
}

static void next_state(mt19937 *r) {
    uint32_t *s = r->state;
    for (int i = 0; i < MT_N; i++) {
        uint32_t y = (s[i] & 0x80000000u) | (s[(i + 1) % MT_N] & 0x7fffffffu);
        s[i] = s[(i + MT_M) % MT_N] ^ (y >> 1) ^ ((y & 1u) ? 0x9908b0dfu : 0u);
    }
    r->left = MT_N;
    r->next = 0;
}

uint32_t hy_mt_u32(mt19937 *r) {
    if (--r->left == 0) next_state(r);
    uint32_t y = r->state[r->next++];
    y ^= y >> 11;
    y ^= (y << 7) & 0x9d2c5680u;
    y ^= (y << 15) & 0xefc60000u;
    y ^= y >> 18;
    return y;
}

uint64_t hy_mt_u64(mt19937 *r) {
    uint64_t hi = hy_mt_u32(r), lo = hy_mt_u32(r);
    return hi << 32 | lo;
}

float hy_mt_uniform_f32(mt19937 *r) { return (float)(hy_mt_u32(r) & ((1u << 24) - 1)) * (1.0f / (1u << 24)); }

double hy_mt_uniform_f64(mt19937 *r) {
    return (double)(hy_mt_u64(r) & ((UINT64_C(1) << 53) - 1)) * (1.0 / (double)(UINT64_C(1) << 53));
}

static void normal_fill_16(float *d) {
    for (int j = 0; j < 8; j++) {
        float u1 = 1.0f - d[j], u2 = d[j + 8];
        float radius = sqrtf(-2.0f * logf(u1));
        float theta = 2.0f * (float)M_PI * u2;
        d[j] = radius * cosf(theta);
        d[j + 8] = radius * sinf(theta);
    }
}

void hy_mt_randn_f32(mt19937 *r, float *out, long n) {
    if (n < 16) {
        // torch's scalar path: at::normal_distribution<double> on random64 pairs
        for (long i = 0; i < n; i++) {
            double u1 = hy_mt_uniform_f64(r), u2 = hy_mt_uniform_f64(r);
            out[i] = (float)(sqrt(-2.0 * log1p(-u2)) * cos(2.0 * M_PI * u1));
        }
        return;
    }
    for (long i = 0; i < n; i++) out[i] = hy_mt_uniform_f32(r);
    for (long i = 0; i + 16 <= n; i += 16) normal_fill_16(out + i);
    if (n % 16) {
        float *d = out + n - 16;
        for (int i = 0; i < 16; i++) d[i] = hy_mt_uniform_f32(r);
        normal_fill_16(d);
    }
}

double hy_mt_normal(mt19937 *r) {
    double u1 = hy_mt_uniform_f64(r), u2 = hy_mt_uniform_f64(r);
    return sqrt(-2.0 * log1p(-u1)) * cos(2.0 * M_PI * u2);
}
