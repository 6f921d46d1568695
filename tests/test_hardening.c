// test_hardening.c - nothing half-written survives a kill; single-byte corruption is caught.
//
// Kill tests: a long-running `hyper` command is started, SIGKILLed mid-way (as soon as its
// temporary output NAME.tmp.<pid> appears, or after a fixed time when it writes only at the
// end), and the output directory is checked: the final output name must not exist, the only
// leftovers allowed are NAME.tmp.<pid> files, and any other .npy present must be complete.
// Corruption test: single bytes of the data region of tests/fixtures/pggan_tiny.bin are
// flipped at a sample of positions; `hyper info` must report a checksum error every time.
// Limits: NIfTI and PNG headers promising huge images are rejected before allocating.
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <time.h>

#include <zlib.h>

#include "base/common.h"
#include "study/dataset.h"
#include "base/image_io.h"
#include "base/nifti.h"
#include "base/npy.h"
#include "testutil.h"

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void sleep_s(double s) {
    struct timespec ts = {(time_t)s, (long)((s - (time_t)s) * 1e9)};
    while (nanosleep(&ts, &ts) && errno == EINTR) {
    }
}

// 1 if dir holds an entry whose name contains ".tmp."
static int has_tmp(const char *dir) {
    DIR *d = opendir(dir);
    if (!d) return 0;
    struct dirent *e;
    int found = 0;
    while ((e = readdir(d)))
        if (strstr(e->d_name, ".tmp.")) found = 1;
    closedir(d);
    return found;
}

// Starts hyper with argv (NULL-terminated, without the program name), stdout/stderr to
// /dev/null. Waits until `watch_dir` holds a *.tmp.* entry (then `after_tmp_s` more) or
// `max_s` passed, then SIGKILLs it. Returns 1 if it was killed by the signal (still running),
// 0 if it exited by itself first, -1 on a fork error. *saw_tmp tells whether a tmp appeared.
static int run_and_kill(char *const *args, const char *watch_dir, double after_tmp_s, double max_s,
                        int *saw_tmp) {
    char *argv[32];
    int n = 0;
    argv[n++] = (char *)hyper_bin();
    for (int i = 0; args[i] && n < 31; i++) argv[n++] = args[i];
    argv[n] = NULL;
    pid_t pid = fork();
    if (pid < 0) return -1;
    if (pid == 0) {
        if (!freopen("/dev/null", "w", stdout) || !freopen("/dev/null", "w", stderr)) _exit(127);
        execv(argv[0], argv);
        _exit(127);
    }
    *saw_tmp = 0;
    double t0 = now_s();
    int st;
    while (now_s() - t0 < max_s) {
        if (waitpid(pid, &st, WNOHANG) == pid) return 0;  // finished before the kill
        if (watch_dir && has_tmp(watch_dir)) {
            *saw_tmp = 1;
            sleep_s(after_tmp_s);
            break;
        }
        sleep_s(0.002);
    }
    kill(pid, SIGKILL);
    waitpid(pid, &st, 0);
    return WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL;
}

// Checks a directory after a kill: `final` must not exist; every *.npy present must load;
// every other regular entry must be a NAME.tmp.<pid> leftover or listed in `allowed`.
static void check_leftovers(const char *dir, const char *final, const char *allowed) {
    char p[1200];
    snprintf(p, sizeof p, "%s/%s", dir, final);
    ck_assert_msg(!file_exists(p), "%s exists after the kill (looks complete but cannot be)", p);
    DIR *d = opendir(dir);
    ck_assert_ptr_nonnull(d);
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
        struct stat sb;
        ck_assert_int_eq(stat(p, &sb), 0);
        if (S_ISDIR(sb.st_mode)) continue;
        const char *t = strstr(e->d_name, ".tmp.");
        if (t) {  // NAME.tmp.<pid>: digits only after the marker
            for (const char *c = t + 5; *c; c++) ck_assert_msg(*c >= '0' && *c <= '9', "odd leftover %s", p);
            continue;
        }
        size_t L = strlen(e->d_name);
        if (L > 4 && !strcmp(e->d_name + L - 4, ".npy")) {
            npy_f64 a;
            int rc = hy_npy_read_f64(p, &a, 1);
            ck_assert_msg(rc == 0, "%s is left behind but does not load (half-written)", p);
            hy_npy_free_f64(&a);
            continue;
        }
        ck_assert_msg(allowed && strstr(allowed, e->d_name), "unexpected leftover %s", p);
    }
    closedir(d);
}

START_TEST(kill_generate_npy) {
    char *dir = test_tmpdir();
    char out[1100];
    snprintf(out, sizeof out, "%s/OUT.npy", dir);
    char *args[] = {"generate", "-g", "tests/fixtures/pggan_tiny.bin", "--seed", "1", "-n", "100000",
                    "--npy", out, "--no-png", "--threads", "1", NULL};
    int saw;
    // the tmp file appears when generation starts (header first, then one image at a time)
    int killed = run_and_kill(args, dir, 1.0, 30.0, &saw);
    ck_assert_msg(killed == 1, "generate -n 100000 was not running any more when killed");
    ck_assert_msg(saw, "generate never opened OUT.npy.tmp.<pid> within 30 s");
    check_leftovers(dir, "OUT.npy", NULL);
    ck_assert_int_eq(has_tmp(dir), 1);  // the partial stream is only under the tmp name
}
END_TEST

START_TEST(kill_simulate) {
    char *dir = test_tmpdir();
    char out[1100];
    snprintf(out, sizeof out, "%s/ds", dir);
    // big enough that writing train_fmri.npy (3000 x 4096 float32, 49 MB) takes a while
    char *args[] = {"simulate", "-o", out, "--train", "3000", "--test", "4", "--reps", "1", "--voxels", "4096",
                    "--latent-dim", "64", NULL};
    int saw;
    // kill as soon as a dataset file is being written (a tmp at the top level of ds/)
    int killed = run_and_kill(args, out, 0.0, 60.0, &saw);
    ck_assert_msg(killed == 1, "simulate finished before it could be killed");
    ck_assert_msg(saw, "simulate never started writing its dataset within 60 s");
    // whatever is there: no train_fmri.npy unless complete, the others complete if present
    check_leftovers(out, "train_fmri.npy", "truth");
}
END_TEST

START_TEST(kill_train) {
    char *dir = test_tmpdir();
    char *o = NULL;
    int rc = run_hyper(&o, "simulate -o %s/ds --train 200 --test 4 --reps 1 --voxels 512 --latent-dim 64", dir);
    ck_assert_msg(rc == 0, "simulate: %s", o);
    free(o);
    char ds[1100], dec[1100];
    snprintf(ds, sizeof ds, "%s/ds", dir);
    snprintf(dec, sizeof dec, "%s/dec.bin", dir);
    char *args[] = {"train", "-d", ds, "--model", "linear", "--epochs", "100000", "-o", dec, "--quiet", NULL};
    int saw;
    // the decoder is written once at the end, so kill after a fixed 1.5 s of training
    int killed = run_and_kill(args, dir, 0.0, 1.5, &saw);
    ck_assert_msg(killed == 1, "train --epochs 100000 finished within 1.5 s");
    check_leftovers(dir, "dec.bin", "ds");
}
END_TEST

static uint8_t *read_all(const char *path, size_t *n) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long L = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *b = malloc((size_t)L);
    if (b && fread(b, 1, (size_t)L, f) != (size_t)L) {
        free(b);
        b = NULL;
    }
    fclose(f);
    *n = (size_t)L;
    return b;
}

START_TEST(byte_flips_detected) {
    size_t n;
    uint8_t *b = read_all("tests/fixtures/pggan_tiny.bin", &n);
    ck_assert_ptr_nonnull(b);
    uint32_t hb = (uint32_t)b[12] | (uint32_t)b[13] << 8 | (uint32_t)b[14] << 16 | (uint32_t)b[15] << 24;
    ck_assert(hb >= 68 && hb < n);
    char *dir = test_tmpdir();
    char path[1100];
    snprintf(path, sizeof path, "%s/flip.bin", dir);
    // control: the unmodified copy passes
    FILE *f = fopen(path, "wb");
    ck_assert_uint_eq(fwrite(b, 1, n, f), n);
    fclose(f);
    char *o = NULL;
    ck_assert_int_eq(run_hyper(&o, "info %s", path), 0);
    free(o);
    // 40 positions spread over the data region (tensor bytes and zero padding), plus both ends
    const int K = 40;
    for (int k = 0; k <= K + 1; k++) {
        size_t pos = k == K + 1 ? n - 1 : hb + (size_t)((double)(n - 1 - hb) * k / K * 0.999);
        b[pos] ^= 0xFF;
        f = fopen(path, "wb");
        ck_assert_uint_eq(fwrite(b, 1, n, f), n);
        fclose(f);
        b[pos] ^= 0xFF;
        int rc = run_hyper(&o, "info %s", path);
        ck_assert_msg(rc != 0, "flipped byte at offset %zu not detected (exit 0)", pos);
        ck_assert_msg(strstr(o, "checksum mismatch") || strstr(o, "is not zero (file is corrupt)"),
                      "offset %zu: expected a checksum error naming the file, got: %s", pos, o);
        ck_assert_msg(strstr(o, path) != NULL, "error does not name the file: %s", o);
        free(o);
    }
    free(b);
}
END_TEST


// A small valid .nii with its dim[] patched afterwards: the header then promises far more data
// than the file holds. Written plain, or gzip-compressed when gz.
static void write_patched_nii(const char *path, const int16_t *dim8, int gz) {
    char plain[1100];
    snprintf(plain, sizeof plain, "%s.plain.nii", path);
    int64_t d[3] = {2, 2, 2};
    double v[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    ck_assert_int_eq(hy_nifti_write(plain, 3, d, NII_FLOAT32, v, 0, 0, 0), 0);
    FILE *f = fopen(plain, "r+b");
    ck_assert_ptr_nonnull(f);
    uint8_t h[384];
    size_t n = fread(h, 1, sizeof h, f);
    fclose(f);
    ck_assert_uint_eq(n, 352 + 8 * 4);
    for (int i = 0; i < 8; i++) {  // little-endian host writes little-endian by default
        h[40 + 2 * i] = (uint8_t)(dim8[i] & 0xff);
        h[41 + 2 * i] = (uint8_t)((uint16_t)dim8[i] >> 8);
    }
    if (gz) {
        gzFile g = gzopen(path, "wb");
        ck_assert_ptr_nonnull(g);
        ck_assert_int_eq(gzwrite(g, h, (unsigned)n), (int)n);
        gzclose(g);
    } else {
        f = fopen(path, "wb");
        ck_assert_uint_eq(fwrite(h, 1, n, f), n);
        fclose(f);
    }
    unlink(plain);
}

START_TEST(nifti_huge_dims_rejected_before_allocation) {
    char *dir = test_tmpdir();
    char p[1100];
    nifti_img img;
    // 32767^7 voxels: the product would overflow int64; rejected by NIFTI_MAX_VOXELS
    int16_t all[8] = {7, 32767, 32767, 32767, 32767, 32767, 32767, 32767};
    snprintf(p, sizeof p, "%s/huge.nii", dir);
    write_patched_nii(p, all, 0);
    ck_assert_int_ne(hy_nifti_read(p, &img), 0);
    ck_assert_msg(strstr(hy_errmsg(), "NIFTI_MAX_VOXELS") && strstr(hy_errmsg(), p), "%s", hy_errmsg());
    // 1000 x 1000 x 1000 float32 = 4 GB promised by a 384-byte file (plain and gzip)
    int16_t big[8] = {3, 1000, 1000, 1000, 1, 1, 1, 1};
    for (int gz = 0; gz < 2; gz++) {
        snprintf(p, sizeof p, "%s/big%s", dir, gz ? ".nii.gz" : ".nii");
        write_patched_nii(p, big, gz);
        ck_assert_int_ne(hy_nifti_read(p, &img), 0);
        ck_assert_msg(strstr(hy_errmsg(), "truncated: header promises 4000000000 bytes"), "%s", hy_errmsg());
        ck_assert_ptr_null(img.data);
    }
    // control: an honest small header still reads
    int16_t ok[8] = {3, 2, 2, 2, 1, 1, 1, 1};
    snprintf(p, sizeof p, "%s/ok.nii.gz", dir);
    write_patched_nii(p, ok, 1);
    ck_assert_int_eq(hy_nifti_read(p, &img), 0);
    ck_assert(img.nvox == 8 && img.data[7] == 8);
    hy_nifti_free(&img);
}
END_TEST

START_TEST(dataset_ndim_message) {
    // regression: the error used to report "found 0 dimensions" (read after npy_free_f64)
    char *dir = test_tmpdir();
    char p[1100];
    snprintf(p, sizeof p, "%s/a.npy", dir);
    int64_t dims[3] = {2, 2, 2};
    double v[8] = {0};
    ck_assert_int_eq(hy_npy_write_f64(p, 3, dims, v), 0);
    double *m = NULL;
    int r, c;
    ck_assert_int_ne(hy_ds_read_matrix(p, &m, &r, &c), 0);
    ck_assert_msg(strstr(hy_errmsg(), "found 3 dimensions"), "%s", hy_errmsg());
    ck_assert_ptr_null(m);
}
END_TEST

static size_t put_chunk(uint8_t *o, const char *type, const uint8_t *d, uint32_t n) {
    o[0] = (uint8_t)(n >> 24), o[1] = (uint8_t)(n >> 16), o[2] = (uint8_t)(n >> 8), o[3] = (uint8_t)n;
    memcpy(o + 4, type, 4);
    if (n) memcpy(o + 8, d, n);
    uint32_t c = (uint32_t)crc32(0L, o + 4, 4 + n);
    o[8 + n] = (uint8_t)(c >> 24), o[9 + n] = (uint8_t)(c >> 16), o[10 + n] = (uint8_t)(c >> 8), o[11 + n] = (uint8_t)c;
    return 12 + n;
}

START_TEST(png_huge_header_rejected_before_allocation) {
    // a 16000 x 16000 RGB header (768 MB of pixels, under HY_PNG_MAX_PIXELS) in a 66-byte file
    uint8_t png[256], ihdr[13] = {0, 0, 0x3e, 0x80, 0, 0, 0x3e, 0x80, 8, 2, 0, 0, 0};
    uint8_t idat[16];
    uLongf zl = sizeof idat;
    uint8_t row0[1] = {0};
    ck_assert_int_eq(compress(idat, &zl, row0, 1), Z_OK);
    memcpy(png, "\x89PNG\r\n\x1a\n", 8);
    size_t n = 8;
    n += put_chunk(png + n, "IHDR", ihdr, 13);
    n += put_chunk(png + n, "IDAT", idat, (uint32_t)zl);
    n += put_chunk(png + n, "IEND", NULL, 0);
    int w, h;
    uint8_t *rgb = NULL;
    ck_assert_int_ne(hy_png_decode_rgb8("huge.png", png, n, &w, &h, &rgb), 0);
    ck_assert_msg(strstr(hy_errmsg(), "huge.png: corrupt PNG: truncated: a 16000x16000 image cannot fit"), "%s",
                  hy_errmsg());
    ck_assert_ptr_null(rgb);
    char *dir = test_tmpdir();
    char p[1100];
    snprintf(p, sizeof p, "%s/huge.png", dir);
    FILE *f = fopen(p, "wb");
    ck_assert_uint_eq(fwrite(png, 1, n, f), n);
    fclose(f);
}
END_TEST

static Suite *hardening_suite(void) {
    Suite *s = suite_create("hardening");
    TCase *tc = tcase_create("kill");
    tcase_set_timeout(tc, 180);
    tcase_add_test(tc, kill_generate_npy);
    tcase_add_test(tc, kill_simulate);
    tcase_add_test(tc, kill_train);
    suite_add_tcase(s, tc);
    TCase *tc2 = tcase_create("corruption");
    tcase_set_timeout(tc2, 120);
    tcase_add_test(tc2, byte_flips_detected);
    suite_add_tcase(s, tc2);
    TCase *tc3 = tcase_create("limits");
    tcase_add_test(tc3, nifti_huge_dims_rejected_before_allocation);
    tcase_add_test(tc3, dataset_ndim_message);
    tcase_add_test(tc3, png_huge_header_rejected_before_allocation);
    suite_add_tcase(s, tc3);
    return s;
}

TEST_MAIN(hardening_suite)
