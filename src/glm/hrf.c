// hrf.c - SPM / Glover haemodynamic kernels and their derivatives, sampled like nilearn 0.10.4
// (hemodynamic_models.py: _gamma_difference_hrf, spm_*, glover_*, _hrf_kernel). See hrf.h.
#include "glm/hrf.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/common.h"

// scipy.stats.gamma.pdf(x, a, loc, scale) = exp(xlogy(a - 1, y) - y - gammaln(a)) / scale with
// y = (x - loc) / scale, and 0 outside the support (y < 0; y = 0 gives 0 for a > 1).
static double gamma_pdf(double x, double a, double loc, double scale) {
    double y = (x - loc) / scale;
    if (y < 0) return 0;
    if (y == 0) return a > 1 ? 0 : (a == 1 ? 1 / scale : INFINITY);
    return exp((a - 1) * log(y) - y - lgamma(a)) / scale;
}

int hy_hrf_length(double tr, int oversampling) {
    if (!(tr > 0) || oversampling < 1) return 0;
    double dt = tr / oversampling;
    double n = rint(32.0 / dt);  // np.rint: ties to even, as C's rint in the default rounding mode
    if (!(n >= 2) || n > 1e8) return 0;
    return (int)n;
}

void hy_hrf_gamma_difference(double *h, int n, double tr, int oversampling, double onset, double delay,
                             double undershoot, double disp, double udisp, double ratio) {
    double dt = tr / oversampling;
    // np.linspace(0, 32, n): step = 32 / (n - 1), t_k = k * step + 0, last sample exactly 32
    double step = 32.0 / (n - 1), sum = 0;
    for (int k = 0; k < n; k++) {
        double t = (k == n - 1 ? 32.0 : k * step) - onset;
        h[k] = gamma_pdf(t, delay / disp, dt, disp) - ratio * gamma_pdf(t, undershoot / udisp, dt, udisp);
        sum += h[k];
    }
    for (int k = 0; k < n; k++) h[k] /= sum;
}

typedef struct {
    double delay, undershoot, disp, udisp, ratio;
} hrf_params;

static const hrf_params FAMILY[2] = {
    {6, 16, 1.0, 1.0, 0.167},  // spm
    {6, 12, 0.9, 0.9, 0.35},   // glover
};

// Fills k (n_basis, len): kernel, time derivative, dispersion derivative. Each derivative is
// nilearn's 1/d * (f(x) - f(x + d)) with d = 0.1 s (onset) or 0.01 (dispersion).
int hy_hrf_kernels(double *k, int len, int family, int n_basis, double tr, int oversampling) {
    const hrf_params *p = &FAMILY[family == HY_HRF_GLOVER];
    hy_hrf_gamma_difference(k, len, tr, oversampling, 0, p->delay, p->undershoot, p->disp, p->udisp, p->ratio);
    if (n_basis < 2) return HY_OK;
    double *shifted = hy_malloc(sizeof(double) * (size_t)len);
    if (!shifted) return HY_ENOMEM;
    double *d = k + len, dt = 0.1;
    hy_hrf_gamma_difference(shifted, len, tr, oversampling, 0 + dt, p->delay, p->undershoot, p->disp, p->udisp, p->ratio);
    for (int i = 0; i < len; i++) d[i] = 1.0 / dt * (k[i] - shifted[i]);
    if (n_basis >= 3) {
        // _generic_dispersion_derivative: delay 6 and u_dispersion 1 are its defaults, for both families
        double *dd = k + 2 * (size_t)len, step = 0.01;
        hy_hrf_gamma_difference(dd, len, tr, oversampling, 0, 6, p->undershoot, p->disp, 1.0, p->ratio);
        hy_hrf_gamma_difference(shifted, len, tr, oversampling, 0, 6, p->undershoot, p->disp + step, 1.0, p->ratio);
        for (int i = 0; i < len; i++) dd[i] = 1.0 / step * (dd[i] - shifted[i]);
    }
    free(shifted);
    return HY_OK;
}

int hy_hrf_parse(const char *s, int *family, int *n_basis) {
    char buf[64];
    int o = 0;
    for (const char *p = s; *p && o < (int)sizeof buf - 1; p++)
        if (!isspace((unsigned char)*p)) buf[o++] = (char)tolower((unsigned char)*p);
    buf[o] = 0;
    static const char *names[3] = {"", "+derivative", "+derivative+dispersion"};
    for (int f = 0; f < 2; f++)
        for (int b = 0; b < 3; b++) {
            char want[64];
            snprintf(want, sizeof want, "%s%s", f ? "glover" : "spm", names[b]);
            if (!strcmp(buf, want)) {
                *family = f;
                *n_basis = b + 1;
                return HY_OK;
            }
        }
    return hy_err(HY_EARG, "unknown HRF model '%s' (spm, spm + derivative, spm + derivative + dispersion, glover, "
                           "glover + derivative, glover + derivative + dispersion)", s);
}

void hy_hrf_name(char *buf, int cap, int family, int n_basis) {
    snprintf(buf, (size_t)cap, "%s%s", family == HY_HRF_GLOVER ? "glover" : "spm",
             n_basis == 3 ? " + derivative + dispersion" : n_basis == 2 ? " + derivative" : "");
}
