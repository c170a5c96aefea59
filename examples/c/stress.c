/* Stress test of librobust.so from C: many threads share one model handle and score a mix of
 * good and bad inputs (the given image files plus truncated, bit-flipped, empty, garbage and
 * decompression-bomb inputs made here). Every result must equal the single-threaded result for the
 * same input, bit for bit, and every failure must come back as that thread's own error
 * message. Built plainly and under ASan+UBSan by examples/c/run.sh.
 *
 *   stress MODEL THREADS ROUNDS IMAGE...
 *
 * Prints per-thread counts and one summary line; exits 0 when every result matched, 1 on any
 * mismatch, 2 on bad arguments. */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "robust.h"
#include "png_bomb.h"

#define MAX_CLASSES 64
#define MAX_INPUTS 256

typedef struct {
    const char *what;      /* how the input was made, for messages */
    unsigned char *data;
    size_t size;
    const char *claim;     /* NULL, a class name, an index, or a name the model lacks */
} input;

/* What one call produced: compared field by field between threads and the reference. */
typedef struct {
    int score_status, gate_status, conflict_status, quality_status;
    robust_score score;
    float probs[MAX_CLASSES];
    robust_gate_result gate;
    robust_conflict conflict;
    robust_quality quality;
    char score_error[256], gate_error[256];
} result;

static input inputs[MAX_INPUTS];
static int num_inputs;
static result reference[MAX_INPUTS];
static robust_model *model;
static int num_classes;

static void add(const char *what, const unsigned char *data, size_t size, const char *claim) {
    if (num_inputs == MAX_INPUTS) return;
    input *in = &inputs[num_inputs++];
    in->what = what;
    in->size = size;
    in->data = malloc(size ? size : 1);
    if (size) memcpy(in->data, data, size);
    in->claim = claim;
}

static unsigned char *read_file(const char *path, size_t *size) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *b = malloc(n > 0 ? (size_t)n : 1);
    *size = fread(b, 1, n > 0 ? (size_t)n : 0, f);
    fclose(f);
    return b;
}

/* Runs every entry point that takes bytes on one input. Zeroes first, so that fields a call
 * does not write compare equal. */
static void run(const input *in, result *r) {
    memset(r, 0, sizeof *r);
    int32_t claimed = ROBUST_NO_CLAIM;
    if (in->claim && robust_model_class_index(model, in->claim, &claimed) != ROBUST_OK) claimed = ROBUST_NO_CLAIM;
    r->score_status = robust_score_encoded(model, in->data, in->size, claimed, NULL, &r->score, r->probs, MAX_CLASSES);
    snprintf(r->score_error, sizeof r->score_error, "%s", r->score_status ? robust_last_error() : "");
    r->gate_status = robust_gate(model, in->data, in->size, in->claim, NULL, &r->gate);
    snprintf(r->gate_error, sizeof r->gate_error, "%s", r->gate_status ? robust_last_error() : "");
    r->conflict_status = robust_check_conflict(model, in->data, in->size, in->claim ? in->claim : "0", NULL, &r->conflict);
    r->quality_status = robust_quality_encoded(in->data, in->size, 0, NULL, &r->quality);
}

/* Field by field: the structs have padding, which memcmp would compare too. */
static int same_score(const robust_score *a, const robust_score *b) {
    return a->predicted_class == b->predicted_class && a->predicted_name == b->predicted_name &&
           a->confidence == b->confidence && a->entropy == b->entropy &&
           a->entropy_normalized == b->entropy_normalized && a->margin == b->margin &&
           a->claimed_class == b->claimed_class && a->claimed_probability == b->claimed_probability &&
           a->verdict == b->verdict && a->num_classes == b->num_classes;
}

static int same_quality(const robust_quality *a, const robust_quality *b) {
    return a->detail == b->detail && a->sharpness == b->sharpness && a->brightness == b->brightness &&
           a->contrast == b->contrast && a->entropy_bits == b->entropy_bits && a->hash == b->hash &&
           a->flags == b->flags;
}

static int same(const result *a, const result *b) {
    /* Pointers inside (class names) are owned by the one model, so equal too. */
    const robust_gate_result *g = &a->gate, *h = &b->gate;
    const robust_conflict *c = &a->conflict, *d = &b->conflict;
    return a->score_status == b->score_status && a->gate_status == b->gate_status &&
           a->conflict_status == b->conflict_status && a->quality_status == b->quality_status &&
           same_score(&a->score, &b->score) && memcmp(a->probs, b->probs, sizeof a->probs) == 0 &&
           g->decision == h->decision && g->reasons == h->reasons && g->scored == h->scored &&
           same_score(&g->score, &h->score) && g->quality_checked == h->quality_checked &&
           same_quality(&g->quality, &h->quality) &&
           c->verdict == d->verdict && c->image_class == d->image_class && c->image_name == d->image_name &&
           c->image_confidence == d->image_confidence && c->claimed_class == d->claimed_class &&
           c->claimed_probability == d->claimed_probability && c->fused_class == d->fused_class &&
           same_quality(&a->quality, &b->quality) &&
           strcmp(a->score_error, b->score_error) == 0 && strcmp(a->gate_error, b->gate_error) == 0;
}

typedef struct {
    int id, rounds;
    long calls, errors, mismatches;
} worker_args;

static void *worker(void *p) {
    worker_args *w = p;
    unsigned seed = 12345u + (unsigned)w->id * 7919u;
    result r;
    for (int round = 0; round < w->rounds; round++) {
        for (int k = 0; k < num_inputs; k++) {
            /* Each thread walks the inputs in its own order, so good and bad calls interleave. */
            seed = seed * 1103515245u + 12345u;
            int i = (int)((seed >> 8) % (unsigned)num_inputs);
            run(&inputs[i], &r);
            w->calls += 4;
            w->errors += (r.score_status != 0) + (r.gate_status != 0) + (r.conflict_status != 0) + (r.quality_status != 0);
            if (!same(&r, &reference[i])) {
                if (w->mismatches < 3)
                    fprintf(stderr, "thread %d: input %d (%s): result differs from the single-threaded one "
                            "(status %d/%d, error \"%s\" vs \"%s\")\n", w->id, i, inputs[i].what,
                            r.score_status, reference[i].score_status, r.score_error, reference[i].score_error);
                w->mismatches++;
            }
        }
    }
    return NULL;
}

int main(int argc, char **argv) {
    if (argc < 5) {
        fprintf(stderr, "usage: %s MODEL THREADS ROUNDS IMAGE...\n", argv[0]);
        return 2;
    }
    int threads = atoi(argv[2]), rounds = atoi(argv[3]);
    if (threads < 1 || threads > 256 || rounds < 1) { fprintf(stderr, "bad THREADS or ROUNDS\n"); return 2; }
    if (robust_model_load(argv[1], &model) != ROBUST_OK) {
        fprintf(stderr, "%s\n", robust_last_error());
        return 2;
    }
    robust_model_info info;
    robust_model_get_info(model, &info);
    num_classes = info.num_classes;
    if (num_classes > MAX_CLASSES) { fprintf(stderr, "more than %d classes\n", MAX_CLASSES); return 2; }

    static const char *claims[] = {NULL, "0", "1", "no-such-class", "-3", ""};
    unsigned seed = 99;
    for (int a = 4; a < argc; a++) {
        size_t n;
        unsigned char *b = read_file(argv[a], &n);
        if (!b) { fprintf(stderr, "%s: cannot read\n", argv[a]); return 2; }
        if (n == 0) { fprintf(stderr, "%s: empty file\n", argv[a]); return 2; }
        add("image", b, n, claims[a % 6]);
        add("first half", b, n / 2, claims[(a + 1) % 6]);
        add("first 40 bytes", b, n < 40 ? n : 40, claims[(a + 2) % 6]);
        for (int f = 0; f < 6; f++) {
            /* A handful of flipped bits: decoders meet corrupt headers, tables and data. */
            unsigned char *c = malloc(n);
            memcpy(c, b, n);
            for (int k = 0; k < 1 + f; k++) {
                seed = seed * 1103515245u + 12345u;
                c[(seed >> 8) % n] ^= (unsigned char)(1u << ((seed >> 4) % 8));
            }
            add("bit flips", c, n, claims[(a + f) % 6]);
            free(c);
        }
        free(b);
    }
    unsigned char garbage[4096], bomb[33];
    for (size_t k = 0; k < sizeof garbage; k++) { seed = seed * 1103515245u + 12345u; garbage[k] = (unsigned char)(seed >> 16); }
    add("empty", garbage, 0, NULL);
    add("garbage", garbage, sizeof garbage, "1");
    /* Valid signatures, nonsense after them. */
    unsigned char png_sig[64] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    memcpy(png_sig + 8, garbage, sizeof png_sig - 8);
    add("PNG signature + garbage", png_sig, sizeof png_sig, NULL);
    unsigned char jpg_sig[64] = {0xff, 0xd8, 0xff, 0xe0};
    memcpy(jpg_sig + 4, garbage, sizeof jpg_sig - 4);
    add("JPEG signature + garbage", jpg_sig, sizeof jpg_sig, "0");

    /* Decompression bombs: a valid PNG header claiming 100000 x 100000 pixels (refused by the
     * pixel cap before any allocation), and one claiming 0 x 16. */
    add("PNG bomb header", bomb, bomb_png(bomb, 100000, 100000), "2");
    add("PNG zero-width header", bomb, bomb_png(bomb, 0, 16), NULL);

    /* The reference: every input once, one thread. */
    int bad = 0;
    for (int i = 0; i < num_inputs; i++) {
        run(&inputs[i], &reference[i]);
        bad += reference[i].score_status != ROBUST_OK;
        const result *r = &reference[i];
        if (r->score_status == ROBUST_ERR_INTERNAL || r->gate_status == ROBUST_ERR_INTERNAL ||
            r->conflict_status == ROBUST_ERR_INTERNAL || r->quality_status == ROBUST_ERR_INTERNAL) {
            fprintf(stderr, "input %d (%s): internal error: %s\n", i, inputs[i].what, reference[i].score_error);
            return 1;
        }
    }

    pthread_t tid[256];
    worker_args args[256];
    for (int t = 0; t < threads; t++) {
        args[t] = (worker_args){.id = t, .rounds = rounds};
        if (pthread_create(&tid[t], NULL, worker, &args[t]) != 0) { fprintf(stderr, "pthread_create failed\n"); return 2; }
    }
    long calls = 0, errors = 0, mismatches = 0;
    for (int t = 0; t < threads; t++) {
        pthread_join(tid[t], NULL);
        calls += args[t].calls;
        errors += args[t].errors;
        mismatches += args[t].mismatches;
    }
    printf("stress: %d inputs (%d unscorable), %d threads x %d rounds: %ld calls, %ld error returns, "
           "%ld results differing from the single-threaded run\n",
           num_inputs, bad, threads, rounds, calls, errors, mismatches);
    for (int i = 0; i < num_inputs; i++) free(inputs[i].data);
    robust_model_free(model);
    return mismatches ? 1 : 0;
}
