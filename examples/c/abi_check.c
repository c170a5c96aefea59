/* abi_check: exercises every entry point of librobust.so, every bad input the header names,
 * and one model handle shared by 8 threads. Run by the test command, also under valgrind.
 *
 *   abi_check MODEL.safetensors IMAGE.png IMAGE.jpg
 *
 * Prints one line per failed check and exits 1 if any failed.
 */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "robust.h"
#include "png_bomb.h"

static int failures = 0;
#define CHECK(cond, ...) do { if (!(cond)) { failures++; printf("FAIL %s:%d: ", __FILE__, __LINE__); \
    printf(__VA_ARGS__); printf("  [last error: %s]\n", robust_last_error()); } } while (0)
#define EXPECT_STATUS(call, want) do { int rc_ = (call); CHECK(rc_ == (want), "%s returned %d, expected %d", #call, rc_, want); \
    if ((want) != ROBUST_OK) CHECK(robust_last_error()[0] != '\0', "%s: no error message", #call); } while (0)

static unsigned char *read_all(const char *path, size_t *size) {
    FILE *f = fopen(path, "rb");
    if (!f) { printf("cannot open %s\n", path); exit(2); }
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *b = malloc((size_t)n + 1);
    if (!b || fread(b, 1, (size_t)n, f) != (size_t)n) { printf("cannot read %s\n", path); exit(2); }
    fclose(f);
    *size = (size_t)n;
    return b;
}

typedef struct {
    const robust_model *model;
    const unsigned char *png;
    size_t png_size;
    const float *reference;
    int num_classes;
    int mismatches;
    int errors;
} worker_arg;

static void *worker(void *p) {
    worker_arg *a = p;
    float probs[64];
    for (int round = 0; round < 10; round++) {
        robust_score s;
        if (robust_score_encoded(a->model, a->png, a->png_size, ROBUST_NO_CLAIM, NULL, &s, probs, 64) != ROBUST_OK) {
            a->errors++;
            continue;
        }
        if (memcmp(probs, a->reference, sizeof(float) * (size_t)a->num_classes) != 0) a->mismatches++;
        /* A bad input in between: this thread's message must describe this thread's failure. */
        unsigned char junk[16] = "definitely junk";
        if (robust_score_encoded(a->model, junk, sizeof junk, ROBUST_NO_CLAIM, NULL, &s, NULL, 0) != ROBUST_ERR_IMAGE) a->errors++;
        if (strstr(robust_last_error(), "<memory>") == NULL) a->errors++;
    }
    return NULL;
}

/* A FusionNet file: scores come from its image-only path, which also judges the claim; the
 * conflict check adds the fused prediction. */
static void check_fusion(const char *path, const unsigned char *png, size_t png_size) {
    robust_model *f = NULL;
    EXPECT_STATUS(robust_model_load(path, &f), ROBUST_OK);
    if (!f) return;
    robust_model_info info;
    EXPECT_STATUS(robust_model_get_info(f, &info), ROBUST_OK);
    CHECK(info.has_metadata == 1 && strcmp(info.architecture, "fusionnet-cifar") == 0, "fusion info %s %d",
          info.architecture, info.has_metadata);
    robust_score s;
    float probs[16];
    EXPECT_STATUS(robust_score_encoded(f, png, png_size, 3, NULL, &s, probs, 16), ROBUST_OK);
    robust_conflict c;
    for (int32_t claim = 0; claim < info.num_classes; claim++) {
        char name[16];
        snprintf(name, sizeof name, "%d", (int)claim);
        EXPECT_STATUS(robust_check_conflict(f, png, png_size, name, NULL, &c), ROBUST_OK);
        CHECK(c.image_class == s.predicted_class && c.fused_class >= 0 && c.fused_class < info.num_classes
              && c.claimed_probability == probs[claim], "fusion conflict fields (claim %d)", claim);
    }
    robust_gate_result g;
    EXPECT_STATUS(robust_gate(f, png, png_size, "cat", NULL, &g), ROBUST_OK);
    CHECK(g.scored == 1 && g.score.predicted_class == s.predicted_class, "fusion gate");
    robust_model_free(f);
}

int main(int argc, char **argv) {
    if (argc != 4 && argc != 5) { printf("usage: abi_check MODEL IMAGE.png IMAGE.jpg [FUSIONNET]\n"); return 2; }
    size_t model_size, png_size, jpg_size;
    unsigned char *model_bytes = read_all(argv[1], &model_size);
    unsigned char *png = read_all(argv[2], &png_size);
    unsigned char *jpg = read_all(argv[3], &jpg_size);

    CHECK(strcmp(robust_version(), ROBUST_VERSION) == 0, "version %s vs header %s", robust_version(), ROBUST_VERSION);

    /* Loading: bad inputs leave *out untouched. */
    robust_model *sentinel = (robust_model *)0x1, *m = sentinel;
    EXPECT_STATUS(robust_model_load(NULL, &m), ROBUST_ERR_INVALID_ARGUMENT);
    EXPECT_STATUS(robust_model_load(argv[1], NULL), ROBUST_ERR_INVALID_ARGUMENT);
    EXPECT_STATUS(robust_model_load("/nonexistent/model.safetensors", &m), ROBUST_ERR_IO);
    CHECK(strstr(robust_last_error(), "/nonexistent/model.safetensors") != NULL, "message names the file");
    EXPECT_STATUS(robust_model_load(argv[2], &m), ROBUST_ERR_MODEL_FORMAT);  /* a PNG is not a model */
    EXPECT_STATUS(robust_model_load_memory(model_bytes, model_size / 2, &m), ROBUST_ERR_MODEL_FORMAT);
    unsigned char long_header[16] = {0xff, 0xff, 0, 0, 0, 0, 0, 0, '{', '}'};
    EXPECT_STATUS(robust_model_load_memory(long_header, sizeof long_header, &m), ROBUST_ERR_MODEL_FORMAT);
    unsigned char empty_model[10] = {2, 0, 0, 0, 0, 0, 0, 0, '{', '}'};  /* valid, but no tensors */
    EXPECT_STATUS(robust_model_load_memory(empty_model, sizeof empty_model, &m), ROBUST_ERR_MODEL_FORMAT);
    EXPECT_STATUS(robust_model_load_memory(NULL, 10, &m), ROBUST_ERR_INVALID_ARGUMENT);
    EXPECT_STATUS(robust_model_load_memory(model_bytes, 0, &m), ROBUST_ERR_INVALID_ARGUMENT);
    CHECK(m == sentinel, "out-parameter written on failure");
    robust_model_free(NULL);

    robust_model *model = NULL;
    EXPECT_STATUS(robust_model_load_memory(model_bytes, model_size, &model), ROBUST_OK);
    robust_model *from_file = NULL;
    EXPECT_STATUS(robust_model_load(argv[1], &from_file), ROBUST_OK);
    free(model_bytes);  /* the library copied it */
    if (!model || !from_file) { printf("cannot continue without a model\n"); return 1; }

    robust_model_info info;
    EXPECT_STATUS(robust_model_get_info(model, &info), ROBUST_OK);
    CHECK(info.num_classes == 10 && info.input_size == 32 && info.has_metadata == 0, "info");
    CHECK(strcmp(info.architecture, "resnet18-cifar") == 0, "architecture %s", info.architecture);
    EXPECT_STATUS(robust_model_get_info(NULL, &info), ROBUST_ERR_INVALID_ARGUMENT);
    EXPECT_STATUS(robust_model_get_info(model, NULL), ROBUST_ERR_INVALID_ARGUMENT);
    CHECK(robust_model_class_name(model, 3) && strcmp(robust_model_class_name(model, 3), "cat") == 0, "class 3 is cat");
    CHECK(robust_model_class_name(model, 10) == NULL && robust_model_class_name(model, -1) == NULL, "name out of range");
    CHECK(robust_model_class_name(NULL, 0) == NULL, "name of NULL model");
    int32_t idx = -7;
    EXPECT_STATUS(robust_model_class_index(model, "cat", &idx), ROBUST_OK);
    CHECK(idx == 3, "index of cat: %d", idx);
    EXPECT_STATUS(robust_model_class_index(model, "unicorn", &idx), ROBUST_ERR_UNKNOWN_CLASS);
    CHECK(strstr(robust_last_error(), "unicorn") != NULL && strstr(robust_last_error(), "airplane") != NULL, "lists classes");
    EXPECT_STATUS(robust_model_class_index(model, NULL, &idx), ROBUST_ERR_INVALID_ARGUMENT);
    CHECK(idx == 3, "out_index written on failure");

    /* Scoring a file, bytes (PNG, JPEG) and pixels. */
    robust_score s, s2;
    float probs[10], probs2[10];
    EXPECT_STATUS(robust_score_file(model, argv[2], 3, NULL, &s, probs, 10), ROBUST_OK);
    CHECK(s.num_classes == 10 && s.claimed_class == 3 && s.verdict >= 0 && s.predicted_name != NULL, "score fields");
    float sum = 0;
    for (int i = 0; i < 10; i++) sum += probs[i];
    CHECK(fabsf(sum - 1) < 1e-4f && fabsf(probs[3] - s.claimed_probability) < 1e-7f, "probabilities");
    EXPECT_STATUS(robust_score_encoded(from_file, png, png_size, ROBUST_NO_CLAIM, NULL, &s2, probs2, 10), ROBUST_OK);
    CHECK(memcmp(probs, probs2, sizeof probs) == 0, "file and memory paths differ");
    CHECK(s2.claimed_class == ROBUST_NO_CLAIM && s2.verdict == ROBUST_VERDICT_NONE && s2.claimed_probability == -1, "no claim");
    EXPECT_STATUS(robust_score_encoded(model, jpg, jpg_size, 0, NULL, &s2, NULL, 0), ROBUST_OK);
    EXPECT_STATUS(robust_score_file(model, argv[2], 0, NULL, &s, probs, 9), ROBUST_ERR_INVALID_ARGUMENT);
    EXPECT_STATUS(robust_score_file(model, argv[2], 10, NULL, &s, NULL, 0), ROBUST_ERR_INVALID_ARGUMENT);
    EXPECT_STATUS(robust_score_file(model, argv[2], 0, NULL, NULL, NULL, 0), ROBUST_ERR_INVALID_ARGUMENT);
    EXPECT_STATUS(robust_score_file(NULL, argv[2], 0, NULL, &s, NULL, 0), ROBUST_ERR_INVALID_ARGUMENT);
    EXPECT_STATUS(robust_score_file(model, NULL, 0, NULL, &s, NULL, 0), ROBUST_ERR_INVALID_ARGUMENT);
    EXPECT_STATUS(robust_score_file(model, "/nonexistent.png", 0, NULL, &s, NULL, 0), ROBUST_ERR_IO);
    EXPECT_STATUS(robust_score_file(model, argv[1], 0, NULL, &s, NULL, 0), ROBUST_ERR_IMAGE);  /* a model is not an image */
    EXPECT_STATUS(robust_score_encoded(model, png, png_size / 2, 0, NULL, &s, NULL, 0), ROBUST_ERR_IMAGE);
    EXPECT_STATUS(robust_score_encoded(model, jpg, jpg_size / 2, 0, NULL, &s, NULL, 0), ROBUST_ERR_IMAGE);
    EXPECT_STATUS(robust_score_encoded(model, png, 0, 0, NULL, &s, NULL, 0), ROBUST_ERR_IMAGE);
    EXPECT_STATUS(robust_score_encoded(model, NULL, 10, 0, NULL, &s, NULL, 0), ROBUST_ERR_INVALID_ARGUMENT);
    unsigned char bomb[64];
    size_t bomb_size = bomb_png(bomb, 100000, 100000);
    EXPECT_STATUS(robust_score_encoded(model, bomb, bomb_size, 0, NULL, &s, NULL, 0), ROBUST_ERR_IMAGE);
    bomb_size = bomb_png(bomb, 0, 16);
    EXPECT_STATUS(robust_score_encoded(model, bomb, bomb_size, 0, NULL, &s, NULL, 0), ROBUST_ERR_IMAGE);
    EXPECT_STATUS(robust_model_set_max_pixels(model, 100), ROBUST_OK);
    EXPECT_STATUS(robust_score_encoded(model, png, png_size, 0, NULL, &s, NULL, 0), ROBUST_ERR_IMAGE);
    EXPECT_STATUS(robust_model_set_max_pixels(model, 0), ROBUST_ERR_INVALID_ARGUMENT);
    EXPECT_STATUS(robust_model_set_max_pixels(model, (1ull << 28) + 1), ROBUST_ERR_INVALID_ARGUMENT);
    EXPECT_STATUS(robust_model_set_max_pixels(model, 1u << 26), ROBUST_OK);
    robust_policy bad_policy;
    robust_policy_default(&bad_policy);
    bad_policy.conflict_probability = NAN;
    EXPECT_STATUS(robust_score_encoded(model, png, png_size, 0, &bad_policy, &s, NULL, 0), ROBUST_ERR_INVALID_ARGUMENT);

    unsigned char rgb[48 * 40 * 3];
    for (size_t i = 0; i < sizeof rgb; i++) rgb[i] = (unsigned char)(i * 7 % 251);
    EXPECT_STATUS(robust_score_rgb(model, rgb, 48, 40, 0, ROBUST_NO_CLAIM, NULL, &s, probs, 10), ROBUST_OK);
    EXPECT_STATUS(robust_score_rgb(model, rgb, 24, 40, 48 * 3, ROBUST_NO_CLAIM, NULL, &s, probs, 10), ROBUST_OK);  /* a crop */
    EXPECT_STATUS(robust_score_rgb(model, rgb, 0, 40, 0, ROBUST_NO_CLAIM, NULL, &s, NULL, 0), ROBUST_ERR_IMAGE);
    EXPECT_STATUS(robust_score_rgb(model, rgb, 2147483647, 2147483647, 0, ROBUST_NO_CLAIM, NULL, &s, NULL, 0), ROBUST_ERR_IMAGE);
    EXPECT_STATUS(robust_score_rgb(model, rgb, 48, 40, 10, ROBUST_NO_CLAIM, NULL, &s, NULL, 0), ROBUST_ERR_INVALID_ARGUMENT);
    EXPECT_STATUS(robust_score_rgb(model, NULL, 48, 40, 0, ROBUST_NO_CLAIM, NULL, &s, NULL, 0), ROBUST_ERR_INVALID_ARGUMENT);

    /* A batch gives what single calls give. */
    robust_score batch[4];
    float batch_probs[40];
    int32_t claims[4] = {0, ROBUST_NO_CLAIM, 5, 9};
    EXPECT_STATUS(robust_score_rgb_batch(model, rgb, 4, 16, 10, claims, NULL, batch, batch_probs, 40), ROBUST_OK);
    for (int i = 0; i < 4; i++) {
        EXPECT_STATUS(robust_score_rgb(model, rgb + i * 16 * 10 * 3, 16, 10, 0, claims[i], NULL, &s, probs, 10), ROBUST_OK);
        float d = 0;
        for (int j = 0; j < 10; j++) d = fmaxf(d, fabsf(probs[j] - batch_probs[i * 10 + j]));
        CHECK(d < 1e-5f && batch[i].claimed_class == claims[i], "batch image %d differs by %g", i, d);
    }
    EXPECT_STATUS(robust_score_rgb_batch(model, rgb, 4, 16, 10, NULL, NULL, batch, batch_probs, 39), ROBUST_ERR_INVALID_ARGUMENT);
    EXPECT_STATUS(robust_score_rgb_batch(model, rgb, 0, 16, 10, NULL, NULL, batch, NULL, 0), ROBUST_ERR_INVALID_ARGUMENT);
    EXPECT_STATUS(robust_score_rgb_batch(model, rgb, 100000, 16, 10, NULL, NULL, batch, NULL, 0), ROBUST_ERR_INVALID_ARGUMENT);

    /* Entropy of a caller's vector. */
    float uniform[4] = {0.25f, 0.25f, 0.25f, 0.25f}, h = -1, hn = -1;
    EXPECT_STATUS(robust_entropy(uniform, 4, &h, &hn), ROBUST_OK);
    CHECK(fabsf(h - logf(4)) < 1e-5f && fabsf(hn - 1) < 1e-5f, "entropy %g %g", h, hn);
    float not_probs[3] = {0.5f, 0.7f, -0.2f};
    EXPECT_STATUS(robust_entropy(not_probs, 3, &h, NULL), ROBUST_ERR_INVALID_ARGUMENT);
    EXPECT_STATUS(robust_entropy(NULL, 3, &h, NULL), ROBUST_ERR_INVALID_ARGUMENT);
    EXPECT_STATUS(robust_entropy(uniform, 0, &h, NULL), ROBUST_ERR_INVALID_ARGUMENT);

    /* Conflict checks and gating. */
    robust_conflict c;
    EXPECT_STATUS(robust_check_conflict(model, png, png_size, "cat", NULL, &c), ROBUST_OK);
    CHECK(c.claimed_class == 3 && c.fused_class == -1 && c.verdict >= 0 && c.verdict <= 2 && c.image_name, "conflict fields");
    EXPECT_STATUS(robust_check_conflict(model, png, png_size, "unicorn", NULL, &c), ROBUST_ERR_UNKNOWN_CLASS);
    EXPECT_STATUS(robust_check_conflict(model, png, png_size, NULL, NULL, &c), ROBUST_ERR_INVALID_ARGUMENT);
    EXPECT_STATUS(robust_check_conflict(model, png, 5, "cat", NULL, &c), ROBUST_ERR_IMAGE);
    robust_gate_result g;
    EXPECT_STATUS(robust_gate(model, png, png_size, "dog", NULL, &g), ROBUST_OK);
    CHECK(g.scored == 1 && robust_decision_name(g.decision) != NULL, "gate");
    EXPECT_STATUS(robust_gate(model, png, png_size / 3, "dog", NULL, &g), ROBUST_OK);
    CHECK(g.decision == ROBUST_REJECT && g.reasons == ROBUST_REASON_UNREADABLE && g.scored == 0, "unreadable upload");
    EXPECT_STATUS(robust_gate(model, png, png_size, "unicorn", NULL, &g), ROBUST_ERR_UNKNOWN_CLASS);
    robust_policy lax;
    robust_policy_default(&lax);
    lax.max_entropy_normalized = 1; lax.min_confidence = 0; lax.consistent_probability = 0; lax.check_quality = 0;
    EXPECT_STATUS(robust_gate(model, png, png_size, NULL, &lax, &g), ROBUST_OK);
    CHECK(g.decision == ROBUST_ACCEPT && g.reasons == 0 && g.quality_checked == 0, "lax policy accepts: %d %u", g.decision, g.reasons);

    /* Image quality, without a model and inside the gate. */
    robust_quality_thresholds qt;
    robust_quality_thresholds_default(&qt);
    CHECK(qt.image_size == 32 && qt.blurry_below > 0 && qt.blurry_below < qt.noisy_above && qt.dark_below < qt.light_above,
          "default thresholds %g %g", qt.blurry_below, qt.noisy_above);
    robust_quality q, q2;
    EXPECT_STATUS(robust_quality_encoded(png, png_size, 0, NULL, &q), ROBUST_OK);
    CHECK(q.detail >= 0 && q.brightness >= 0 && q.brightness <= 1 && q.entropy_bits >= 0 && q.entropy_bits <= 8, "quality fields");
    EXPECT_STATUS(robust_quality_encoded(png, png_size, 0, &qt, &q2), ROBUST_OK);
    CHECK(q.detail == q2.detail && q.flags == q2.flags && q.hash == q2.hash, "NULL thresholds are the defaults");
    EXPECT_STATUS(robust_gate(model, png, png_size, NULL, NULL, &g), ROBUST_OK);
    CHECK(g.quality_checked == 1 && g.quality.detail == q.detail && g.quality.flags == q.flags, "the gate reports the image's quality");
    unsigned char flat[32 * 32 * 3], noisy[32 * 32 * 3];
    memset(flat, 128, sizeof flat);
    uint32_t lcg = 12345;
    for (size_t i = 0; i < sizeof noisy; i++) { lcg = lcg * 1664525u + 1013904223u; noisy[i] = (unsigned char)(64 + (lcg >> 25)); }
    EXPECT_STATUS(robust_quality_rgb(flat, 32, 32, 0, NULL, &q), ROBUST_OK);
    CHECK(q.detail == 0 && q.entropy_bits == 0 && (q.flags & ROBUST_QUALITY_BLURRY) && (q.flags & ROBUST_QUALITY_LOW_INFORMATION)
          && !(q.flags & ROBUST_QUALITY_NOISY), "a flat image: flags %u", q.flags);
    EXPECT_STATUS(robust_quality_rgb(noisy, 32, 32, 0, NULL, &q), ROBUST_OK);
    CHECK((q.flags & ROBUST_QUALITY_NOISY) && !(q.flags & ROBUST_QUALITY_BLURRY), "a noise image: flags %u, detail %g", q.flags, q.detail);
    EXPECT_STATUS(robust_quality_rgb(noisy, 16, 32, 32 * 3, NULL, &q), ROBUST_OK);  /* a crop, resized to 32 x 32 */
    CHECK(strcmp(robust_quality_flag_name(ROBUST_QUALITY_NOISY), "noisy") == 0 && robust_quality_flag_name(3) == NULL, "flag names");
    CHECK(strcmp(robust_reason_name(ROBUST_REASON_BLURRY), "blurry") == 0, "quality reason names");
    robust_quality_thresholds bad_t = qt;
    bad_t.blurry_below = 1; bad_t.noisy_above = 0.5f;
    EXPECT_STATUS(robust_quality_rgb(flat, 32, 32, 0, &bad_t, &q), ROBUST_ERR_INVALID_ARGUMENT);
    bad_t = qt; bad_t.dark_below = NAN;
    EXPECT_STATUS(robust_quality_encoded(png, png_size, 0, &bad_t, &q), ROBUST_ERR_INVALID_ARGUMENT);
    bad_t = qt; bad_t.image_size = -1;
    EXPECT_STATUS(robust_quality_rgb(flat, 32, 32, 0, &bad_t, &q), ROBUST_ERR_INVALID_ARGUMENT);
    robust_policy bad_quality;
    robust_policy_default(&bad_quality);
    bad_quality.quality.light_above = -1;
    EXPECT_STATUS(robust_gate(model, png, png_size, NULL, &bad_quality, &g), ROBUST_ERR_INVALID_ARGUMENT);
    EXPECT_STATUS(robust_quality_encoded(png, png_size / 3, 0, NULL, &q), ROBUST_ERR_IMAGE);
    EXPECT_STATUS(robust_quality_encoded(png, png_size, 100, NULL, &q), ROBUST_ERR_IMAGE);  /* over the pixel cap */
    EXPECT_STATUS(robust_quality_encoded(NULL, 10, 0, NULL, &q), ROBUST_ERR_INVALID_ARGUMENT);
    EXPECT_STATUS(robust_quality_encoded(png, png_size, 0, NULL, NULL), ROBUST_ERR_INVALID_ARGUMENT);
    EXPECT_STATUS(robust_quality_rgb(flat, 0, 32, 0, NULL, &q), ROBUST_ERR_INVALID_ARGUMENT);
    EXPECT_STATUS(robust_quality_rgb(flat, 32, 32, 10, NULL, &q), ROBUST_ERR_INVALID_ARGUMENT);
    EXPECT_STATUS(robust_quality_thresholds_load("/nonexistent/calibration.json", &qt), ROBUST_ERR_IO);
    EXPECT_STATUS(robust_quality_thresholds_load(argv[2], &qt), ROBUST_ERR_INVALID_ARGUMENT);  /* a PNG, not JSON */
    EXPECT_STATUS(robust_quality_thresholds_load(NULL, &qt), ROBUST_ERR_INVALID_ARGUMENT);
    CHECK(strcmp(robust_reason_name(ROBUST_REASON_HIGH_ENTROPY), "high_entropy") == 0 && robust_reason_name(3) == NULL, "reason names");
    CHECK(robust_decision_name(7) == NULL, "decision names");
    EXPECT_STATUS(robust_set_num_threads(0), ROBUST_ERR_INVALID_ARGUMENT);
    int threads = robust_get_num_threads();
    CHECK(threads >= 1, "threads %d", threads);
    int invariant = robust_blas_split_invariant();
    CHECK(invariant == 0 || invariant == 1, "split invariance %d", invariant);
    CHECK(robust_get_adaptive_workers() == invariant, "adaptive workers on by default exactly where the BLAS is split-invariant");
    EXPECT_STATUS(robust_set_adaptive_workers(0), ROBUST_OK);
    CHECK(robust_get_adaptive_workers() == 0, "adaptive workers off");
    EXPECT_STATUS(robust_set_adaptive_workers(7), ROBUST_OK);
    CHECK(robust_get_adaptive_workers() == 1, "adaptive workers on again");
    EXPECT_STATUS(robust_set_adaptive_workers(invariant), ROBUST_OK);  /* back to the default for the checks below */

    /* One handle, 8 threads: identical probabilities, errors reported per thread. */
    float reference[10];
    EXPECT_STATUS(robust_score_encoded(model, png, png_size, ROBUST_NO_CLAIM, NULL, &s, reference, 10), ROBUST_OK);
    pthread_t tid[8];
    worker_arg args[8];
    for (int t = 0; t < 8; t++) {
        args[t] = (worker_arg){model, png, png_size, reference, 10, 0, 0};
        pthread_create(&tid[t], NULL, worker, &args[t]);
    }
    for (int t = 0; t < 8; t++) {
        pthread_join(tid[t], NULL);
        CHECK(args[t].mismatches == 0 && args[t].errors == 0, "thread %d: %d mismatches, %d errors", t, args[t].mismatches, args[t].errors);
    }

    if (argc == 5) check_fusion(argv[4], png, png_size);

    robust_model_free(model);
    robust_model_free(from_file);
    free(png);
    free(jpg);
    printf("abi_check: %s (%d failed checks)\n", failures ? "FAILED" : "ok", failures);
    return failures ? 1 : 0;
}
