// activation.c - the hidden-layer activations of MLP decoders: names, value and derivative.
//
// One place for each formula, used by training (src/decoders/adam.c) and prediction
// (src/decoders/decoder.c). The derivative is taken from the pre-activation z, which the
// trainer keeps for the backward pass.
#include <math.h>
#include <string.h>

#include "base/common.h"
#include "decoders/trainers.h"

static const char *NAMES[DEC_N_ACTS] = {"none", "relu", "tanh", "leaky"};

const char *hy_dec_act_name(int act) { return act >= 0 && act < DEC_N_ACTS ? NAMES[act] : "?"; }

int hy_dec_act_parse(const char *name, int *act) {
    for (int a = 0; a < DEC_N_ACTS; a++)
        if (!strcmp(name, NAMES[a])) {
            *act = a;
            return HY_OK;
        }
    return hy_err(HY_EARG, "unknown activation '%s' (relu, tanh, leaky, none)", name);
}

float hy_dec_act_apply(int act, float slope, float z) {
    switch (act) {
    case DEC_ACT_RELU: return z > 0 ? z : 0;
    case DEC_ACT_TANH: return tanhf(z);
    case DEC_ACT_LEAKY: return z > 0 ? z : slope * z;
    default: return z;
    }
}

float hy_dec_act_grad(int act, float slope, float z) {
    switch (act) {
    case DEC_ACT_RELU: return z > 0 ? 1.0f : 0.0f;
    case DEC_ACT_TANH: {
        float t = tanhf(z);
        return 1 - t * t;
    }
    case DEC_ACT_LEAKY: return z > 0 ? 1.0f : slope;
    default: return 1.0f;
    }
}
