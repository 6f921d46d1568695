// stats.h - Student t and normal tail functions for the GLM's t -> z conversion.
//
// nilearn turns a t statistic with `dof` residual degrees of freedom into a z-score through the
// p-value: p = t.sf(t, dof), q = t.cdf(t, dof), both clipped to [1e-300, 1 - 1e-16], then
// z = norm.isf(p) when that is >= 0, else norm.ppf(q); dof is capped at 1e10. For t >= 0 this is
// isf(clip(sf(t))), for t < 0 its mirror image, so |z| never exceeds isf(1e-300) = 37.0471 and
// there is no +-inf at large t.
//
// Exact path (tests, tables): sf through the regularised incomplete beta function,
// sf(t) = I_x(dof/2, 1/2) / 2 with x = dof / (dof + t^2), evaluated by its continued fraction
// (DLMF 8.17.22) with the symmetry I_x(a,b) = 1 - I_{1-x}(b,a) past the crossover, and the normal
// isf from Acklam's rational approximation polished by one Halley step on erfc (relative error
// ~1e-15 down to 1e-300).
//
// Fast path (maps of millions of values): per dof, z is tabulated as a function of
// s = sqrt(dof * log1p(t^2 / dof)) (for which x = exp(-s^2 / dof) exactly, and z ~ s) on a uniform
// grid up to the point where p reaches 1e-300, with exact derivatives, and evaluated by cubic
// Hermite interpolation; |t| below 8 uses a second uniform grid in t itself (z is smooth there).
// tests/test_glm.c bounds its error against the exact path (< 1e-9).
#ifndef HY_GLM_STATS_H
#define HY_GLM_STATS_H

// Regularised incomplete beta I_x(a, b); y = 1 - x passed separately for accuracy near x = 1.
double hy_ibeta(double a, double b, double x, double y);
// scipy.stats.t.sf(t, dof) and scipy.stats.norm.isf(p) (0 < p < 1).
double hy_t_sf(double t, double dof);
double hy_norm_isf(double p);
// nilearn's z for a t statistic (exact path).
double hy_t_to_z(double t, double dof);

typedef struct {
    double dof, s_max, z_max, h, inv_h;
    int n;
    double *z, *dz;  // (n) z and dz/ds at s = k h
    // most |t| are small: a second grid directly in t on [0, HY_TZ_TMAX) spares the log1p/sqrt
    double ht, inv_ht;
    int nt;
    double *zt, *dzt;  // (nt) z and dz/dt at t = k ht
} hy_tz_table;
#define HY_TZ_TMAX 8.0

int hy_tz_table_init(hy_tz_table *tb, double dof);  // HY_OK / HY_ENOMEM / HY_EVALUE (dof <= 0)
double hy_tz_table_eval(const hy_tz_table *tb, double t);
void hy_tz_table_free(hy_tz_table *tb);

#endif
