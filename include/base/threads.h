// threads.h - how many threads the library uses, and how idle threads wait.
//
// Policy (issue 18):
//   - the default is the number of CPUs this process may run on (sched_getaffinity: a
//     container's or taskset's CPU set, not the machine's), capped by OMP_NUM_THREADS when that
//     is set to a positive number;
//   - an explicit count (--threads, HY_THREADS; parsed by the CLI) must be in 1..HY_MAX_THREADS;
//   - small pieces of work run on one thread (hy_threads_for): waking a second thread costs more
//     than it saves below a size measured on the development machine (see threads.c);
//   - idle threads sleep instead of spinning: OpenMP (libgomp) and OpenBLAS read their wait
//     settings from the environment once, when the process starts, so the CLI calls
//     hy_threads_quiet_env() first and re-executes itself when it had to set them.
#ifndef HY_THREADS_H
#define HY_THREADS_H

#define HY_MAX_THREADS 256

// CPUs in this process's affinity mask (at least 1), capped by OMP_NUM_THREADS (its first
// comma-separated value) when that is a positive integer.
int hy_threads_default(void);
// The thread count for OpenMP regions and OpenBLAS (n <= 0: hy_threads_default(); at most
// HY_MAX_THREADS). Also sets OpenBLAS's and OpenMP's own counts. Set once by the CLI from
// --threads / HY_THREADS; not meant to be called from inside a parallel region.
void hy_set_threads(int n);
int hy_get_threads(void);
// The calling thread's number in the enclosing OpenMP team (0 outside one, or without OpenMP).
int hy_thread_id(void);

// Below these sizes one thread is as fast as two or faster, measured on the development machine
// with idle threads sleeping (tests/bench/threads_small.c; waking a sleeping thread and joining
// it costs ~10-20 us): element-wise passes (a few flops per element, memory-bound) over fewer
// than HY_PAR_MIN_ELEMS elements, and compute-bound work (a matrix product) of fewer than
// HY_PAR_MIN_WORK multiply-adds. OpenMP loops use them in if() clauses.
#define HY_PAR_MIN_ELEMS 65536
#define HY_PAR_MIN_WORK 1e7
// Threads worth using for `work` multiply-adds: 1 below HY_PAR_MIN_WORK or inside a serial
// section, else hy_get_threads().
int hy_threads_for(double work);
// A serial section: until the matching end, OpenMP regions and OpenBLAS run on one thread and
// hy_threads_for returns 1 whatever the work. For code made of many short products
// where waking OpenBLAS's second thread costs more than it saves, above all when another process
// competes for the CPUs: MTCNN's detection (the dense layers over its crops, short element-wise
// passes over the pyramid) ran 1.07x faster on 2 threads of an idle machine and up to 1.4x slower
// than on one with a busy process beside it (tests/bench/threads.sh). Sections nest; not for use
// inside parallel regions.
void hy_threads_serial_begin(void);
void hy_threads_serial_end(void);
// OpenBLAS's thread count for the calls that follow: hy_threads_for(work). Returns the count in
// force before, to hand to hy_blas_threads_end after the calls. Not for code that runs inside
// threads of its own (FaceNet's batch lanes set OpenBLAS to 1 thread themselves).
int hy_blas_threads_begin(double work);
void hy_blas_threads_end(int previous);

// Sets OMP_WAIT_POLICY=passive and OPENBLAS_THREAD_TIMEOUT=4 (2^4 cycles of spinning before a
// worker sleeps; OpenBLAS's default is 2^28, ~0.1 s) where the user has not set them. Returns 1
// when it set one of them, i.e. when the process must re-execute itself for the runtimes to see
// them (they read the environment before main), 0 otherwise.
int hy_threads_quiet_env(void);

#endif
