/* Peak memory of scoring one image with librobust.so: resident set size (getrusage's
 * ru_maxrss) after loading the model and after one robust_gate call (decode, quality check,
 * resize, forward pass) on the given file. With MAX_BYTES_PER_PIXEL given, fails when scoring
 * grew the peak by more than that many bytes per pixel of the image plus 32 MiB (what the
 * library documents as its bound: the encoded bytes, the decoded RGB copy and small buffers).
 *
 *   peak_memory MODEL IMAGE [MAX_BYTES_PER_PIXEL]
 *
 * Prints one line; exit 0 within the bound, 1 above it or on an error, 2 on bad arguments. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "robust.h"

static double peak_mib(void) {
    struct rusage u;
    getrusage(RUSAGE_SELF, &u);
    return u.ru_maxrss / 1024.0; /* KiB on Linux */
}

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: %s MODEL IMAGE [MAX_BYTES_PER_PIXEL]\n", argv[0]);
        return 2;
    }
    double start = peak_mib();
    robust_model *model = NULL;
    if (robust_model_load(argv[1], &model) != ROBUST_OK) {
        fprintf(stderr, "%s\n", robust_last_error());
        return 1;
    }
    double loaded = peak_mib();

    FILE *f = fopen(argv[2], "rb");
    if (!f) { fprintf(stderr, "%s: cannot open\n", argv[2]); return 1; }
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fseek(f, 0, SEEK_SET);
    void *data = malloc(size > 0 ? (size_t)size : 1);
    size_t got = fread(data, 1, size > 0 ? (size_t)size : 0, f);
    fclose(f);
    double read = peak_mib();

    robust_policy policy;
    robust_policy_default(&policy);
    robust_gate_result r;
    memset(&r, 0, sizeof r);
    if (robust_gate(model, data, got, NULL, &policy, &r) != ROBUST_OK) {
        fprintf(stderr, "%s: %s\n", argv[2], robust_last_error());
        return 1;
    }
    if (!r.scored) {
        fprintf(stderr, "%s: not scored (not a decodable image, or over the pixel cap)\n", argv[2]);
        return 1;
    }
    double scored = peak_mib();
    /* The image's pixel count, from a second call on the raw decode would cost as much again:
     * take it from the PNG header (IHDR) when the file is a PNG. */
    const unsigned char *b = data;
    double pixels = 0;
    if (got > 24 && b[0] == 0x89 && b[1] == 'P') {
        unsigned w = (unsigned)b[16] << 24 | (unsigned)b[17] << 16 | (unsigned)b[18] << 8 | b[19];
        unsigned h = (unsigned)b[20] << 24 | (unsigned)b[21] << 16 | (unsigned)b[22] << 8 | b[23];
        pixels = (double)w * h;
    }
    double grew = scored - read;
    printf("peak RSS: %.1f MiB at start, %.1f after loading the model, %.1f after reading %.1f MiB of "
           "file, %.1f after scoring (+%.1f MiB", start, loaded, read, got / 1048576.0, scored, grew);
    if (pixels > 0) printf(" for %.1f Mpx: %.2f bytes per pixel", pixels / 1e6, grew * 1048576.0 / pixels);
    printf(")\n");
    free(data);
    robust_model_free(model);
    if (argc > 3 && pixels == 0) {
        printf("a bound needs a PNG (its size is read from the header)\n");
        return 1;
    }
    if (argc > 3) {
        double bound = atof(argv[3]) * pixels / 1048576.0 + 32.0;
        if (grew > bound) {
            printf("above the bound of %.1f MiB (%s bytes per pixel + 32 MiB)\n", bound, argv[3]);
            return 1;
        }
    }
    return 0;
}
