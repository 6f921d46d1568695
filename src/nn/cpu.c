// cpu.c - instruction-set detection and the HY_ISA override (see include/nn/cpu.h).
//
// Detection follows the Intel SDM / AMD APM recipe (the same one OpenBLAS's dynamic.c and
// ggml use): a feature is usable only when CPUID reports it AND the OS enables its register
// state in XCR0 (OSXSAVE set, then XGETBV): YMM for AVX2/FMA, opmask + ZMM for AVX-512.
#include "nn/cpu.h"

#include <stdlib.h>
#include <string.h>

#include "base/common.h"

#if defined(__x86_64__) && defined(__GNUC__)
#include <cpuid.h>

static unsigned long long xgetbv0(void) {
    unsigned eax, edx;
    __asm__ volatile("xgetbv" : "=a"(eax), "=d"(edx) : "c"(0));
    return ((unsigned long long)edx << 32) | eax;
}

static int detect(void) {
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d)) return HY_ISA_GENERIC;
    const int fma = (c >> 12) & 1, osxsave = (c >> 27) & 1, avx = (c >> 28) & 1;
    if (!osxsave || !avx || !fma) return HY_ISA_GENERIC;
    const unsigned long long xcr0 = xgetbv0();
    if ((xcr0 & 0x6) != 0x6) return HY_ISA_GENERIC;  // XMM and YMM state
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return HY_ISA_GENERIC;
    const int avx2 = (b >> 5) & 1, avx512f = (b >> 16) & 1;
    if (!avx2) return HY_ISA_GENERIC;
    if (avx512f && (xcr0 & 0xE6) == 0xE6) return HY_ISA_AVX512;  // + opmask, ZMM_Hi256, Hi16_ZMM
    return HY_ISA_AVX2;
}
#else
static int detect(void) { return HY_ISA_GENERIC; }
#endif

static const char *const NAMES[HY_ISA_COUNT] = {"generic", "avx2", "avx512"};

const char *hy_isa_name(int isa) { return isa >= 0 && isa < HY_ISA_COUNT ? NAMES[isa] : NULL; }

int hy_isa_parse(const char *name) {
    for (int i = 0; i < HY_ISA_COUNT; i++)
        if (name && !strcmp(name, NAMES[i])) return i;
    return -1;
}

int hy_isa_detect(void) {
    static int best = -1;  // benign race: every thread computes the same value
    int v = __atomic_load_n(&best, __ATOMIC_RELAXED);
    if (v < 0) __atomic_store_n(&best, v = detect(), __ATOMIC_RELAXED);
    return v;
}

int hy_isa_supported(int isa) { return isa >= HY_ISA_GENERIC && isa <= hy_isa_detect(); }

static int g_isa = -1;  // current ISA; -1 until the first hy_isa / hy_isa_init / hy_isa_set

int hy_isa_set(int isa) {
    if (!hy_isa_supported(isa)) {
        const char *n = hy_isa_name(isa);
        return hy_err(HY_EARG, "instruction set %s is not supported by this CPU (best: %s)", n ? n : "(invalid)",
                      hy_isa_name(hy_isa_detect()));
    }
    __atomic_store_n(&g_isa, isa, __ATOMIC_RELAXED);
    return HY_OK;
}

int hy_isa_init(void) {
    const char *e = getenv("HY_ISA");
    if (!e || !*e) return hy_isa_set(hy_isa_detect());
    const int isa = hy_isa_parse(e);
    if (isa < 0) return hy_err(HY_EARG, "HY_ISA=%s: unknown instruction set (avx512, avx2 or generic)", e);
    if (!hy_isa_supported(isa))
        return hy_err(HY_EARG, "HY_ISA=%s: this CPU does not support it (best: %s)", e, hy_isa_name(hy_isa_detect()));
    return hy_isa_set(isa);
}

int hy_isa(void) {
    int v = __atomic_load_n(&g_isa, __ATOMIC_RELAXED);
    if (v >= 0) return v;
    if (hy_isa_init() != HY_OK) hy_isa_set(hy_isa_detect());  // invalid HY_ISA: callers that care check init
    return __atomic_load_n(&g_isa, __ATOMIC_RELAXED);
}
