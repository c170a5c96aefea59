/* A decompression bomb's header for the C clients' tests: a PNG signature and IHDR chunk
 * (valid CRC) claiming w x h RGB pixels, and nothing else. Writes 33 bytes, returns 33. */
#ifndef ROBUST_EXAMPLES_PNG_BOMB_H
#define ROBUST_EXAMPLES_PNG_BOMB_H
#include <stddef.h>
#include <stdint.h>
#include <string.h>

static uint32_t crc32_of(const unsigned char *p, size_t n) {
    uint32_t c = 0xFFFFFFFFu;
    for (size_t i = 0; i < n; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++) c = (c >> 1) ^ (0xEDB88320u & (0u - (c & 1u)));
    }
    return c ^ 0xFFFFFFFFu;
}

static size_t bomb_png(unsigned char out[33], uint32_t w, uint32_t h) {
    static const unsigned char head[16] = {137, 80, 78, 71, 13, 10, 26, 10, 0, 0, 0, 13, 'I', 'H', 'D', 'R'};
    memcpy(out, head, 16);
    unsigned char *d = out + 16;
    d[0] = w >> 24; d[1] = w >> 16; d[2] = w >> 8; d[3] = w;
    d[4] = h >> 24; d[5] = h >> 16; d[6] = h >> 8; d[7] = h;
    d[8] = 8; d[9] = 2; d[10] = 0; d[11] = 0; d[12] = 0;
    uint32_t crc = crc32_of(out + 12, 17);
    d[13] = crc >> 24; d[14] = crc >> 16; d[15] = crc >> 8; d[16] = crc;
    return 33;
}
#endif
