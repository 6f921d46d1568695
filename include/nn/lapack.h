// lapack.h - prototypes of the LAPACK (Fortran ABI) routines the decoders use.
//
// Debian's libopenblas exports the LAPACK symbols but there is no LAPACKE header in the
// project's dependencies, so the few routines we call are declared here. All matrices are
// column-major (Fortran); callers pass row-major C arrays as their transposes. Hidden
// string-length arguments are omitted (every character argument is a single char), which
// is what the reference LAPACK ABI accepts in practice for these routines.
#ifndef HY_LAPACK_H
#define HY_LAPACK_H

// Singular value decomposition by divide and conquer: A (m x n, lda) = U S VT.
void dgesdd_(const char *jobz, const int *m, const int *n, double *a, const int *lda, double *s,
             double *u, const int *ldu, double *vt, const int *ldvt, double *work, const int *lwork,
             int *iwork, int *info);
// Symmetric eigen-decomposition by divide and conquer (eigenvalues ascending).
void dsyevd_(const char *jobz, const char *uplo, const int *n, double *a, const int *lda, double *w,
             double *work, const int *lwork, int *iwork, const int *liwork, int *info);
// Cholesky factorisation of a symmetric positive definite matrix and the solve with it.
void dpotrf_(const char *uplo, const int *n, double *a, const int *lda, int *info);
void dpotrs_(const char *uplo, const int *n, const int *nrhs, const double *a, const int *lda, double *b,
             const int *ldb, int *info);
// Selected eigenvalues/vectors of a symmetric matrix (range 'I': indices il..iu, ascending).
void dsyevr_(const char *jobz, const char *range, const char *uplo, const int *n, double *a, const int *lda,
             const double *vl, const double *vu, const int *il, const int *iu, const double *abstol, int *m,
             double *w, double *z, const int *ldz, int *isuppz, double *work, const int *lwork, int *iwork,
             const int *liwork, int *info);
// QR factorisation and the explicit Q.
void dgeqrf_(const int *m, const int *n, double *a, const int *lda, double *tau, double *work,
             const int *lwork, int *info);
void dorgqr_(const int *m, const int *n, const int *k, double *a, const int *lda, const double *tau,
             double *work, const int *lwork, int *info);

// Cholesky factorisation of a symmetric positive definite matrix and the solve with it.
void dpotrf_(const char *uplo, const int *n, double *a, const int *lda, int *info);
void dpotrs_(const char *uplo, const int *n, const int *nrhs, const double *a, const int *lda, double *b,
             const int *ldb, int *info);

#endif
