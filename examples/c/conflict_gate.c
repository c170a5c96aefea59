/* conflict_gate: the modality-conflict check as an upload gate, measured from C.
 *
 *   conflict_gate MODEL.safetensors LIST [SEED]
 *
 * LIST has one line per image: PATH<TAB>CLASS (the image's true class, a name or index).
 * Each image is checked twice with robust_check_conflict: claimed as its true class, and as
 * a random other class (seeded). A verdict of consistent accepts the claim, uncertain sends
 * it to review, conflict rejects it. Prints the table (counts and shares per claim kind) and,
 * for a FusionNet model, how often its fused prediction followed the claim or the image.
 * Exit status: 0 done, 2 an error (unreadable list or model; unreadable images are counted).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "robust.h"

static unsigned char *read_file(const char *path, size_t *size) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    unsigned char *buf = NULL;
    size_t cap = 0, n = 0, got;
    do {
        if (n == cap) {
            cap = cap ? 2 * cap : 1 << 16;
            unsigned char *b = realloc(buf, cap);
            if (!b) { free(buf); fclose(f); return NULL; }
            buf = b;
        }
        got = fread(buf + n, 1, cap - n, f);
        n += got;
    } while (got > 0);
    fclose(f);
    *size = n;
    return buf;
}

/* A small seeded generator (splitmix64), so that runs repeat. */
static unsigned long long next_random(unsigned long long *s) {
    unsigned long long z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

int main(int argc, char **argv) {
    if (argc < 3 || argc > 4) {
        fprintf(stderr, "usage: %s MODEL.safetensors LIST [SEED]\n  LIST: one PATH<TAB>CLASS line per image\n", argv[0]);
        return 2;
    }
    unsigned long long seed = argc == 4 ? strtoull(argv[3], NULL, 10) : 0;
    robust_model *model = NULL;
    if (robust_model_load(argv[1], &model) != ROBUST_OK) {
        fprintf(stderr, "error: %s\n", robust_last_error());
        return 2;
    }
    robust_model_info info;
    robust_model_get_info(model, &info);
    FILE *list = fopen(argv[2], "r");
    if (!list) { fprintf(stderr, "error: %s: cannot open\n", argv[2]); robust_model_free(model); return 2; }

    /* counts[kind][column], kind 0 = true claim, 1 = wrong claim; columns accept, review, reject */
    long counts[2][3] = {{0}}, fused_claim[2] = {0}, fused_image[2] = {0}, images = 0, unreadable = 0;
    char line[8192];
    while (fgets(line, sizeof line, list)) {
        line[strcspn(line, "\r\n")] = 0;
        char *tab = strchr(line, '\t');
        if (!tab) continue;
        *tab = 0;
        int32_t truth;
        if (robust_model_class_index(model, tab + 1, &truth) != ROBUST_OK) {
            fprintf(stderr, "error: %s: %s\n", line, robust_last_error());
            fclose(list); robust_model_free(model);
            return 2;
        }
        size_t size = 0;
        unsigned char *bytes = read_file(line, &size);
        if (!bytes) { unreadable++; continue; }
        int32_t wrong = (int32_t)((truth + 1 + next_random(&seed) % (unsigned)(info.num_classes - 1)) % info.num_classes);
        int32_t claims[2] = {truth, wrong};
        int ok = 1;
        for (int kind = 0; kind < 2 && ok; kind++) {
            char claim[16];
            snprintf(claim, sizeof claim, "%d", claims[kind]);
            robust_conflict c;
            if (robust_check_conflict(model, bytes, size, claim, NULL, &c) != ROBUST_OK) { ok = 0; break; }
            /* column: accept (consistent), review (uncertain), reject (conflict) */
            counts[kind][c.verdict == ROBUST_VERDICT_CONSISTENT ? 0 : c.verdict == ROBUST_VERDICT_UNCERTAIN ? 1 : 2]++;
            if (c.fused_class == claims[kind]) fused_claim[kind]++;
            else if (c.fused_class == truth) fused_image[kind]++;
        }
        free(bytes);
        if (ok) images++; else unreadable++;
    }
    fclose(list);

    printf("conflict check as a gate: %s (%s), %ld images, each claimed as its true class and as a random other class\n",
           argv[1], info.architecture, images);
    printf("%-22s %18s %18s %18s\n", "claims", "accept (consistent)", "review (uncertain)", "reject (conflict)");
    const char *names[2] = {"true claims", "contradicting claims"};
    for (int kind = 0; kind < 2; kind++) {
        printf("%-22s", names[kind]);
        for (int v = 0; v < 3; v++) {
            char cell[48];
            snprintf(cell, sizeof cell, "%ld (%.1f%%)", counts[kind][v], images ? 100.0 * counts[kind][v] / images : 0.0);
            printf(" %18s", cell);
        }
        printf("\n");
    }
    if (images) {
        printf("true claims accepted: %.2f%%; contradicting claims caught (rejected): %.2f%%, not accepted: %.2f%%\n",
               100.0 * counts[0][0] / images, 100.0 * counts[1][2] / images, 100.0 * (counts[1][1] + counts[1][2]) / images);
    }
    if (info.has_metadata && images) {
        printf("fused prediction on contradicting claims: followed the claim %.2f%%, the image %.2f%%\n",
               100.0 * fused_claim[1] / images, 100.0 * fused_image[1] / images);
    }
    if (unreadable) printf("%ld images could not be read or decoded (not counted)\n", unreadable);
    robust_model_free(model);
    return 0;
}
