// stats.c - t survival function, normal isf, nilearn's t -> z, and the fast per-dof table
// (see include/glm/stats.h).
#include "glm/stats.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/common.h"

#define P_MIN 1e-300        // nilearn clips p-values to [1e-300, 1 - 1e-16]
#define DOF_MAX 1e10        // and caps the degrees of freedom (DEF_DOFMAX)
#define LOG_SQRT_2PI 0.91893853320467274178

// Continued fraction of I_x(a, b) (DLMF 8.17.22) by the modified Lentz method: returns the
// fraction's value; the caller multiplies by x^a y^b / (a B(a, b)).
static double beta_fraction(double a, double b, double x) {
    const double tiny = 1e-300;
    double c = 1, d = 1 - (a + b) * x / (a + 1);
    if (fabs(d) < tiny) d = tiny;
    d = 1 / d;
    double f = d;
    for (int m = 1; m < 200000; m++) {
        // even step d_{2m} = m (b - m) x / ((a + 2m - 1)(a + 2m)), odd step d_{2m+1}
        double num = m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m));
        d = 1 + num * d;
        d = fabs(d) < tiny ? tiny : d;
        c = 1 + num / c;
        c = fabs(c) < tiny ? tiny : c;
        d = 1 / d;
        f *= d * c;
        num = -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1));
        d = 1 + num * d;
        d = fabs(d) < tiny ? tiny : d;
        c = 1 + num / c;
        c = fabs(c) < tiny ? tiny : c;
        d = 1 / d;
        double step = d * c;
        f *= step;
        if (fabs(step - 1) < 1e-16) break;
    }
    return f;
}

// I_x(a, b) given log x and log y as well (x may underflow to 0 while log x is finite: the
// table reaches p = 1e-300 at x = exp(-s^2/dof) far below the smallest double for dof 1 and 2).
static double ibeta_logs(double a, double b, double x, double y, double lx, double ly) {
    if (y <= 0) return 1;
    double lbeta = lgamma(a) + lgamma(b) - lgamma(a + b);
    double front = exp(a * lx + b * ly - lbeta);
    if (x < (a + 1) / (a + b + 2)) return front * beta_fraction(a, b, x) / a;
    return 1 - front * beta_fraction(b, a, y) / b;
}

double hy_ibeta(double a, double b, double x, double y) {
    if (x <= 0) return 0;
    if (y <= 0) return 1;
    return ibeta_logs(a, b, x, y, log(x), log(y));
}

double hy_t_sf(double t, double dof) {
    if (isnan(t) || !(dof > 0)) return NAN;
    if (t == 0) return 0.5;
    double tt = fabs(t), t2 = tt * tt;
    // x = dof / (dof + t^2) and 1 - x = t^2 / (dof + t^2), each without cancellation
    double x = dof / (dof + t2), y = t2 / (dof + t2);
    if (isinf(t2)) x = 0, y = 1;
    double tail = 0.5 * hy_ibeta(dof / 2, 0.5, x, y);
    return t > 0 ? tail : 1 - tail;
}

// Acklam's rational approximation of the normal quantile (relative error < 1.2e-9), then one
// Halley step on 0.5 erfc(-x / sqrt 2) - p; p in (0, 1).
static double norm_ppf(double p) {
    static const double a[6] = {-3.969683028665376e+01, 2.209460984245205e+02, -2.759285104469687e+02,
                                1.383577518672690e+02,  -3.066479806614716e+01, 2.506628277459239e+00};
    static const double b[5] = {-5.447609879822406e+01, 1.615858368580409e+02, -1.556989798598866e+02,
                                6.680131188771972e+01,  -1.328068155288572e+01};
    static const double c[6] = {-7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e+00,
                                -2.549732539343734e+00, 4.374664141464968e+00,  2.938163982698783e+00};
    static const double d[4] = {7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e+00,
                                3.754408661907416e+00};
    double x;
    if (p < 0.02425 || p > 1 - 0.02425) {
        double q = sqrt(-2 * log(p < 0.5 ? p : 1 - p));
        x = (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
            ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
        if (p > 0.5) x = -x;
    } else {
        double q = p - 0.5, r = q * q;
        x = (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q /
            (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1);
    }
    // Halley: e = Phi(x) - p, u = e / phi(x); in the lower tail Phi is erfc-based, so accurate
    double e = 0.5 * erfc(-x / M_SQRT2) - p;
    double u = e * exp(0.5 * x * x + LOG_SQRT_2PI);
    return x - u / (1 + x * u / 2);
}

double hy_norm_isf(double p) {
    if (!(p > 0 && p < 1)) return p == 0 ? INFINITY : p == 1 ? -INFINITY : NAN;
    // isf(p) = -ppf(p); use the tail that is accurate for p <= 0.5
    return p <= 0.5 ? -norm_ppf(p) : norm_ppf(1 - p);
}

double hy_t_to_z(double t, double dof) {
    if (isnan(t)) return NAN;
    if (dof > DOF_MAX) dof = DOF_MAX;
    double p = hy_t_sf(fabs(t), dof);
    if (p < P_MIN) p = P_MIN;
    double z = hy_norm_isf(p);
    return t < 0 ? -z : z;
}

// --- fast table -----------------------------------------------------------------------------

// p, z and dz/ds at s >= 0 for this dof, computed exactly (x = exp(-s^2/dof), y = 1 - x).
static void z_of_s(double s, double dof, double lbeta, double *z, double *dz) {
    double a = dof / 2, u = s * s / dof;
    double x = exp(-u), y = -expm1(-u);
    double p = s == 0 ? 0.5 : 0.5 * ibeta_logs(a, 0.5, x, y, -u, log(y));
    if (p < P_MIN) p = P_MIN;
    *z = hy_norm_isf(p);
    // dz/ds = (s / dof) x^a y^(-1/2) / (B(a, 1/2) phi(z)), with s / sqrt(y) -> sqrt(dof) as s -> 0
    double s_over_sqrty = u > 0 ? s / sqrt(y) : sqrt(dof);
    double logv = log(s_over_sqrty / dof) - a * u - lbeta + 0.5 * (*z) * (*z) + LOG_SQRT_2PI;
    *dz = exp(logv);
}

void hy_tz_table_free(hy_tz_table *tb) {
    free(tb->z);
    free(tb->dz);
    free(tb->zt);
    free(tb->dzt);
    memset(tb, 0, sizeof *tb);
}

// The table spans s in [0, s_max], s_max the point where p = 1e-300 (found by bisection on the
// exact sf), with n = 4097 samples: measured interpolation error < 1e-9 for dof >= 1.
int hy_tz_table_init(hy_tz_table *tb, double dof) {
    memset(tb, 0, sizeof *tb);
    if (!(dof > 0)) return hy_err(HY_EVALUE, "degrees of freedom %g must be positive", dof);
    if (dof > DOF_MAX) dof = DOF_MAX;
    tb->dof = dof;
    double a = dof / 2, lbeta = lgamma(a) + lgamma(0.5) - lgamma(a + 0.5);
    double lo = 0, hi = 60;  // p(s = 60) < 1e-300 for every dof (z ~ s for large dof, s > z below)
    for (int it = 0; it < 200 && hi - lo > 1e-13; it++) {
        double mid = 0.5 * (lo + hi), u = mid * mid / dof;
        double y = -expm1(-u);
        double p = 0.5 * ibeta_logs(a, 0.5, exp(-u), y, -u, log(y));
        if (p > P_MIN) lo = mid;
        else hi = mid;
    }
    tb->s_max = lo;
    tb->n = 4097;
    tb->h = tb->s_max / (tb->n - 1);
    tb->inv_h = 1 / tb->h;
    tb->nt = 4097;
    tb->ht = HY_TZ_TMAX / (tb->nt - 1);
    tb->inv_ht = 1 / tb->ht;
    tb->z = hy_malloc(sizeof(double) * tb->n);
    tb->dz = hy_malloc(sizeof(double) * tb->n);
    tb->zt = hy_malloc(sizeof(double) * tb->nt);
    tb->dzt = hy_malloc(sizeof(double) * tb->nt);
    if (!tb->z || !tb->dz || !tb->zt || !tb->dzt) {
        hy_tz_table_free(tb);
        return HY_ENOMEM;
    }
    for (int k = 0; k < tb->n; k++) z_of_s(k * tb->h, dof, lbeta, &tb->z[k], &tb->dz[k]);
    // the t grid: dz/dt = dz/ds * ds/dt, ds/dt = (t / s) / (1 + t^2 / dof) (1 at t = 0)
    for (int k = 0; k < tb->nt; k++) {
        double t = k * tb->ht, s = sqrt(dof * log1p(t * t / dof)), dzds;
        z_of_s(s, dof, lbeta, &tb->zt[k], &dzds);
        tb->dzt[k] = dzds * (t > 0 ? (t / s) / (1 + t * t / dof) : 1.0);
    }
    tb->z_max = hy_norm_isf(P_MIN);
    return HY_OK;
}

// Cubic Hermite on a uniform grid: value and slope at both ends of the cell holding x (f = x/h).
static inline double hermite(const double *z, const double *dz, int n, double h, double f) {
    int k = (int)f;
    if (k >= n - 1) k = n - 2;
    double r = f - k, r2 = r * r, r3 = r2 * r;
    return (2 * r3 - 3 * r2 + 1) * z[k] + (r3 - 2 * r2 + r) * h * dz[k] + (-2 * r3 + 3 * r2) * z[k + 1] +
           (r3 - r2) * h * dz[k + 1];
}

double hy_tz_table_eval(const hy_tz_table *tb, double t) {
    if (isnan(t)) return NAN;
    double tt = fabs(t), z;
    if (tt < HY_TZ_TMAX) {
        z = hermite(tb->zt, tb->dzt, tb->nt, tb->ht, tt * tb->inv_ht);
        return t < 0 ? -z : z;
    }
    double s = sqrt(tb->dof * log1p(tt * tt / tb->dof));
    if (!(s < tb->s_max)) {
        z = tb->z_max;
    } else {
        z = hermite(tb->z, tb->dz, tb->n, tb->h, s * tb->inv_h);
    }
    return t < 0 ? -z : z;
}
