// test_reliability.c - issue 19: no crash, no silent wrong number, no file clobbered.
//
// One test per defect found by trying to break `hyper` from the command line, the environment
// and the file system (each test is named after the defect's number in the issue): hostile
// environment values, symlinks and device nodes at output paths, partial outputs of failing
// commands, values that overflow float32, corrupt-but-checksummed weight files, unwritable
// standard output, FIFOs given as inputs, decompression bombs, strict .npy headers, messages.
// Every command is run through the shell, so the checks are on exit status, the one-line
// message and the files left behind.
#include <check.h>
#include <dirent.h>
#include <float.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>  // makedev
#include <unistd.h>
#include <zlib.h>

#include "base/common.h"
#include "base/image_io.h"
#include "base/nifti.h"
#include "base/npy.h"
#include "base/wfile.h"
#include "fuzz/fuzz_util.h"  // fz_wf_fix_crc
#include "models/facenet.h"
#include "models/mtcnn.h"
#include "study/dataset.h"
#include "study/report.h"
#include "study/sweep.h"
#include "testutil.h"

#define FX "tests/fixtures/"
#define G FX "pggan_tiny.bin"

static int one_line(const char *s) { return s[0] && strchr(s, '\n') == s + strlen(s) - 1; }

// Absolute paths of the hyper binary and of the repository root, for commands that cd first.
static const char *abs_hyper(void) {
    static char buf[4096];
    if (!buf[0]) ck_assert_ptr_nonnull(realpath(hyper_bin(), buf));
    return buf;
}
static const char *root(void) {
    static char buf[4096];
    if (!buf[0]) ck_assert_ptr_nonnull(getcwd(buf, sizeof buf));
    return buf;
}

// Runs a shell command line (`%H` is not special: pass hyper_bin() as an argument) and
// captures what it prints to its stdout (redirect stderr inside the line as needed).
static int run_sh(char **out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int run_sh(char **out, const char *fmt, ...) {
    char cmd[8192];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    FILE *p = popen(cmd, "r");
    if (!p) return -1;
    size_t cap = 4096, len = 0, r;
    char *buf = malloc(cap);
    while ((r = fread(buf + len, 1, cap - len - 1, p)) > 0) {
        len += r;
        if (cap - len < 2) buf = realloc(buf, cap *= 2);
    }
    buf[len] = 0;
    int st = pclose(p);
    if (out) *out = buf;
    else free(buf);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

// Names in dir (space-separated, sorted by readdir order) for messages; "" if empty.
static char *listing(const char *dir) {
    static char buf[4096];
    buf[0] = 0;
    DIR *d = opendir(dir);
    if (!d) return buf;
    struct dirent *e;
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
            snprintf(buf + strlen(buf), sizeof buf - strlen(buf), "%s ", e->d_name);
    closedir(d);
    return buf;
}

static void write_text(const char *path, const char *text) {
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    ck_assert_int_eq(fclose(f), 0);
}

static char *read_text(const char *path) {
    uint8_t *d;
    size_t n;
    ck_assert_msg(hy_read_file(path, &d, &n, 0) == 0, "%s", hy_errmsg());
    return (char *)d;
}

// --- 1. HY_THREADS ---------------------------------------------------------------------
// HY_THREADS=100000 made `generate` overflow libgomp's stack (segfault); 50000 printed
// libgomp's own error. Both are usage errors now, before any work (the lead's fix).
START_TEST(d01_hy_threads_is_bounded) {
    char *d = test_tmpdir(), *out;
    static const char *bad[] = {"100000", "50000", "0", "-3", "2x", "99999999999999999999"};
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        int rc = run_sh(&out, "HY_THREADS=%s %s generate -g %s --seed 1 -n 1 -o %s/x 2>&1", bad[k], hyper_bin(), G, d);
        ck_assert_msg(rc == 2 && strstr(out, "HY_THREADS: '") && one_line(out), "HY_THREADS=%s -> %d: %s", bad[k], rc,
                      out);
        free(out);
    }
    ck_assert_int_eq(dir_count(d), 0);
    ck_assert_int_eq(run_sh(&out, "HY_THREADS=2 %s generate -g %s --seed 1 -n 1 -o %s/x 2>&1", hyper_bin(), G, d), 0);
    free(out);
}
END_TEST

// --- 4. temp files never follow symlinks --------------------------------------------------
// `ln -s ../victim o.npy.tmp.$$; exec hyper generate ... --npy o.npy` overwrote ../victim.
START_TEST(d04_temp_files_do_not_follow_symlinks) {
    char *d = test_tmpdir(), *out, victim[600];
    snprintf(victim, sizeof victim, "%s/victim", d);
    write_text(victim, "precious\n");
    int rc = run_sh(&out, "cd %s && mkdir w && cd w && ln -s ../victim o.npy.tmp.$$ && exec %s generate -g %s/%s "
                    "--seed 1 -n 1 --npy o.npy 2>&1", d, abs_hyper(), root(), G);
    ck_assert_msg(rc == 1 && strstr(out, "o.npy: temporary file o.npy.tmp.") && strstr(out, "already exists") &&
                      one_line(out), "%d: %s", rc, out);
    free(out);
    char *v = read_text(victim);
    ck_assert_str_eq(v, "precious\n");
    free(v);
    char w[600];
    snprintf(w, sizeof w, "%s/w/o.npy", d);
    ck_assert(!file_exists(w));
    // a dangling symlink at the temp name is not followed either (O_EXCL)
    rc = run_sh(&out, "cd %s/w && rm -f o.npy.tmp.* && ln -s ../created o.npy.tmp.$$ && exec %s generate -g "
                "%s/%s --seed 1 -n 1 --npy o.npy 2>&1", d, abs_hyper(), root(), G);
    ck_assert_int_eq(rc, 1);
    free(out);
    snprintf(w, sizeof w, "%s/created", d);
    ck_assert(!file_exists(w));
    // a temp file created normally gets mode 0666 & ~umask, like any new file
    snprintf(w, sizeof w, "%s/m.npy", d);
    ck_assert_int_eq(run_sh(&out, "umask 027 && %s generate -g %s --seed 1 -n 1 --npy %s 2>&1", hyper_bin(), G, w), 0);
    free(out);
    struct stat sb;
    ck_assert_int_eq(stat(w, &sb), 0);
    ck_assert_int_eq(sb.st_mode & 0777, 0640);
}
END_TEST

// --- 5. device nodes, FIFOs and directories as outputs ------------------------------------
// `--npy /dev/null` (as root) replaced the device node by a regular file; now an existing
// output path that is not a regular file is refused before any work. A symlink to a regular
// file is replaced by the new file; the file it pointed to is untouched. The device case uses
// a node made in the test's folder (a twin of /dev/null, root only), never /dev/null itself:
// a regression would replace that one, not the machine's.
START_TEST(d05_non_regular_outputs_are_refused) {
    char *d = test_tmpdir(), *out, p[600];
    static const char *names[] = {"null.npy", "fifo.npy", "dir.npy"};
    static const char *kinds[] = {"a character device", "a FIFO", "a directory"};
    int made = 0;
    for (int k = 0; k < 3; k++) {
        snprintf(p, sizeof p, "%s/%s", d, names[k]);
        if (k == 0 && mknod(p, S_IFCHR | 0666, makedev(1, 3)) != 0) {
            printf("SKIP d05 device node: mknod needs root; the FIFO and directory cases still run\n");
            continue;
        }
        ck_assert_int_eq(k == 1 ? mkfifo(p, 0600) : k == 2 ? mkdir(p, 0700) : 0, 0);
        made++;
        int rc = run_hyper(&out, "generate -g %s --seed 1 -n 2 -o %s/pngs --npy %s", G, d, p);
        ck_assert_msg(rc == 1 && strstr(out, "exists and is") && strstr(out, kinds[k]) && one_line(out), "%s: %d: %s",
                      p, rc, out);
        free(out);
        struct stat sb;
        ck_assert_int_eq(lstat(p, &sb), 0);
        ck_assert_msg(!S_ISREG(sb.st_mode), "%s was replaced by a regular file", p);
    }
    ck_assert_msg(dir_count(d) == made, "left: %s", listing(d));  // the nodes made above, nothing else
    // -o DIR for images where a file of that name exists: refused by the directory check
    snprintf(p, sizeof p, "%s/file", d);
    write_text(p, "x");
    ck_assert_int_eq(run_hyper(&out, "generate -g %s --seed 1 -n 1 -o %s", G, p), 1);
    ck_assert_msg(strstr(out, "is not a directory") || strstr(out, "cannot create directory"), "%s", out);
    free(out);
    // a symlink to a regular file: replaced, the target kept
    char link[600], target[600];
    snprintf(target, sizeof target, "%s/target.npy", d);
    snprintf(link, sizeof link, "%s/link.npy", d);
    write_text(target, "old");
    ck_assert_int_eq(symlink("target.npy", link), 0);
    ck_assert_int_eq(run_hyper(&out, "generate -g %s --seed 1 -n 1 --npy %s", G, link), 0);
    free(out);
    char *t = read_text(target);
    ck_assert_str_eq(t, "old");
    free(t);
    struct stat sb;
    ck_assert_int_eq(lstat(link, &sb), 0);
    ck_assert(S_ISREG(sb.st_mode));
}
END_TEST

// --- 6. a failing command leaves none of its output ---------------------------------------
START_TEST(d06_failing_commands_leave_no_output) {
    char *d = test_tmpdir(), *out;
    // `generate -n 3 -o o8 --npy EXISTING_DIR` exited 1 and left 3 PNGs: now refused first
    int rc = run_sh(&out, "cd %s && mkdir ed && %s generate -g %s/%s --seed 1 -n 3 -o o8 --npy ed 2>&1", d,
                    abs_hyper(), root(), G);
    ck_assert_msg(rc == 1 && one_line(out), "%d: %s", rc, out);
    free(out);
    ck_assert_msg(dir_count(d) == 1, "left: %s", listing(d));  // only ed/
    // a full disk (here a file-size limit) half-way: the 16 PNGs written before are removed
    // again, and so is the output folder the command created
    rc = run_sh(&out, "cd %s && trap '' XFSZ && ulimit -f 40 && exec %s generate -g %s/%s --seed 1 -n 20 -o pngs "
                "--npy big.npy 2>&1", d, abs_hyper(), root(), G);
    ck_assert_msg(rc == 1 && strstr(out, "big.npy: write failed") && one_line(out), "%d: %s", rc, out);
    free(out);
    ck_assert_msg(dir_count(d) == 1, "left: %s", listing(d));
    // ... but a folder that existed before keeps what was in it, and only loses this run's files
    char keep[600];
    snprintf(keep, sizeof keep, "%s/pngs/mine.txt", d);
    ck_assert_int_eq(run_sh(&out, "mkdir %s/pngs", d), 0);
    free(out);
    write_text(keep, "mine");
    rc = run_sh(&out, "cd %s && trap '' XFSZ && ulimit -f 40 && exec %s generate -g %s/%s --seed 1 -n 20 -o pngs "
                "--npy big.npy 2>&1", d, abs_hyper(), root(), G);
    ck_assert_int_eq(rc, 1);
    free(out);
    char pd[600];
    snprintf(pd, sizeof pd, "%s/pngs", d);
    ck_assert_msg(dir_count(pd) == 1 && file_exists(keep), "left: %s", listing(pd));
    // `detect good.png corrupt.png --save-crops d` left the first crop
    wfile ref;
    ck_assert_int_eq(hy_wf_open(&ref, FX "mtcnn_golden.bin"), 0);
    const wf_tensor *im = hy_wf_find(&ref, "image");
    char good[600], bad[600], crops[600];
    snprintf(good, sizeof good, "%s/good.png", d);
    snprintf(bad, sizeof bad, "%s/corrupt.png", d);
    snprintf(crops, sizeof crops, "%s/crops", d);
    ck_assert_int_eq(hy_png_write_rgb8(good, (int)im->dims[1], (int)im->dims[0], im->data), 0);
    hy_wf_close(&ref);
    ck_assert_int_eq(run_sh(&out, "head -c 300 %s > %s", good, bad), 0);
    free(out);
    ck_assert_int_eq(run_hyper(&out, "detect -m %s %s --save-crops %s", FX "mtcnn_tiny.bin", good, crops), 0);
    free(out);
    ck_assert_int_eq(dir_count(crops), 1);  // the good image alone gives a crop
    ck_assert_int_eq(run_sh(&out, "rm -r %s", crops), 0);
    free(out);
    rc = run_hyper(&out, "detect -m %s %s %s --save-crops %s", FX "mtcnn_tiny.bin", good, bad, crops);
    ck_assert_msg(rc == 1 && strstr(out, "corrupt.png"), "%d: %s", rc, out);
    free(out);
    ck_assert_msg(!file_exists(crops), "left: %s", listing(crops));
}
END_TEST

// --- 11. standard output that cannot be written --------------------------------------------
// `hyper distance ... >/dev/full` (and info, detect, score) exited 0 with the output lost.
START_TEST(d11_stdout_write_errors_fail) {
    char *d = test_tmpdir(), *out, png[600];
    snprintf(png, sizeof png, "%s/a.png", d);
    uint8_t img[32 * 32 * 3];
    for (int i = 0; i < 32 * 32 * 3; i++) img[i] = (uint8_t)(i * 7);
    ck_assert_int_eq(hy_png_write_rgb8(png, 32, 32, img), 0);
    ck_assert_int_eq(run_hyper(&out, "simulate -o %s/sim --train 20 --test 4 --reps 1 --voxels 30 --latent-dim 8 "
                                     "--strong 2 -q", d), 0);
    free(out);
    char pred[600];
    snprintf(pred, sizeof pred, "%s/sim/test_latents.npy", d);
    const char *cmds[] = {"info " G, "distance -e " FX "facenet_tiny.bin --crop full A A", "detect -m " FX
                          "mtcnn_tiny.bin --tsv A", "score -d SIM --pred P --null 5", "--help", "info --help"};
    for (size_t k = 0; k < sizeof cmds / sizeof cmds[0]; k++) {
        char args[1024] = "", *o = args;
        for (const char *c = cmds[k]; *c; c++) {  // A -> the PNG, SIM -> the dataset, P -> predictions
            if (*c == 'A' && (c[1] == ' ' || !c[1])) o += sprintf(o, "%s", png);
            else if (!strncmp(c, "SIM", 3)) o += sprintf(o, "%s/sim", d), c += 2;
            else if (*c == 'P' && (c[1] == ' ' || !c[1])) o += sprintf(o, "%s", pred);
            else *o++ = *c, *o = 0;
        }
        int rc = run_sh(&out, "%s %s 2>&1 >/dev/full", hyper_bin(), args);
        ck_assert_msg(rc == 1 && strstr(out, "cannot write to standard output: "),
                      "hyper %s >/dev/full -> %d: %s", args, rc, out);
        free(out);
        ck_assert_int_eq(run_sh(&out, "%s %s >/dev/null 2>&1", hyper_bin(), args), 0);  // the same, writable
        free(out);
    }
    // a closed stdout is only an error for a command that had something to print there
    ck_assert_int_eq(run_sh(&out, "%s generate -g %s --seed 1 -n 1 --npy %s/g.npy -q 2>&1 >&-", hyper_bin(), G, d), 0);
    free(out);
    ck_assert_int_eq(run_sh(&out, "%s info %s 2>&1 >&-", hyper_bin(), G), 1);
    ck_assert_msg(strstr(out, "hyper info: cannot write to standard output: Bad file descriptor"), "%s", out);
    free(out);
}
END_TEST

// --- 12. FIFOs and other non-regular inputs --------------------------------------------------
// `mkfifo f; hyper info f` hung forever (open before the regular-file check); every reader
// now opens without blocking and refuses what is not a regular file.
START_TEST(d12_fifo_inputs_do_not_block) {
    char *d = test_tmpdir(), *out, f[600];
    snprintf(f, sizeof f, "%s/f", d);
    ck_assert_int_eq(mkfifo(f, 0600), 0);
    char sim[600];
    snprintf(sim, sizeof sim, "%s/sim", d);
    ck_assert_int_eq(run_hyper(&out, "simulate -o %s --train 20 --test 4 --reps 1 --voxels 30 --latent-dim 8 "
                                     "--strong 2 -q", sim), 0);
    free(out);
    // each reader in turn: weight file, .npy latents, PNG, NIfTI, dataset matrix (a FIFO named
    // like the dataset's file), decoder
    char cmds[6][4000];
    snprintf(cmds[0], 4000, "info %s", f);
    snprintf(cmds[1], 4000, "generate -g %s -z %s -o %s/o", G, f, d);
    snprintf(cmds[2], 4000, "embed -e %s --crop full %s -o %s/e.npy", FX "facenet_tiny.bin", f, d);
    snprintf(cmds[3], 4000, "extract --train-maps %s --test-maps %s --mask %s --train-latents %s/train_latents.npy "
             "--test-latents %s/test_latents.npy --select-top 2 -o %s/x", f, f, f, sim, sim, d);
    snprintf(cmds[4], 4000, "predict --decoder %s --fmri %s -o %s/p.npy", f, f, d);
    snprintf(cmds[5], 4000, "score -d %s --pred %s", sim, f);
    for (int k = 0; k < 6; k++) {
        int rc = run_sh(&out, "timeout 20 %s %s 2>&1", hyper_bin(), cmds[k]);
        ck_assert_msg(rc == 1 && strstr(out, "is a FIFO (named pipe); hyper reads only regular files") &&
                          one_line(out), "hyper %s -> %d: %s", cmds[k], rc, out);
        free(out);
    }
    // a directory and a device are named as such
    ck_assert_int_eq(run_hyper(&out, "info %s", d), 1);
    ck_assert_msg(strstr(out, "is a directory") && one_line(out), "%s", out);
    free(out);
    ck_assert_int_eq(run_hyper(&out, "info /dev/zero"), 1);
    ck_assert_msg(strstr(out, "/dev/zero: is a character device") && one_line(out), "%s", out);
    free(out);
    ck_assert_msg(dir_count(d) == 2, "left: %s", listing(d));  // f and sim/
}
END_TEST


// --- 13. allocations bounded by what the input can expand to -------------------------------
// A 65 KB .nii.gz reached 595 MB (the float64 copy of every voxel was outside the 1032x rule).
// Now a gzip volume must fit NIFTI_MAX_EXPANSION x the compressed size + NIFTI_FREE_BYTES,
// counting the stored bytes and the float64 copy, before anything is allocated. (The PNG
// reader's bound: tests/test_png_pillow.c; here it is checked through `hyper embed`.)
static void write_gz_volume(const char *path, int nx, int ny, int nz) {
    uint8_t h[352] = {0};
    int32_t szh = 348;
    memcpy(h, &szh, 4);
    int16_t dim[8] = {3, (int16_t)nx, (int16_t)ny, (int16_t)nz, 1, 1, 1, 1}, dt = 2, bp = 8;  // uint8
    memcpy(h + 40, dim, 16);
    memcpy(h + 70, &dt, 2);
    memcpy(h + 72, &bp, 2);
    float vox = 352, one = 1;
    memcpy(h + 108, &vox, 4);
    memcpy(h + 112, &one, 4);
    memcpy(h + 344, "n+1", 4);
    gzFile g = gzopen(path, "wb9");
    ck_assert_ptr_nonnull(g);
    ck_assert_int_eq(gzwrite(g, h, sizeof h), (int)sizeof h);
    static uint8_t zeros[1 << 20];
    for (size_t left = (size_t)nx * ny * nz; left > 0;) {
        const unsigned c = left > sizeof zeros ? (unsigned)sizeof zeros : (unsigned)left;
        ck_assert_int_eq(gzwrite(g, zeros, c), (int)c);
        left -= c;
    }
    ck_assert_int_eq(gzclose(g), Z_OK);
}

START_TEST(d13_decompression_bombs_are_refused) {
    char *d = test_tmpdir(), *out, p[600];
    snprintf(p, sizeof p, "%s/bomb.nii.gz", d);
    write_gz_volume(p, 512, 512, 256);  // 67 M voxels of zeros, about 65 KB compressed
    struct stat sb;
    ck_assert_int_eq(stat(p, &sb), 0);
    ck_assert_msg(sb.st_size < 100000, "%lld bytes", (long long)sb.st_size);
    nifti_img img;
    ck_assert_int_eq(hy_nifti_read(p, &img), HY_ENOMEM);
    ck_assert_ptr_null(img.data);
    ck_assert_msg(strstr(hy_errmsg(), "bomb.nii.gz: 67108864 voxels need 576 MB to read, more than 1032 x the") &&
                      strstr(hy_errmsg(), "refused as a decompression bomb"), "%s", hy_errmsg());
    // a mask-sized volume that compresses as well is still read (within the 64 MB allowance)
    snprintf(p, sizeof p, "%s/mask.nii.gz", d);
    write_gz_volume(p, 91, 109, 91);
    ck_assert_msg(hy_nifti_read(p, &img) == 0, "%s", hy_errmsg());
    ck_assert_int_eq(img.nvox, 91 * 109 * 91);
    hy_nifti_free(&img);
    // the PNG bound through a command: a 16384x16384 1-bit PNG of ~33 KB
    snprintf(p, sizeof p, "%s/bomb.png", d);
    size_t len;
    uint8_t *png = test_bilevel_png(16384, 16384, &len);
    FILE *f = fopen(p, "wb");
    ck_assert(f && fwrite(png, 1, len, f) == len && fclose(f) == 0);
    free(png);
    ck_assert_int_eq(run_hyper(&out, "embed -e %s --crop full %s -o %s/e.npy", FX "facenet_tiny.bin", p, d), 1);
    ck_assert_msg(strstr(out, "bomb.png: corrupt PNG: a 16384x16384 image (768 MB as RGB)") && one_line(out), "%s",
                  out);
    free(out);
}
END_TEST


// --- 7. float64 inputs that overflow float32 --------------------------------------------------
// 1e300 in train_fmri.npy made `train --model ols` exit 0 with "training MSE -nan" and zero
// weights; in test_fmri.npy `predict` wrote non-finite predictions; extract with scl_slope
// 3e38 wrote Inf; simulate --gain-strong 1.7e308 wrote NaN. Each value is now checked after
// conversion to float32 (the type the data is used and written in).
static void set_f64(const char *path, int row, int col, double v) {
    npy_f64 a;
    ck_assert_msg(hy_npy_read_f64(path, &a, 0) == 0, "%s", hy_errmsg());
    a.data[(size_t)row * a.dims[1] + col] = v;
    ck_assert_int_eq(hy_npy_write_f64(path, 2, a.dims, a.data), 0);
    hy_npy_free_f64(&a);
}

START_TEST(d07_float32_overflow_is_caught) {
    char *d = test_tmpdir(), *out, p[600];
    ck_assert_int_eq(run_hyper(&out, "simulate -o %s/ok --train 40 --test 6 --reps 1 --voxels 30 --latent-dim 8 "
                                     "--strong 2 -q", d), 0);
    free(out);
    ck_assert_int_eq(run_sh(&out, "cp -r %s/ok %s/big", d, d), 0);
    free(out);
    snprintf(p, sizeof p, "%s/big/train_fmri.npy", d);
    set_f64(p, 1, 2, 1e300);
    int rc = run_hyper(&out, "train -d %s/big --model ols -o %s/ols.bin", d, d);
    ck_assert_msg(rc == 1 && strstr(out, "train_fmri.npy: non-finite value at row 1, column 2: 1e+300 is beyond "
                                         "float32's range") && one_line(out), "%d: %s", rc, out);
    free(out);
    // the same value used to reach Adam as "diverged ... lower --lr" (issue 19 #15)
    rc = run_hyper(&out, "train -d %s/big --model linear --epochs 2 -o %s/lin.bin", d, d);
    ck_assert_msg(rc == 1 && strstr(out, "beyond float32's range") && !strstr(out, "diverged"), "%d: %s", rc, out);
    free(out);
    ck_assert(!file_exists("ols.bin"));
    // predict on test data holding 1e300, with a decoder trained on clean data
    ck_assert_int_eq(run_hyper(&out, "train -d %s/ok --model ridge -o %s/r.bin -q", d, d), 0);
    free(out);
    snprintf(p, sizeof p, "%s/big/test_fmri.npy", d);
    set_f64(p, 0, 0, -1e300);
    rc = run_hyper(&out, "predict --decoder %s/r.bin -d %s/big -o %s/pred.npy", d, d, d);
    ck_assert_msg(rc == 1 && strstr(out, "test_fmri.npy: non-finite value at row 0, column 0: -1e+300") &&
                      one_line(out), "%d: %s", rc, out);
    free(out);
    snprintf(p, sizeof p, "%s/pred.npy", d);
    ck_assert(!file_exists(p));
    // a value inside float32's range is still accepted
    snprintf(p, sizeof p, "%s/big/test_fmri.npy", d);
    set_f64(p, 0, 0, 3e38);
    ck_assert_int_eq(run_hyper(&out, "predict --decoder %s/r.bin -d %s/big -o %s/pred.npy -q", d, d, d), 0);
    free(out);
    // extract: maps whose scl_slope 3e38 scales the values past float32
    int64_t dm[4] = {2, 2, 1, 3}, dk[3] = {2, 2, 1};
    double maps[12], mask[4] = {1, 1, 1, 1};
    for (int i = 0; i < 12; i++) maps[i] = 1 + i;
    snprintf(p, sizeof p, "%s/maps.nii", d);
    ck_assert_int_eq(hy_nifti_write(p, 4, dm, NII_INT16, maps, 3e38, 0, 0), 0);
    snprintf(p, sizeof p, "%s/mask.nii", d);
    ck_assert_int_eq(hy_nifti_write(p, 3, dk, NII_UINT8, mask, 0, 0, 0), 0);
    npy_f32 lat = {0};
    int64_t ld[2] = {3, 8};
    float lv[24] = {0};
    snprintf(p, sizeof p, "%s/lat.npy", d);
    ck_assert_int_eq(hy_npy_write_f32(p, 2, ld, lv), 0);
    (void)lat;
    rc = run_hyper(&out, "extract --train-maps %s/maps.nii --test-maps %s/maps.nii --mask %s/mask.nii "
                   "--train-latents %s/lat.npy --test-latents %s/lat.npy --select-top 2 -o %s/ex", d, d, d, d, d, d);
    ck_assert_msg(rc == 1 && strstr(out, "maps.nii: value ") && strstr(out, "beyond float32's range (check "
                                                                             "scl_slope)") && one_line(out),
                  "%d: %s", rc, out);
    free(out);
    snprintf(p, sizeof p, "%s/ex", d);
    ck_assert(!file_exists(p));
    // simulate: a gain that overflows is refused by the option's range; and whatever reaches the
    // dataset writer non-finite is refused there (library check)
    rc = run_hyper(&out, "simulate -o %s/s2 --gain-strong 1.7e308 --train 4 --test 2 --reps 1 --voxels 5 "
                   "--latent-dim 2 --strong 1", d);
    ck_assert_msg(rc == 2 && strstr(out, "--gain-strong: '1.7e308' must be <=") && one_line(out), "%d: %s", rc, out);
    free(out);
    double m[4] = {1, 2, 1e39, 4};
    snprintf(p, sizeof p, "%s/m.npy", d);
    ck_assert_int_eq(hy_ds_write_f32(p, m, 2, 2), HY_EVALUE);
    ck_assert_msg(strstr(hy_errmsg(), "m.npy: value 1e+39 at row 1, column 0 is beyond float32's range"), "%s",
                  hy_errmsg());
    ck_assert(!file_exists(p));
}
END_TEST

// --- 9. weight files: extra tensors, config that contradicts the tensors, NaN with a valid CRC --
// Copies src to dst, dropping nothing, overriding the int config key `key` with `val` (when
// key is non-NULL) and adding a tensor `extra` (when non-NULL).
static void rewrite(const char *src, const char *dst, const char *key, int64_t val, const char *extra) {
    wfile wf;
    ck_assert_msg(hy_wf_open(&wf, src) == 0, "%s", hy_errmsg());
    wf_writer *w = hy_wf_writer_new(wf.kind);
    for (uint32_t i = 0; i < wf.n_config; i++) {
        const wf_kv *kv = &wf.config[i];
        switch (kv->type) {
        case WF_CFG_INT: hy_wf_writer_int(w, kv->key, key && !strcmp(kv->key, key) ? val : kv->i); break;
        case WF_CFG_FLOAT: hy_wf_writer_float(w, kv->key, kv->f); break;
        case WF_CFG_STR: hy_wf_writer_str(w, kv->key, kv->s); break;
        case WF_CFG_INTS: hy_wf_writer_ints(w, kv->key, kv->ints, kv->count); break;
        default: hy_wf_writer_floats(w, kv->key, kv->floats, kv->count); break;
        }
    }
    for (uint32_t i = 0; i < wf.n_tensors; i++) {
        const wf_tensor *t = &wf.tensors[i];
        hy_wf_writer_tensor(w, t->name, t->dtype, t->ndim, t->dims, t->data);
    }
    static const float one[2] = {1, 2};
    if (extra) hy_wf_writer_tensor(w, extra, WF_F32, 1, (int64_t[]){2}, one);
    ck_assert_msg(hy_wf_writer_save(w, dst) == 0, "%s", hy_errmsg());
    hy_wf_writer_free(w);
    hy_wf_close(&wf);
}

// Copies src to dst with element k of tensor `name` set to v and every CRC recomputed, so that
// only the value checks can notice (a NaN) or the checksums differ (any other change).
static void set_weight(const char *src, const char *dst, const char *name, size_t k, float v) {
    uint8_t *b;
    size_t n;
    ck_assert_int_eq(hy_read_file(src, &b, &n, 0), 0);
    wfile wf;
    ck_assert_int_eq(hy_wf_open(&wf, src), 0);
    const wf_tensor *t = hy_wf_find(&wf, name);
    ck_assert_ptr_nonnull(t);
    memcpy(b + t->offset + 4 * k, &v, 4);
    hy_wf_close(&wf);
    fz_wf_fix_crc(b, n);
    FILE *f = fopen(dst, "wb");
    ck_assert(f && fwrite(b, 1, n, f) == n && fclose(f) == 0);
    free(b);
}
#define nan_weight(src, dst, name, k) set_weight(src, dst, name, k, NAN)

START_TEST(d09_loaders_refuse_extra_contradicting_and_nan_tensors) {
    char *d = test_tmpdir(), *out, p[600], q[600];
    ck_assert_int_eq(run_hyper(&out, "simulate -o %s/sim --train 40 --test 6 --reps 1 --voxels 30 --latent-dim 8 "
                                     "--strong 2 -q", d), 0);
    free(out);
    ck_assert_int_eq(run_hyper(&out, "train -d %s/sim --model ridge -o %s/r.bin -q", d, d), 0);
    free(out);
    ck_assert_int_eq(run_hyper(&out, "train -d %s/sim --model ridge --zscore -o %s/rz.bin -q", d, d), 0);
    free(out);
    static const struct {
        const char *src, *key;
        int64_t val;
        const char *extra, *needle;
    } cases[] = {
        {"r.bin", NULL, 0, "layers.7.weight",
         "unexpected tensor 'layers.7.weight' (not part of a 1-layer decoder with bias=1, zscore=0)"},
        {"r.bin", "bias", 0, NULL, "unexpected tensor 'layers.0.bias' (not part of a 1-layer decoder with bias=0"},
        {"rz.bin", "zscore", 0, NULL, "unexpected tensor 'zscore.mean' (not part of a 1-layer decoder with bias=1, "
                                      "zscore=0)"},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        snprintf(p, sizeof p, "%s/%s", d, cases[k].src);
        snprintf(q, sizeof q, "%s/bad%zu.bin", d, k);
        rewrite(p, q, cases[k].key, cases[k].val, cases[k].extra);
        int rc = run_hyper(&out, "predict --decoder %s -d %s/sim -o %s/p.npy", q, d, d);
        ck_assert_msg(rc == 1 && strstr(out, cases[k].needle) && one_line(out), "case %zu: %d: %s", k, rc, out);
        free(out);
    }
    // the same rewrite without a change loads: the refusals above are the changes' doing
    snprintf(p, sizeof p, "%s/r.bin", d);
    snprintf(q, sizeof q, "%s/same.bin", d);
    rewrite(p, q, NULL, 0, NULL);
    ck_assert_int_eq(run_hyper(&out, "predict --decoder %s -d %s/sim -o %s/p.npy -q", q, d, d), 0);
    free(out);
    // MTCNN and PGGAN files with an extra tensor
    snprintf(q, sizeof q, "%s/m.bin", d);
    rewrite(FX "mtcnn_tiny.bin", q, NULL, 0, "onet.dense7.weight");
    mtcnn_model mt;
    ck_assert_int_eq(hy_mtcnn_load(&mt, q), HY_EFORMAT);
    ck_assert_msg(strstr(hy_errmsg(), "unexpected tensor 'onet.dense7.weight'"), "%s", hy_errmsg());
    snprintf(q, sizeof q, "%s/g.bin", d);
    rewrite(G, q, NULL, 0, "64x64.conv0.weight");
    ck_assert_int_eq(run_hyper(&out, "generate -g %s --seed 1 -n 1 --npy %s/x.npy", q, d), 1);
    ck_assert_msg(strstr(out, "unexpected tensor '64x64.conv0.weight' (not part of a PGGAN generator)"), "%s", out);
    free(out);
    // NaN weights with valid checksums: `generate --npy` wrote NaN and exited 0
    snprintf(q, sizeof q, "%s/gnan.bin", d);
    nan_weight(G, q, "8x8.conv1.weight", 17);
    ck_assert_int_eq(run_hyper(&out, "info %s", q), 0);  // the file itself is intact
    free(out);
    int rc = run_hyper(&out, "generate -g %s --seed 1 -n 1 --npy %s/x.npy", q, d);
    ck_assert_msg(rc == 1 && strstr(out, "tensor '8x8.conv1.weight' element 17 is NaN") && one_line(out), "%d: %s",
                  rc, out);
    free(out);
    snprintf(p, sizeof p, "%s/x.npy", d);
    ck_assert(!file_exists(p));
    snprintf(q, sizeof q, "%s/fnan.bin", d);
    nan_weight(FX "facenet_tiny.bin", q, "last_linear.bias", 3);
    facenet fn;
    ck_assert_int_eq(hy_facenet_load(&fn, q), HY_EVALUE);
    ck_assert_msg(strstr(hy_errmsg(), "'last_linear.bias' element 3 is NaN"), "%s", hy_errmsg());
    snprintf(q, sizeof q, "%s/mnan.bin", d);
    nan_weight(FX "mtcnn_tiny.bin", q, "rnet.prelu2.weight", 0);
    ck_assert_int_eq(hy_mtcnn_load(&mt, q), HY_EVALUE);
    ck_assert_msg(strstr(hy_errmsg(), "'rnet.prelu2.weight' element 0 is NaN"), "%s", hy_errmsg());
    snprintf(p, sizeof p, "%s/r.bin", d);
    snprintf(q, sizeof q, "%s/rnan.bin", d);
    nan_weight(p, q, "layers.0.weight", 5);
    ck_assert_int_eq(run_hyper(&out, "predict --decoder %s -d %s/sim -o %s/p2.npy", q, d, d), 1);
    ck_assert_msg(strstr(out, "'layers.0.weight' element 5 is NaN") && one_line(out), "%s", out);
    free(out);
    // and the C writer refuses to write such a file in the first place
    wf_writer *w = hy_wf_writer_new("decoder");
    float bad[3] = {1, INFINITY, 2};
    ck_assert_int_eq(hy_wf_writer_tensor(w, "x", WF_F32, 1, (int64_t[]){3}, bad), 0);
    snprintf(q, sizeof q, "%s/inf.bin", d);
    ck_assert_int_eq(hy_wf_writer_save(w, q), HY_EVALUE);
    ck_assert_msg(strstr(hy_errmsg(), "inf.bin: tensor 'x' element 1 is Inf; not written"), "%s", hy_errmsg());
    hy_wf_writer_free(w);
    ck_assert(!file_exists(q));
}
END_TEST

// --- 15. messages, exit codes and the .npy header -----------------------------------------------
// Writes a version-1 .npy with the given header text and n float32 zeros.
static void write_npy_header(const char *path, const char *header, int n) {
    size_t hl = strlen(header), pad = (64 - (10 + hl + 1) % 64) % 64, total = hl + pad + 1;
    FILE *f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    uint8_t pre[10] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, (uint8_t)(total & 0xff), (uint8_t)(total >> 8)};
    fwrite(pre, 1, 10, f);
    fputs(header, f);
    for (size_t i = 0; i < pad; i++) fputc(' ', f);
    fputc('\n', f);
    float z = 0;
    for (int i = 0; i < n; i++) fwrite(&z, 4, 1, f);
    ck_assert_int_eq(fclose(f), 0);
}

START_TEST(d15_messages_exit_codes_and_npy_headers) {
    char *d = test_tmpdir(), *out, p[600];
    // headers numpy refuses (or reads differently: a key given twice) are refused too; the
    // valid spellings numpy writes or accepts still load
    static const struct {
        const char *header, *needle;  // needle NULL: must load
    } h[] = {
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }", NULL},
        {"{\"descr\": \"<f4\", \"fortran_order\": False, \"shape\": (2,)}", NULL},
        {"  {'descr': '<f4', 'fortran_order': False, 'shape': (1, 2)}", NULL},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (2,), 'extra': 1}", "unexpected key 'extra'"},
        {"{'descr': '<f8', 'descr': '<f4', 'fortran_order': False, 'shape': (2,)}", "duplicate key 'descr'"},
        {"{'descr': '<f4', 'fortran_order': False}", "key 'shape' is missing"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (2)}", "shape (2) is not a tuple"},
        {"{'descr': '<f4', 'fortran_order': 0, 'shape': (2,)}", "fortran_order is not True or False"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (2,)} junk", "text after the dict"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (2, 'a')}", "shape is not a tuple of integers"},
    };
    for (size_t k = 0; k < sizeof h / sizeof h[0]; k++) {
        snprintf(p, sizeof p, "%s/h%zu.npy", d, k);
        write_npy_header(p, h[k].header, 2);
        npy_f32 a;
        int rc = hy_npy_read_f32(p, &a, 0);
        if (!h[k].needle) {
            ck_assert_msg(rc == 0 && a.size == 2, "%s: %s", h[k].header, hy_errmsg());
            hy_npy_free_f32(&a);
        } else {
            ck_assert_msg(rc == HY_EFORMAT && strstr(hy_errmsg(), "bad .npy header: ") &&
                              strstr(hy_errmsg(), h[k].needle), "%s: %s", h[k].header, hy_errmsg());
        }
    }
    // a header over 1 MiB was reported as "truncated .npy header"
    snprintf(p, sizeof p, "%s/big.npy", d);
    FILE *f = fopen(p, "wb");
    uint8_t pre[12] = {0x93, 'N', 'U', 'M', 'P', 'Y', 2, 0, 0, 0, 0x20, 0};  // v2, header 2 MiB
    fwrite(pre, 1, 12, f);
    for (int i = 0; i < (2 << 20) + 8; i++) fputc(' ', f);
    fclose(f);
    npy_f32 a;
    ck_assert_int_eq(hy_npy_read_f32(p, &a, 0), HY_EFORMAT);
    ck_assert_msg(strstr(hy_errmsg(), "big.npy: .npy header of 2097152 bytes is over the limit of 1048576 (1 MiB)"),
                  "%s", hy_errmsg());
    // option values: tiny numbers are numbers, bad ones are usage errors (exit 2) naming the option
    ck_assert_int_eq(run_hyper(&out, "simulate -o %s/sim --train 40 --test 6 --reps 1 --voxels 30 --latent-dim 8 "
                                     "--strong 2 -q", d), 0);
    free(out);
    int rc = run_hyper(&out, "train -d %s/sim --model ridge --alpha 1e-308 -o %s/a.bin -q", d, d);
    ck_assert_msg(rc == 0, "--alpha 1e-308: %d: %s", rc, out);
    free(out);
    rc = run_hyper(&out, "train -d %s/sim --model ridge --alpha-min -1 -o %s/a.bin", d, d);
    ck_assert_msg(rc == 2 && strstr(out, "--alpha-min: '-1' must be > 0") && !strstr(out, "nan") && one_line(out),
                  "%d: %s", rc, out);
    free(out);
    // a 2-D mask (x, y) was reported as "(4x4x0)"; it is the (x, y, 1) volume it describes
    int64_t dm[4] = {4, 4, 1, 3}, dk2[2] = {4, 4}, dk3[3] = {5, 4, 1};
    double maps[48], mask[20];
    for (int i = 0; i < 48; i++) maps[i] = i % 7;
    for (int i = 0; i < 20; i++) mask[i] = 1;
    snprintf(p, sizeof p, "%s/maps.nii", d);
    ck_assert_int_eq(hy_nifti_write(p, 4, dm, NII_FLOAT32, maps, 0, 0, 0), 0);
    snprintf(p, sizeof p, "%s/mask2.nii", d);
    ck_assert_int_eq(hy_nifti_write(p, 2, dk2, NII_UINT8, mask, 0, 0, 0), 0);
    snprintf(p, sizeof p, "%s/mask3.nii", d);
    ck_assert_int_eq(hy_nifti_write(p, 3, dk3, NII_UINT8, mask, 0, 0, 0), 0);
    int64_t ld[2] = {3, 8};
    float lv[24] = {0};
    snprintf(p, sizeof p, "%s/lat.npy", d);
    ck_assert_int_eq(hy_npy_write_f32(p, 2, ld, lv), 0);
    rc = run_hyper(&out, "extract --train-maps %s/maps.nii --test-maps %s/maps.nii --mask %s/mask2.nii "
                   "--train-latents %s/lat.npy --test-latents %s/lat.npy --select-top 3 -o %s/ex2 -q", d, d, d, d, d, d);
    ck_assert_msg(rc == 0, "2-D mask: %d: %s", rc, out);
    free(out);
    rc = run_hyper(&out, "extract --train-maps %s/maps.nii --test-maps %s/maps.nii --mask %s/mask3.nii "
                   "--train-latents %s/lat.npy --test-latents %s/lat.npy --select-top 3 -o %s/ex3", d, d, d, d, d, d);
    ck_assert_msg(rc == 1 && strstr(out, "volume 4x4x1 does not match mask") && strstr(out, "(5x4x1)") &&
                      one_line(out), "%d: %s", rc, out);
    free(out);
}
END_TEST


// --- 2. grids over the run limit --------------------------------------------------------------
// A grid over 1,024 runs silently kept the first 1,024, dropping the closed-form models.
START_TEST(d02_oversized_grid_is_refused) {
    char *d = test_tmpdir(), *out;
    int rc = run_hyper(&out, "sweep -d %s/none -g %s -e %s -o %s/res --models linear,linear-nobias,mlp "
                       "--epochs 1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31,32 "
                       "--batch 1,2,3,4,5,6,7,8,9,10,11", d, G, FX "facenet_tiny.bin", d);
    ck_assert_msg(rc == 2 && strstr(out, "the grid has 1059 runs (3 models x 11 batch sizes x 1 seeds x 32 epoch "
                                         "counts + 3 closed-form), more than the 1024 one sweep holds") && one_line(out),
                  "%d: %s", rc, out);
    free(out);
    ck_assert_int_eq(dir_count(d), 0);
    // the library says the same to any caller
    sweep_opts o;
    hy_sweep_defaults(&o);
    o.n_models = 3;  // the default grid's first three iterative models
    o.n_epochs = 32;
    o.n_batches = 11;
    ck_assert_int_eq(hy_sweep_runs(&o, NULL, SWEEP_MAX_RUNS), HY_EARG);
    o.n_batches = 10;  // 3 x 32 x 10 + 3 = 963 fits
    ck_assert_int_eq(hy_sweep_runs(&o, NULL, SWEEP_MAX_RUNS), 963);
}
END_TEST

// --- 3. resuming records every setting exactly ---------------------------------------------
// setup.txt and gt/key.txt did not record the MTCNN detector file, and lr was written with %g:
// a sweep resumed with another --mtcnn, or with --lr 0.0010000004 after --lr 0.001, mixed runs.
#define SWEEP_TINY "sweep -d %s/sim -e " FX "facenet_tiny.bin -o %s/res --models linear --epochs 1 " \
                   "--closed '' --null 0 --threads 1 -q"
START_TEST(d03_resume_records_detector_and_exact_lr) {
    char *d = test_tmpdir(), *out, p[600], det2[600];
    ck_assert_int_eq(run_hyper(&out, "simulate -o %s/sim --train 40 --test 4 --voxels 64 --seed 5 -q", d), 0);
    free(out);
    int rc = run_hyper(&out, SWEEP_TINY " -g " G " --crop mtcnn -m %s --lr 0.001", d, d, FX "mtcnn_tiny.bin");
    ck_assert_msg(rc == 0, "%s", out);
    free(out);
    snprintf(p, sizeof p, "%s/res/setup.txt", d);
    char *setup = read_text(p);
    ck_assert_msg(strstr(setup, "crop=mtcnn(on-no-face=fallback-full,detector_crc=") && strstr(setup, " lr=0.001 "),
                  "%s", setup);
    // the generator's checksum is the file's, also where the loader releases the file's buffer
    // (all convs packed; it read 00000000 there)
    ck_assert_msg(strstr(setup, "generator_crc=") && !strstr(setup, "generator_crc=00000000"), "%s", setup);
    free(setup);
    snprintf(det2, sizeof det2, "%s/g2.bin", d);
    set_weight(G, det2, "torgb.bias", 1, 0.125f);
    rc = run_hyper(&out, SWEEP_TINY " -g %s --crop mtcnn -m %s --lr 0.001", d, d, det2, FX "mtcnn_tiny.bin");
    ck_assert_msg(rc == 1 && strstr(out, "made with another setup (generator_crc=") && one_line(out), "%d: %s", rc,
                  out);
    free(out);
    snprintf(p, sizeof p, "%s/res/gt/key.txt", d);
    char *key = read_text(p);
    ck_assert_msg(strstr(key, "detector_crc="), "%s", key);
    free(key);
    // another detector file (one weight changed) is another setup
    snprintf(det2, sizeof det2, "%s/mtcnn2.bin", d);
    set_weight(FX "mtcnn_tiny.bin", det2, "onet.dense6_1.bias", 0, 0.25f);
    rc = run_hyper(&out, SWEEP_TINY " -g " G " --crop mtcnn -m %s --lr 0.001", d, d, det2);
    ck_assert_msg(rc == 1 && strstr(out, "made with another setup (crop=mtcnn(on-no-face=fallback-full,detector_crc=") &&
                      one_line(out), "%d: %s", rc, out);
    free(out);
    // a learning rate that %g printed as 0.001 too
    rc = run_hyper(&out, SWEEP_TINY " -g " G " --crop mtcnn -m %s --lr 0.0010000004", d, d, FX "mtcnn_tiny.bin");
    ck_assert_msg(rc == 1 && strstr(out, "(lr=0.001, now lr=0.0010000004") && one_line(out), "%d: %s", rc, out);
    free(out);
    // the same setup resumes (nothing left to do)
    rc = run_hyper(&out, SWEEP_TINY " -g " G " --crop mtcnn -m %s --lr 0.001", d, d, FX "mtcnn_tiny.bin");
    ck_assert_msg(rc == 0, "%s", out);
    free(out);
}
END_TEST

// --- 8. the report on damaged or unusual run folders -----------------------------------------
// A run.csv with nan in dist_mean gave UBSan "signed integer overflow" and the release build
// ranked it first; run names with & < > made chart.svg invalid XML.
static void fake_run(const char *res, const char *name, double dist) {
    char p[1200], line[1024];
    snprintf(p, sizeof p, "%s/runs/%s", res, name);
    ck_assert_int_eq(hy_mkdir_p(p), 0);
    run_summary r = {.epochs = 1, .batch = 30, .dist_mean = dist, .dist_se = 0.01, .baseline = 1.0, .null_p = NAN,
                     .cosine = 0.5, .ident_acc = 0.7, .collapse = 1, .pixel_r = 0.3, .seed = 1};
    snprintf(r.name, sizeof r.name, "%s", name);
    snprintf(r.model, sizeof r.model, "linear");
    hy_report_format_csv(line, sizeof line, 0, &r);
    snprintf(p, sizeof p, "%s/runs/%s/run.csv", res, name);
    FILE *f = fopen(p, "w");
    fprintf(f, "%s\n%s\n", REPORT_CSV_HEADER, line);
    fclose(f);
    snprintf(p, sizeof p, "%s/runs/%s/metrics.csv", res, name);
    f = fopen(p, "w");
    fprintf(f, "item,facenet_distance,baseline\n");
    for (int i = 0; i < 4; i++) fprintf(f, "%d,%.3f,%.3f\n", i, dist + 0.01 * i, 1.0);
    fclose(f);
    snprintf(p, sizeof p, "%s/runs/%s/latent_items.csv", res, name);
    f = fopen(p, "w");
    fprintf(f, "item,ident2\n");
    for (int i = 0; i < 4; i++) fprintf(f, "%d,0.75\n", i);
    fclose(f);
}

START_TEST(d08_report_nan_rows_and_xml_names) {
    char *d = test_tmpdir(), *out, res[600], p[700];
    snprintf(res, sizeof res, "%s/res", d);
    fake_run(res, "a&b<c>_1_30", 0.5);
    fake_run(res, "plain_1_30", 0.6);
    ck_assert_int_eq(run_sh(&out, "%s report '%s' 2>&1", hyper_bin(), res), 0);
    free(out);
    snprintf(p, sizeof p, "%s/chart.svg", res);
    char *svg = read_text(p);
    ck_assert_msg(strstr(svg, "a&amp;b&lt;c&gt;_1_30") && !strstr(svg, "a&b<c>"), "%s", svg);
    for (const char *c = strchr(svg, '&'); c; c = strchr(c + 1, '&'))  // every & starts an entity
        ck_assert_msg(!strncmp(c, "&amp;", 5) || !strncmp(c, "&lt;", 4) || !strncmp(c, "&gt;", 4) ||
                          !strncmp(c, "&quot;", 6), "bare & in chart.svg: %.20s", c);
    free(svg);
    // a row whose distance is nan is refused, naming the file; nothing is ranked from it
    fake_run(res, "nan_1_30", NAN);
    int rc = run_sh(&out, "%s report '%s' 2>&1", hyper_bin(), res);
    ck_assert_msg(rc == 1 && strstr(out, "nan_1_30/run.csv: dist_mean is nan") && one_line(out), "%d: %s", rc, out);
    free(out);
    // a seed suffix too large for any integer is read as no seed, not overflowed
    fake_run(res, "huge_1_30_s99999999999999999999999", 0.7);
    snprintf(p, sizeof p, "rm -r '%s/runs/nan_1_30'", res);
    ck_assert_int_eq(run_sh(&out, "%s", p), 0);
    free(out);
    ck_assert_int_eq(run_sh(&out, "%s report '%s' 2>&1", hyper_bin(), res), 0);
    free(out);
}
END_TEST

// --- 16. several processes in one RESULTS; options that make no sense ---------------------------
// Two sweeps into the same folder shared runs/<name>.tmp and one failed mid-way. Now each training
// (one per model, batch and seed, writing all its epoch counts' runs) is computed under its own
// lock, runs/.<its last run>.lock: a second process skips the trainings the first holds and takes
// the others, so two sweeps (or shards) share the work safely.
START_TEST(d16_concurrent_sweeps_and_option_checks) {
    char *d = test_tmpdir(), *out, p[600];
    ck_assert_int_eq(run_hyper(&out, "simulate -o %s/sim --train 40 --test 4 --voxels 64 --seed 5 -q", d), 0);
    free(out);
    // a training whose lock another process holds is left to it; the rest are done; no report yet
    snprintf(p, sizeof p, "%s/res/runs", d);
    ck_assert_int_eq(hy_mkdir_p(p), 0);
    snprintf(p, sizeof p, "%s/res/runs/.linear_2_30.lock", d);
    int fd;
    ck_assert_int_eq(hy_lock_take(p, 0, &fd), 0);
    int rc = run_hyper(&out, "sweep -d %s/sim -g " G " -e " FX "facenet_tiny.bin -o %s/res --models linear "
                       "--epochs 1,2 --closed ols --null 0 --crop full --threads 1", d, d);
    ck_assert_msg(rc == 0 && strstr(out, "linear_2_30 is being computed by another process") &&
                      strstr(out, "2 runs left to other processes"), "%d: %s", rc, out);
    free(out);
    snprintf(p, sizeof p, "%s/res/runs/linear_1_30", d);
    ck_assert(!file_exists(p));
    snprintf(p, sizeof p, "%s/res/runs/ols/run.csv", d);
    ck_assert(file_exists(p));
    snprintf(p, sizeof p, "%s/res/results.csv", d);
    ck_assert(!file_exists(p));
    hy_lock_release(fd);
    // two sweeps started together over a fresh folder: both succeed, every run is there once
    char sw[2048];
    snprintf(sw, sizeof sw, "%s sweep -d %s/sim -g " G " -e " FX "facenet_tiny.bin -o %s/res2 --models linear --epochs "
             "1,2,3 --closed ols,ridge --null 0 --crop full --threads 1 -q", hyper_bin(), d, d);
    rc = run_sh(&out, "%s > %s/log1 2>&1 & a=$!; %s > %s/log2 2>&1 & b=$!; wait $a; s1=$?; wait $b; s2=$?; "
                "cat %s/log1 %s/log2; [ $s1 = 0 ] && [ $s2 = 0 ]", sw, d, sw, d, d, d);
    ck_assert_msg(rc == 0 && out[0] == 0, "%d: %s", rc, out);
    free(out);
    snprintf(p, sizeof p, "%s/res2/runs", d);
    int runs = 0;
    DIR *dir = opendir(p);
    for (struct dirent *e; (e = readdir(dir));) {
        ck_assert_msg(!strstr(e->d_name, ".tmp"), "left: %s", e->d_name);
        runs += e->d_name[0] != '.';
    }
    closedir(dir);
    ck_assert_int_eq(runs, 5);
    snprintf(p, sizeof p, "%s/res2/results.csv", d);
    ck_assert(file_exists(p));
    // values that used to be accepted silently are usage errors (exit 2, one line)
    static const struct {
        const char *args, *needle;
    } bad[] = {
        {"sweep -d D -g G -e F -o O --lr -1", "--lr: '-1' must be > 0"},
        {"sweep -d D -g G -e F -o O --models linear,mlp,linear", "models 'linear' and 'linear' have the same run name"},
        {"sweep -d D -g G -e F -o O --closed ols,ols", "models 'ols' and 'ols' have the same run name"},
        {"sweep -d D -g G -e F -o O --epochs 5,9,5", "--epochs: 5 is listed twice"},
        {"train -d D --model linear -o O --weight-decay -1", "--weight-decay: '-1' must be >= 0"},
        {"train -d D --model ridge -o O --alpha-min 10 --alpha-max 1", "--alpha-min 10 must be below --alpha-max 1"},
        // defect 10: 2^32 + 1 wrapped to 1 through a 32-bit sscanf (the box crop's case is in test_study.c)
        {"sweep -d D -g G -e F -o O --shard 4294967297/2", "--shard: '4294967297/2' is not i/n with 1 <= i <= n"},
        {"sweep -d D -g G -e F -o O --shard 1/99999999999999999999", "is not i/n with 1 <= i <= n"},
    };
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        rc = run_hyper(&out, "%s", bad[k].args);
        ck_assert_msg(rc == 2 && strstr(out, bad[k].needle) && one_line(out), "%s -> %d: %s", bad[k].args, rc, out);
        free(out);
    }
    // options the chosen model ignores: a note, and the work is done
    rc = run_hyper(&out, "train -d %s/sim --model ridge --epochs 5 --hidden 8 -o %s/r.bin", d, d);
    ck_assert_msg(rc == 0 && strstr(out, "note: --epochs is ignored by --model ridge") &&
                      strstr(out, "note: --hidden is ignored by --model ridge (it is read by mlp)"), "%d: %s", rc, out);
    free(out);
    rc = run_hyper(&out, "sweep -d %s/none -g " G " -e " FX "facenet_tiny.bin -o %s/r3 --models linear --hidden 8",
                   d, d);
    ck_assert_msg(rc == 1 && strstr(out, "note: --hidden is ignored: no mlp in --models"), "%d: %s", rc, out);
    free(out);
}
END_TEST

static Suite *suite(void) {
    Suite *s = suite_create("reliability");
    TCase *t = tcase_create("issue19");
    tcase_set_timeout(t, 300);
    tcase_add_test(t, d01_hy_threads_is_bounded);
    tcase_add_test(t, d02_oversized_grid_is_refused);
    tcase_add_test(t, d03_resume_records_detector_and_exact_lr);
    tcase_add_test(t, d04_temp_files_do_not_follow_symlinks);
    tcase_add_test(t, d05_non_regular_outputs_are_refused);
    tcase_add_test(t, d06_failing_commands_leave_no_output);
    tcase_add_test(t, d07_float32_overflow_is_caught);
    tcase_add_test(t, d08_report_nan_rows_and_xml_names);
    tcase_add_test(t, d09_loaders_refuse_extra_contradicting_and_nan_tensors);
    tcase_add_test(t, d11_stdout_write_errors_fail);
    tcase_add_test(t, d12_fifo_inputs_do_not_block);
    tcase_add_test(t, d13_decompression_bombs_are_refused);
    tcase_add_test(t, d15_messages_exit_codes_and_npy_headers);
    tcase_add_test(t, d16_concurrent_sweeps_and_option_checks);
    suite_add_tcase(s, t);
    return s;
}

TEST_MAIN(suite)
