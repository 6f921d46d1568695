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

static Suite *suite(void) {
    Suite *s = suite_create("reliability");
    TCase *t = tcase_create("issue19");
    tcase_set_timeout(t, 300);
    tcase_add_test(t, d01_hy_threads_is_bounded);
    tcase_add_test(t, d04_temp_files_do_not_follow_symlinks);
    tcase_add_test(t, d05_non_regular_outputs_are_refused);
    tcase_add_test(t, d06_failing_commands_leave_no_output);
    tcase_add_test(t, d11_stdout_write_errors_fail);
    tcase_add_test(t, d12_fifo_inputs_do_not_block);
    tcase_add_test(t, d13_decompression_bombs_are_refused);
    suite_add_tcase(s, t);
    return s;
}

TEST_MAIN(suite)
