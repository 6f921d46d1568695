// test_study.c - the study pipeline end to end on a tiny configuration: `hyper sweep` files,
// ranking and agreement with `hyper score` / `hyper evaluate` / `hyper distance` run
// separately; a killed sweep resumes without redoing finished runs (and refuses to resume with
// another setup); shards merge with
// `hyper report`; bad input; the face-crop policies of `hyper embed`.
#include <math.h>
#include <signal.h>
#include <sys/stat.h>

#include "base/common.h"
#include "base/image_io.h"
#include "base/npy.h"
#include "study/report.h"
#include "testutil.h"

#define GEN "tests/fixtures/pggan_tiny.bin"
#define NET "tests/fixtures/facenet_tiny.bin"
#define DET "tests/fixtures/mtcnn_tiny.bin"
#define FA_RECOG "tests/fixtures/faceapi_tiny_recognition.bin"
#define FA_AG "tests/fixtures/faceapi_tiny_agegender.bin"

static char *make_data(const char *name, const char *extra) {
    char *d = test_tmpdir();
    char *msg;
    int rc = run_hyper(&msg, "simulate -o %s/%s --train 80 --test 8 --voxels 128 --seed 5 %s", d, name, extra);
    ck_assert_msg(rc == 0, "simulate: %s", msg);
    free(msg);
    return d;
}

static double csv_value(const char *path, const char *metric) {
    FILE *f = fopen(path, "r");
    ck_assert_msg(f != NULL, "%s missing", path);
    char line[512];
    double v = NAN;
    while (fgets(line, sizeof line, f))
        if (!strncmp(line, metric, strlen(metric)) && line[strlen(metric)] == ',') v = atof(line + strlen(metric) + 1);
    fclose(f);
    return v;
}

static long mtime_ns(const char *path) {
    struct stat sb;
    if (stat(path, &sb) != 0) return -1;
    return sb.st_mtim.tv_sec * 1000000000L + sb.st_mtim.tv_nsec;
}

START_TEST(sweep_end_to_end) {
    char *d = make_data("data", ""), res[300], *msg;
    snprintf(res, sizeof res, "%s/res", d);
    int rc = run_hyper(&msg,
                       "sweep -d %s/data -g " GEN " -e " NET " -o %s --models linear --epochs 2,4 --closed ols,ridge "
                       "--null 10 --crop full --threads 1",
                       d, res);
    ck_assert_msg(rc == 0, "sweep: %s", msg);
    ck_assert_ptr_nonnull(strstr(msg, "4 runs in the grid"));
    free(msg);
    // every run's row (runs.csv), and the ranked table (results.csv): one configuration per run
    // here; ranked ones (rank 1, 2, ...) first, then the flagged ones, each by mean distance
    char p[512], line[1024], head[1024];
    snprintf(p, sizeof p, "%s/runs.csv", res);
    FILE *f = fopen(p, "r");
    ck_assert_ptr_nonnull(f);
    ck_assert_ptr_nonnull(fgets(head, sizeof head, f));
    run_summary rows[8];
    int n = 0;
    while (n < 8 && fgets(line, sizeof line, f)) ck_assert_int_eq(hy_report_parse_csv(p, head, line, &rows[n++]), 0);
    fclose(f);
    ck_assert_int_eq(n, 4);
    snprintf(p, sizeof p, "%s/results.csv", res);
    f = fopen(p, "r");
    ck_assert_ptr_nonnull(f);
    ck_assert_ptr_nonnull(fgets(line, sizeof line, f));
    ck_assert_int_eq(strncmp(line, "rank,config,model,epochs,batch,n_seeds,dist_mean,", 49), 0);
    int n_res = 0, flagged_seen = 0;
    double prev = -1;
    while (fgets(line, sizeof line, f)) {
        char cfg[128];
        double dm;
        int flagged = line[0] == ',';  // empty rank
        ck_assert_int_eq(sscanf(line + (flagged ? 1 : (int)strcspn(line, ",") + 1), "%127[^,],%*[^,],%*d,%*d,%*d,%lf", cfg, &dm), 2);
        if (flagged && !flagged_seen) prev = -1, flagged_seen = 1;  // a new group starts
        ck_assert_msg(!(flagged_seen && !flagged), "a ranked row after a flagged one: %s", line);
        ck_assert_double_le(prev, dm);
        prev = dm;
        n_res++;
    }
    fclose(f);
    ck_assert_int_eq(n_res, 4);
    snprintf(p, sizeof p, "%s/pairs.csv", res);
    ck_assert_int_eq(dir_count(res) > 0 && file_exists(p), 1);
    // report files and pictures
    const char *files[] = {"results.md", "chart.svg", "gt/key.txt", "gt/embeddings_facenet.npy", "gt/faces/000007.png"};
    for (int i = 0; i < 5; i++) {
        snprintf(p, sizeof p, "%s/%s", res, files[i]);
        ck_assert_msg(file_exists(p), "%s missing", p);
    }
    int w, h;
    uint8_t *rgb;
    snprintf(p, sizeof p, "%s/chart.png", res);  // drawn from the same layout as chart.svg: the same size
    ck_assert_int_eq(hy_image_read_rgb8(p, &w, &h, &rgb), 0);
    free(rgb);
    snprintf(p, sizeof p, "%s/chart.svg", res);
    FILE *sf = fopen(p, "r");
    char svg_head[512] = {0};
    ck_assert_ptr_nonnull(sf);
    ck_assert_uint_gt(fread(svg_head, 1, sizeof svg_head - 1, sf), 100);
    fclose(sf);
    int sw = 0, sh = 0;
    ck_assert(sscanf(strstr(svg_head, "width=\""), "width=\"%d\" height=\"%d\"", &sw, &sh) == 2);
    ck_assert_msg(w == sw && h == sh, "chart.png %dx%d, chart.svg %dx%d", w, h, sw, sh);
    snprintf(p, sizeof p, "%s/runs/ols/comparison.png", res);
    ck_assert_int_eq(hy_image_read_rgb8(p, &w, &h, &rgb), 0);
    ck_assert_int_eq(w, 70 + 8 * 118 + 6);  // 8 test items in one row of 112-px thumbnails
    ck_assert_int_eq(h, 44 + 2 * 112 + 16 + 18 + 6);  // the head (title, legend line) and one row
    free(rgb);

    // latent metrics agree with `hyper score` run separately
    int k_ols = -1;
    for (int i = 0; i < n; i++)
        if (!strcmp(rows[i].name, "ols")) k_ols = i;
    char score_csv[400];
    snprintf(score_csv, sizeof score_csv, "%s/score.csv", d);
    rc = run_hyper(&msg, "score -d %s/data --pred %s/runs/ols/pred.npy --csv %s", d, res, score_csv);
    ck_assert_msg(rc == 0, "%s", msg);
    free(msg);
    ck_assert_double_eq_tol(csv_value(score_csv, "cosine"), rows[k_ols].cosine, 1e-5);  // %.6f in both files

    // image metrics agree with `hyper evaluate` and `hyper distance` run separately
    char ev[400];
    snprintf(ev, sizeof ev, "%s/eval", d);
    rc = run_hyper(&msg, "evaluate -d %s/data --pred %s/runs/ols/pred.npy -g " GEN " -e " NET " -o %s --crop full "
                         "--null 10 --save-faces --threads 1",
                   d, res, ev);
    ck_assert_msg(rc == 0, "%s", msg);
    ck_assert_ptr_nonnull(strstr(msg, "facenet distance:"));
    free(msg);
    snprintf(p, sizeof p, "%s/summary.csv", ev);
    ck_assert_double_eq_tol(csv_value(p, "facenet_distance"), rows[k_ols].dist_mean, 1e-5);
    snprintf(p, sizeof p, "%s/metrics.csv", ev);
    f = fopen(p, "r");
    ck_assert_ptr_nonnull(fgets(line, sizeof line, f));
    ck_assert_ptr_nonnull(fgets(line, sizeof line, f));  // item 0
    fclose(f);
    double d0 = atof(strchr(line, ',') + 1);
    rc = run_hyper(&msg, "distance -e " NET " --crop full %s/gt/faces/000000.png %s/pred_faces/000000.png", ev, ev);
    ck_assert_msg(rc == 0, "%s", msg);
    // same images, same network; the distance is printed with 6 decimals
    ck_assert_double_eq_tol(atof(msg), d0, 2e-6);
    free(msg);
}
END_TEST

// Field `col` (0-based) of CSV line `line`.
static double csv_field(const char *line, int col) {
    const char *p = line;
    for (int k = 0; k < col && p; k++) p = strchr(p, ',') ? strchr(p, ',') + 1 : NULL;
    ck_assert_ptr_nonnull(p);
    return atof(p);
}

// Several identity models and the age/gender model: FaceNet and face-api's descriptor side by side,
// each with its own distances (equal to `hyper distance` with that model), face-api's threshold,
// attribute agreement, and a sweep whose report lists every model.
START_TEST(several_models_and_attributes) {
    char *d = make_data("data", ""), res[300], ev[300], p[512], line[4096], *msg;
    snprintf(res, sizeof res, "%s/res", d);
    int rc = run_hyper(&msg,
                       "sweep -d %s/data -g " GEN " -e " NET " -e fa=" FA_RECOG " -a " FA_AG " -o %s --models linear "
                       "--epochs 2 --closed ols --null 5 --crop full --threads 1",
                       d, res);
    ck_assert_msg(rc == 0, "sweep: %s", msg);
    free(msg);
    const char *files[] = {"gt/embeddings_facenet.npy", "gt/embeddings_fa.npy", "gt/attributes.npy"};
    for (int i = 0; i < 3; i++) {
        snprintf(p, sizeof p, "%s/%s", res, files[i]);
        ck_assert_msg(file_exists(p), "%s missing", p);
    }
    // runs.csv: every run's row (run.csv's columns), each with both models and the attributes
    snprintf(p, sizeof p, "%s/runs.csv", res);
    FILE *f = fopen(p, "r");
    char head[4096];
    ck_assert(fgets(head, sizeof head, f) && strstr(head, "gender_match,age_r,models"));
    run_summary rows[2];
    for (int i = 0; i < 2; i++) {
        ck_assert_ptr_nonnull(fgets(line, sizeof line, f));
        ck_assert_msg(hy_report_parse_csv(p, head, line, &rows[i]) == 0, "%s: %s", hy_errmsg(), line);
        ck_assert_int_eq(rows[i].n_models, 2);
        ck_assert_str_eq(rows[i].models[0].name, "facenet");
        ck_assert_str_eq(rows[i].models[1].name, "fa");
        ck_assert(rows[i].models[0].dist_mean == rows[i].dist_mean);  // the first model ranks
        ck_assert(isnan(rows[i].models[0].threshold));                // the tiny FaceNet names none
        ck_assert(rows[i].models[1].threshold == 0.6);                // face-api's, from the converter
        ck_assert(rows[i].models[1].same_rate >= 0 && rows[i].models[1].same_rate <= 1);
        ck_assert(rows[i].gender_match >= 0 && rows[i].gender_match <= 1);
        ck_assert(rows[i].age_r >= -1 && rows[i].age_r <= 1);
        char again[4096];  // the CSV row round-trips
        hy_report_format_csv(again, sizeof again, i + 1, &rows[i]);
        run_summary back;
        ck_assert_int_eq(hy_report_parse_csv("again", REPORT_CSV_HEADER, again, &back), 0);
        ck_assert(back.n_models == 2 && back.models[1].dist_mean == rows[i].models[1].dist_mean);
    }
    fclose(f);
    // results.csv: per configuration, the second model's columns and the attributes
    snprintf(p, sizeof p, "%s/results.csv", res);
    f = fopen(p, "r");
    ck_assert(fgets(line, sizeof line, f));
    fclose(f);
    ck_assert_msg(strstr(line, ",facenet_distance,facenet_same_rate,") && strstr(line, ",fa_distance,fa_same_rate,") &&
                      strstr(line, ",gender_match,age_r\n"),
                  "%s", line);
    snprintf(p, sizeof p, "%s/results.md", res);
    f = fopen(p, "r");
    int per_model = 0, attr_cols = 0;
    while (fgets(line, sizeof line, f)) {
        per_model |= strstr(line, "fa distance | fa same (thr)") != NULL;
        attr_cols |= strstr(line, "gender match | age r") != NULL;
    }
    fclose(f);
    ck_assert(per_model && attr_cols);

    // evaluate: per-model columns, equal to `hyper distance` with each model on the saved faces
    snprintf(ev, sizeof ev, "%s/eval", d);
    rc = run_hyper(&msg, "evaluate -d %s/data --pred %s/runs/ols/pred.npy -g " GEN " -e " NET " -e fa=" FA_RECOG
                         " -a " FA_AG " -o %s --crop full --null 5 --save-faces --threads 1", d, res, ev);
    ck_assert_msg(rc == 0, "%s", msg);
    ck_assert_msg(strstr(msg, "fa distance:") && strstr(msg, "same person (< 0.6)") && strstr(msg, "gender match"),
                  "%s", msg);
    free(msg);
    snprintf(p, sizeof p, "%s/metrics.csv", ev);
    f = fopen(p, "r");
    ck_assert(fgets(line, sizeof line, f));
    ck_assert_str_eq(line, "item,facenet_distance,facenet_baseline,facenet_ident,facenet_same,fa_distance,fa_baseline,"
                           "fa_ident,fa_same,pixel_r,latent_cosine,age_true,age_recon,p_male_true,p_male_recon,crop_gt,"
                           "crop_recon,mtcnn_prob\n");
    ck_assert(fgets(line, sizeof line, f));  // item 0
    fclose(f);
    const char *net[2] = {NET, FA_RECOG};
    for (int m = 0; m < 2; m++) {
        rc = run_hyper(&msg, "distance -e %s --crop full %s/gt/faces/000000.png %s/pred_faces/000000.png -q", net[m],
                       ev, ev);
        ck_assert_msg(rc == 0, "%s", msg);
        // same images, same network; printed with 6 decimals
        ck_assert_msg(fabs(atof(msg) - csv_field(line, 1 + 4 * m)) < 2e-6, "model %d: %s vs %s", m, msg, line);
        free(msg);
    }
    // age/gender of item 0's faces equal `hyper attributes` on the saved images
    char csv[400];
    snprintf(csv, sizeof csv, "%s/a.csv", d);
    rc = run_hyper(&msg, "attributes -a " FA_AG " --crop full %s/gt/faces/000000.png %s/pred_faces/000000.png -o %s",
                   ev, ev, csv);
    ck_assert_msg(rc == 0, "%s", msg);
    free(msg);
    f = fopen(csv, "r");
    char a0[512], a1[512];
    ck_assert(fgets(a0, sizeof a0, f) && fgets(a0, sizeof a0, f) && fgets(a1, sizeof a1, f));
    fclose(f);
    ck_assert(fabs(csv_field(a0, 2) - csv_field(line, 11)) < 2e-3);  // ages printed with 3-4 decimals
    ck_assert(fabs(csv_field(a1, 2) - csv_field(line, 12)) < 2e-3);
    ck_assert(fabs(csv_field(a0, 3) - csv_field(line, 13)) < 2e-5);  // p_male with 5-6 decimals
    // two models with one name, a bad NAME, and more models than allowed
    rc = run_hyper(&msg, "evaluate -d %s/data --pred %s/runs/ols/pred.npy -g " GEN " -e " NET " -e " NET
                         " -o %s/e2 --crop full", d, res, d);
    ck_assert_msg(rc == 1 && strstr(msg, "two identity models are named 'facenet'"), "%s", msg);
    free(msg);
    rc = run_hyper(&msg, "evaluate -d %s/data --pred %s/runs/ols/pred.npy -g " GEN " -e 'a b=" NET "' -o %s/e2 "
                         "--crop full", d, res, d);
    ck_assert_msg(rc == 1 && strstr(msg, "NAME in NAME=PATH"), "%s", msg);
    free(msg);
    rc = run_hyper(&msg, "evaluate -d %s/data --pred %s/runs/ols/pred.npy -g " GEN " -e a=" NET " -e b=" NET " -e c="
                         NET " -e d=" NET " -e e=" NET " -o %s/e2 --crop full", d, res, d);
    ck_assert_msg(rc == 1 && strstr(msg, "at most 4"), "%s", msg);
    free(msg);
    snprintf(p, sizeof p, "%s/e2", d);
    ck_assert(!file_exists(p));
}
END_TEST

START_TEST(killed_sweep_resumes) {
    char *d = make_data("data", ""), res[300], *msg;
    snprintf(res, sizeof res, "%s/res", d);
    // One training writes the 2-epoch run quickly, then is killed on its way to 40000 epochs.
    char cmd[2048];
    snprintf(cmd, sizeof cmd,
             "%s sweep -d %s/data -g " GEN " -e " NET " -o %s --models linear --epochs 2,40000 --closed '' "
             "--null 0 --crop full --threads 1 >/dev/null 2>&1 & pid=$!; "
             "for i in $(seq 600); do [ -e %s/runs/linear_2_30/run.csv ] && break; sleep 0.1; done; "
             "sleep 0.5; kill -9 $pid; wait $pid 2>/dev/null; exit 0",
             hyper_bin(), d, res, res);
    ck_assert_int_eq(system(cmd), 0);
    char done1[400], tmp2[400], fin2[400], results[400];
    snprintf(done1, sizeof done1, "%s/runs/linear_2_30/run.csv", res);
    snprintf(tmp2, sizeof tmp2, "%s/runs/linear_40000_30.tmp", res);
    snprintf(fin2, sizeof fin2, "%s/runs/linear_40000_30", res);
    snprintf(results, sizeof results, "%s/results.csv", res);
    ck_assert_msg(file_exists(done1), "the first run did not finish");
    ck_assert(!file_exists(fin2));      // the killed run is not reported as finished
    ck_assert(!file_exists(tmp2));      // ... and was never started: runs are written as their epoch passes
    ck_assert(!file_exists(results));   // no report from an unfinished grid
    // a run killed while being written leaves runs/<name>.tmp: the resume redoes it
    char tmp3[1000];
    snprintf(tmp3, sizeof tmp3, "mkdir -p %s/runs/linear_3_30.tmp && touch %s/runs/linear_3_30.tmp/junk", res, res);
    ck_assert_int_eq(system(tmp3), 0);
    long t1 = mtime_ns(done1);
    // `hyper report` on the unfinished grid ranks only the finished run
    ck_assert_int_eq(run_hyper(&msg, "report %s", res), 0);
    ck_assert_ptr_nonnull(strstr(msg, "1 runs reported"));
    free(msg);
    // resume with a short second run: the finished run is skipped, the partial one redone
    int rc = run_hyper(&msg,
                       "sweep -d %s/data -g " GEN " -e " NET " -o %s --models linear --epochs 2,3 --closed '' "
                       "--null 0 --crop full --threads 1",
                       d, res);
    ck_assert_msg(rc == 0, "%s", msg);
    ck_assert_ptr_nonnull(strstr(msg, "1 already finished, 1 to do in 1 training(s)"));
    free(msg);
    ck_assert_int_eq(mtime_ns(done1), t1);
    ck_assert(file_exists(results));
    snprintf(tmp3, sizeof tmp3, "%s/runs/linear_3_30.tmp", res);
    ck_assert(!file_exists(tmp3));
    snprintf(tmp3, sizeof tmp3, "%s/runs/linear_3_30/curve.csv", res);
    ck_assert(file_exists(tmp3));
    // resuming with another setup (here the null size) would rank runs made differently side by
    // side: refused, naming the field, and the finished runs are left alone
    rc = run_hyper(&msg,
                   "sweep -d %s/data -g " GEN " -e " NET " -o %s --models linear --epochs 2,3 --closed '' "
                   "--null 5 --crop full --threads 1",
                   d, res);
    ck_assert_msg(rc == 1, "%s", msg);
    ck_assert_msg(strstr(msg, "made with another setup (n_null=0, now n_null=5)"), "%s", msg);
    printf("  ok: %s", msg);
    free(msg);
    ck_assert_int_eq(mtime_ns(done1), t1);
    // shards: a fresh grid split in two, merged by `hyper report`
    char res2[300];
    snprintf(res2, sizeof res2, "%s/res2", d);
    for (int s = 1; s <= 2; s++) {
        rc = run_hyper(&msg,
                       "sweep -d %s/data -g " GEN " -e " NET " -o %s --models linear --epochs 2,3 --closed ols "
                       "--null 0 --crop full --threads 1 --shard %d/2",
                       d, res2, s);
        ck_assert_msg(rc == 0, "%s", msg);
        ck_assert_ptr_nonnull(strstr(msg, s == 1 ? "has 2," : "has 1,"));
        free(msg);
    }
    ck_assert_int_eq(run_hyper(&msg, "report %s", res2), 0);
    ck_assert_ptr_nonnull(strstr(msg, "3 runs reported"));
    free(msg);
}
END_TEST

static void expect_fail(const char *needle, const char *fmt, const char *a, const char *b) {
    char args[2048], *msg;
    snprintf(args, sizeof args, fmt, a, b);
    int rc = run_hyper(&msg, "%s", args);
    ck_assert_msg(rc == 1 || rc == 2, "'%s' exited %d: %s", args, rc, msg);
    ck_assert_msg(strstr(msg, needle) != NULL, "'%s': '%s' lacks '%s'", args, msg, needle);
    free(msg);
}

START_TEST(bad_input) {
    char *d = make_data("data", ""), res[300], p[400];
    snprintf(res, sizeof res, "%s/res", d);
    // latent width of the data != the generator's
    char *d64 = make_data("d64", "--latent-dim 64");
    snprintf(p, sizeof p, "%s/d64", d64);
    expect_fail("latents are 64-d but the generator", "sweep -d %s -g " GEN " -e " NET " -o %s --crop full", p, res);
    snprintf(p, sizeof p, "%s/data", d);
    expect_fail("cannot open", "sweep -d %s -g /nonexistent.bin -e " NET " -o %s", p, res);
    expect_fail("expected an identity model ('facenet' or 'faceapi_recognition')", "sweep -d %s -g " GEN " -e " GEN " -o %s", p, res);
    // unwritable output (a path below a regular file)
    char under[400];
    snprintf(under, sizeof under, "%s/data/test_fmri.npy/out", d);
    expect_fail("cannot create directory", "sweep -d %s -g " GEN " -e " NET " -o %s --crop full", p, under);
    expect_fail("--shard", "sweep -d %s -g " GEN " -e " NET " -o %s --shard 3/2", p, res);
    // an OUT with finished runs but no setup record (written by an older hyper) is not resumed
    char old[400], cmd[1200];
    snprintf(old, sizeof old, "%s/oldres", d);
    snprintf(cmd, sizeof cmd, "mkdir -p %s/runs/linear_2_30 && echo x > %s/runs/linear_2_30/run.csv", old, old);
    ck_assert_int_eq(system(cmd), 0);
    expect_fail("has finished runs but no setup.txt", "sweep -d %s -g " GEN " -e " NET " -o %s --crop full", p, old);
    expect_fail("unknown decoder model", "sweep -d %s -g " GEN " -e " NET " -o %s --models linear,bogus", p, res);
    // evaluate: predictions of the wrong shape; nothing written
    char pred[400], ev[400];
    snprintf(pred, sizeof pred, "%s/data/train_latents.npy", d);  // 80 rows, the test set has 8
    snprintf(ev, sizeof ev, "%s/ev", d);
    char args[2048], *msg;
    snprintf(args, sizeof args, "evaluate -d %s/data --pred %s -g " GEN " -e " NET " -o %s --crop full", d, pred, ev);
    ck_assert_int_eq(run_hyper(&msg, "%s", args), 1);
    ck_assert_ptr_nonnull(strstr(msg, "predictions have shape (80, 512), the test set needs (8, 512)"));
    free(msg);
    ck_assert_int_le(dir_count(ev), 0);
    // reconstruct: a decoder of 64-d latents cannot drive a 512-d generator
    ck_assert_int_eq(run_hyper(&msg, "train -d %s/d64 --model ols -o %s/ols64.bin --quiet", d64, d), 0);
    free(msg);
    char rec[400];
    snprintf(rec, sizeof rec, "%s/rec", d);
    snprintf(args, sizeof args, "reconstruct --decoder %s/ols64.bin -d %s/d64 -g " GEN " -o %s", d, d64, rec);
    ck_assert_int_eq(run_hyper(&msg, "%s", args), 1);
    ck_assert_ptr_nonnull(strstr(msg, "predicts 64-d latents but the generator"));
    free(msg);
    ck_assert(!file_exists(rec));
}
END_TEST

// reconstruct writes the predicted latents, faces, ground truth and the comparison picture
START_TEST(reconstruct_outputs) {
    char *d = make_data("data", ""), *msg, rec[400], p[500];
    ck_assert_int_eq(run_hyper(&msg, "train -d %s/data --model ridge -o %s/ridge.bin --quiet", d, d), 0);
    free(msg);
    snprintf(rec, sizeof rec, "%s/rec", d);
    int rc = run_hyper(&msg, "reconstruct --decoder %s/ridge.bin -d %s/data -g " GEN " -o %s", d, d, rec);
    ck_assert_msg(rc == 0, "%s", msg);
    free(msg);
    snprintf(p, sizeof p, "%s/faces", rec);
    ck_assert_int_eq(dir_count(p), 8);
    snprintf(p, sizeof p, "%s/gt", rec);
    ck_assert_int_eq(dir_count(p), 8);
    snprintf(p, sizeof p, "%s/pred_latents.npy", rec);
    npy_f32 a;
    ck_assert_int_eq(hy_npy_read_f32(p, &a, 0), 0);
    ck_assert(a.ndim == 2 && a.dims[0] == 8 && a.dims[1] == 512);
    hy_npy_free_f32(&a);
    // the predictions equal `hyper predict`'s
    char pp[400];
    snprintf(pp, sizeof pp, "%s/pred.npy", d);
    ck_assert_int_eq(run_hyper(&msg, "predict --decoder %s/ridge.bin -d %s/data --split test -o %s", d, d, pp), 0);
    free(msg);
    uint8_t *x, *y;
    size_t nx, ny;
    ck_assert_int_eq(hy_read_file(p, &x, &nx, 0), 0);
    ck_assert_int_eq(hy_read_file(pp, &y, &ny, 0), 0);
    ck_assert(nx == ny && !memcmp(x, y, nx));
    free(x), free(y);
    snprintf(p, sizeof p, "%s/comparison.png", rec);
    ck_assert(file_exists(p));
}
END_TEST

// hyper embed --crop mtcnn on an image too small for any face (< 20 px): the three policies
START_TEST(no_face_policies) {
    char *d = test_tmpdir(), img[300], out[300], *msg;
    snprintf(img, sizeof img, "%s/small.png", d);
    snprintf(out, sizeof out, "%s/e.npy", d);
    uint8_t px[16 * 16 * 3];
    for (int i = 0; i < 16 * 16 * 3; i++) px[i] = (uint8_t)(i * 7);
    ck_assert_int_eq(hy_png_write_rgb8(img, 16, 16, px), 0);
    // default policy: warn and embed the whole image
    ck_assert_int_eq(run_hyper(&msg, "embed -e " NET " --mtcnn " DET " %s -o %s", img, out), 0);
    ck_assert_ptr_nonnull(strstr(msg, "small.png: no face found; using the whole image"));
    free(msg);
    npy_f32 a;
    ck_assert_int_eq(hy_npy_read_f32(out, &a, 0), 0);
    ck_assert(isfinite(a.data[0]));
    hy_npy_free_f32(&a);
    // skip: a row of NaN keeps the input order
    ck_assert_int_eq(run_hyper(&msg, "embed -e " NET " --mtcnn " DET " --on-no-face skip %s %s -o %s", img, img, out), 0);
    ck_assert_ptr_nonnull(strstr(msg, "skipped"));
    free(msg);
    ck_assert_int_eq(hy_npy_read_f32(out, &a, 1), 0);
    ck_assert(a.dims[0] == 2 && isnan(a.data[0]) && isnan(a.data[2 * a.dims[1] - 1]));
    hy_npy_free_f32(&a);
    // error: stop, nothing written
    remove(out);
    ck_assert_int_eq(run_hyper(&msg, "embed -e " NET " --mtcnn " DET " --on-no-face error %s -o %s", img, out), 1);
    ck_assert_ptr_nonnull(strstr(msg, "small.png: no face found"));
    free(msg);
    ck_assert(!file_exists(out));
    // bad policy names
    // bad policy names and crop boxes are usage errors (exit 2), found while parsing
    ck_assert_int_eq(run_hyper(&msg, "embed -e " NET " --on-no-face maybe %s -o %s", img, out), 2);
    ck_assert_ptr_nonnull(strstr(msg, "--on-no-face: on-no-face policy 'maybe' is not fallback-full, skip or error"));
    free(msg);
    ck_assert_int_eq(run_hyper(&msg, "embed -e " NET " --crop box:1,2 %s -o %s", img, out), 2);
    free(msg);
    // 4294967297 would wrap to 1 through a 32-bit scanf; the strict parser refuses it
    ck_assert_int_eq(run_hyper(&msg, "embed -e " NET " --crop box:0,0,4294967297,1 %s -o %s", img, out), 2);
    ck_assert_ptr_nonnull(strstr(msg, "is not box:x1,y1,x2,y2"));
    free(msg);
}
END_TEST

// With MTCNN, evaluate records per item the probability of the reconstruction's cropped face
// (equal to `hyper detect` on the saved face; 0 when none is found) and summarises the share at
// p >= 0.9 and the mean; without MTCNN both are NaN.
START_TEST(mtcnn_face_share) {
    char *d = make_data("data", ""), *msg, ev[400], p[600], line[1024];
    ck_assert_int_eq(run_hyper(&msg, "train -d %s/data --model ols -o %s/ols.bin --quiet", d, d), 0);
    free(msg);
    ck_assert_int_eq(run_hyper(&msg, "predict --decoder %s/ols.bin -d %s/data --split test -o %s/pred.npy", d, d, d), 0);
    free(msg);
    snprintf(ev, sizeof ev, "%s/ev", d);
    int rc = run_hyper(&msg, "evaluate -d %s/data --pred %s/pred.npy -g " GEN " -e " NET " -m " DET
                             " -o %s --null 0 --save-faces --threads 1", d, d, ev);
    ck_assert_msg(rc == 0, "%s", msg);
    free(msg);
    snprintf(p, sizeof p, "%s/metrics.csv", ev);
    FILE *f = fopen(p, "r");
    ck_assert_ptr_nonnull(fgets(line, sizeof line, f));
    ck_assert_ptr_nonnull(strstr(line, ",mtcnn_prob\n"));
    int n = 0, hits = 0, found = 0;
    double sum = 0;
    while (fgets(line, sizeof line, f)) {
        double prob = atof(strrchr(line, ',') + 1);
        // the same face through `hyper detect` (largest face first; its probability printed with
        // 8 decimals, metrics.csv has 6)
        char img[500];
        snprintf(img, sizeof img, "%s/pred_faces/%06d.png", ev, n);
        rc = run_hyper(&msg, "detect -m " DET " --tsv %s", img);
        ck_assert_int_eq(rc, 0);
        char *row = strstr(msg, img);  // the face's row starts with the image path (no row: no face)
        while (row && row > msg && row[-1] != '\n') row = strstr(row + 1, img);
        double want = 0;
        if (row && strchr(row, '\t')) {
            char *c = row;
            for (int k = 0; k < 6; k++) c = strchr(c, '\t') + 1;  // image, face, x1, y1, x2, y2
            want = atof(c);
            found++;
        }
        free(msg);
        ck_assert_double_eq_tol(prob, want, 1e-6);
        hits += prob >= 0.9, sum += prob, n++;
    }
    fclose(f);
    ck_assert_int_eq(n, 8);
    ck_assert_int_gt(found, 0);  // the tiny detector finds something in at least one face
    snprintf(p, sizeof p, "%s/summary.csv", ev);
    ck_assert_double_eq_tol(csv_value(p, "mtcnn_face_share"), hits / 8.0, 1e-6);
    ck_assert_double_eq_tol(csv_value(p, "mtcnn_prob_mean"), sum / 8, 2e-6);  // 6-decimal items
    // --crop full: not measured
    rc = run_hyper(&msg, "evaluate -d %s/data --pred %s/pred.npy -g " GEN " -e " NET " --crop full -o %s/ev2 "
                         "--null 0 --threads 1", d, d, d);
    ck_assert_msg(rc == 0, "%s", msg);
    free(msg);
    snprintf(p, sizeof p, "%s/ev2/summary.csv", d);
    ck_assert(isnan(csv_value(p, "mtcnn_face_share")));
}
END_TEST

static Suite *suite(void) {
    Suite *s = suite_create("study");
    TCase *tc = tcase_create("pipeline");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, sweep_end_to_end);
    tcase_add_test(tc, killed_sweep_resumes);
    tcase_add_test(tc, several_models_and_attributes);
    tcase_add_test(tc, bad_input);
    tcase_add_test(tc, reconstruct_outputs);
    tcase_add_test(tc, no_face_policies);
    tcase_add_test(tc, mtcnn_face_share);
    suite_add_tcase(s, tc);
    return s;
}
TEST_MAIN(suite)
