// axpy.h - y -= a * x on doubles, vectorised for the CPU's kernel ISA (nn/cpu.h).
//
// The innermost loop of coordinate descent (src/decoders/enet_path.c: every coefficient change
// updates the gradient q of the working set, and each KKT check rebuilds q from the active
// Gram rows): most of the lasso's time. Multiply and subtract stay two roundings on every path
// (no FMA: src/nn/axpy.c is compiled with -ffp-contract=off), so every ISA gives the same bits
// as the plain loop, and a fit does not depend on the machine it ran on.
#ifndef HY_AXPY_H
#define HY_AXPY_H

// y[i] = y[i] - a * x[i] for i < n (y and x must not overlap).
void hy_axpy_sub_f64(double *y, const double *x, double a, int n);

#endif
