/* score: a small client of librobust.so. Scores image files and prints one verdict per line.
 *
 *   score MODEL.safetensors [--meta CLASS] IMAGE...
 *
 * For each image: the predicted class, its probability, the normalized entropy and, with
 * --meta, whether the image agrees with the claimed class and the gate's decision.
 * Exit status: 0 every image accepted, 1 at least one flagged (review or reject), 2 an error.
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

int main(int argc, char **argv) {
    const char *meta = NULL;
    const char *model_path = NULL;
    int first_image = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--meta") == 0 && i + 1 < argc) { meta = argv[++i]; continue; }
        if (!model_path) { model_path = argv[i]; continue; }
        if (!first_image) first_image = i;
    }
    if (!model_path || !first_image) {
        fprintf(stderr, "usage: %s MODEL.safetensors [--meta CLASS] IMAGE...\n", argv[0]);
        return 2;
    }
    robust_model *model = NULL;
    if (robust_model_load(model_path, &model) != ROBUST_OK) {
        fprintf(stderr, "error: %s\n", robust_last_error());
        return 2;
    }
    int status = 0;
    for (int i = first_image; i < argc; i++) {
        if (strcmp(argv[i], "--meta") == 0) { i++; continue; }
        size_t size = 0;
        unsigned char *bytes = read_file(argv[i], &size);
        if (!bytes) { fprintf(stderr, "error: %s: cannot read\n", argv[i]); status = 2; continue; }
        robust_gate_result g;
        int rc = robust_gate(model, bytes, size, meta, NULL, &g);
        free(bytes);
        if (rc != ROBUST_OK) { fprintf(stderr, "error: %s\n", robust_last_error()); status = 2; continue; }
        printf("%s: %s", argv[i], robust_decision_name(g.decision));
        if (g.scored) {
            printf("  predicted %s (p=%.3f, entropy %.3f)", g.score.predicted_name, g.score.confidence,
                   g.score.entropy_normalized);
            if (meta) printf("  claimed %s p=%.3f", robust_model_class_name(model, g.score.claimed_class),
                             g.score.claimed_probability);
        }
        if (g.quality_checked) printf("  detail %.4f brightness %.3f", g.quality.detail, g.quality.brightness);
        for (uint32_t bit = 1; bit <= ROBUST_REASON_LOW_INFORMATION; bit <<= 1)
            if (g.reasons & bit) printf("  [%s]", robust_reason_name(bit));
        printf("\n");
        if (g.decision != ROBUST_ACCEPT && status == 0) status = 1;
    }
    robust_model_free(model);
    return status;
}
