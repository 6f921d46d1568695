// activation.c - the hidden-layer activations of MLP decoders: names, value and derivative.
//
// One place for each formula, used by training (src/decoders/adam.c) and prediction
// (src/decoders/decoder.c). The derivative is taken from the pre-activation z, which the
// trainer keeps for the backward pass. As in torch.nn / MXNet:
//   relu      max(z, 0)                       leaky     z > 0 ? z : slope z
//   tanh      tanh(z)                         sigmoid   1 / (1 + exp(-z))
//   elu       z > 0 ? z : exp(z) - 1 (alpha 1, nn.ELU / gluon nn.ELU)
//   softplus  log(1 + exp(z)), z for z > 20 (nn.Softplus's threshold; MXNet 'softrelu')
#include <math.h>
#include <string.h>

#include "base/common.h"
#include "decoders/trainers.h"

static const char *NAMES[DEC_N_ACTS] = {"none", "relu", "tanh", "leaky", "sigmoid", "elu", "softplus"};

const char *hy_dec_act_name(int act) { return act >= 0 && act < DEC_N_ACTS ? NAMES[act] : "?"; }

const char *hy_dec_act_names(void) {
    static char list[128];
    if (!list[0])
        for (int a = 0; a < DEC_N_ACTS; a++) snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s", a ? "|" : "", NAMES[a]);
    return list;
}

int hy_dec_act_parse(const char *name, int *act) {
    for (int a = 0; a < DEC_N_ACTS; a++)
        if (!strcmp(name, NAMES[a])) {
            *act = a;
            return HY_OK;
        }
    return hy_err(HY_EARG, "unknown activation '%s' (%s)", name, hy_dec_act_names());
}

float hy_dec_act_apply(int act, float slope, float z) {
    switch (act) {
    case DEC_ACT_RELU: return z > 0 ? z : 0;
    case DEC_ACT_TANH: return tanhf(z);
    case DEC_ACT_LEAKY: return z > 0 ? z : slope * z;
    case DEC_ACT_SIGMOID: return 1.0f / (1.0f + expf(-z));
    case DEC_ACT_ELU: return z > 0 ? z : expm1f(z);
    case DEC_ACT_SOFTPLUS: return z > 20.0f ? z : log1pf(expf(z));
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
    case DEC_ACT_SIGMOID: {
        float s = 1.0f / (1.0f + expf(-z));
        return s * (1 - s);
    }
    case DEC_ACT_ELU: return z > 0 ? 1.0f : expf(z);
    case DEC_ACT_SOFTPLUS: return z > 20.0f ? 1.0f : 1.0f / (1.0f + expf(-z));
    default: return 1.0f;
    }
}
