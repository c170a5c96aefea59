/* robust_imageio.h - decode and encode PNG/JPEG without ever exiting the process.
 *
 * libjpeg's default error handler calls exit(); here every libjpeg error longjmps back and
 * becomes a return code. PNG uses libpng's simplified png_image_* API, which reports errors
 * in the image struct. Decoded pixels are 8-bit RGB, interleaved (HWC), written into memory
 * the caller owns.
 *
 * Every function is reentrant: no global state.
 */
#ifndef ROBUST_IMAGEIO_H
#define ROBUST_IMAGEIO_H
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

enum {
    RIO_OK = 0,
    RIO_ERR_FORMAT = 1,   /* neither PNG nor JPEG by signature */
    RIO_ERR_DECODE = 2,   /* the codec rejected the data; message says why */
    RIO_ERR_TOO_LARGE = 3,/* width*height above max_pixels (decompression-bomb guard) */
    RIO_ERR_EMPTY = 4,    /* zero width or height, or empty input */
    RIO_ERR_NOMEM = 5,
    RIO_ERR_ENCODE = 6
};

/* Decode PNG or JPEG bytes (detected by signature) to RGB8, in two steps, so that the caller
 * owns the pixel memory and no copy is made. On failure a function returns an RIO_ERR_* code and
 * writes a NUL-terminated reason into msg (msg_cap bytes); max_pixels == 0 means no cap. Probe
 * reads only the header (size, and the max_pixels cap), decode_into then decodes into dst,
 * which must hold w * h * 3 bytes for the w and h the probe gave (other sizes are refused). */
int robust_image_probe(const uint8_t *data, size_t size, size_t max_pixels, int *out_w, int *out_h,
                       char *msg, size_t msg_cap);
int robust_image_decode_into(const uint8_t *data, size_t size, size_t max_pixels, uint8_t *dst,
                             int w, int h, char *msg, size_t msg_cap);

/* Encode RGB8 (HWC) as PNG / JPEG (quality 1..100). *out_data is malloc'd; free with robust_imageio_free. */
int robust_png_encode(const uint8_t *rgb, int w, int h, uint8_t **out_data, size_t *out_size,
                      char *msg, size_t msg_cap);
int robust_jpeg_encode(const uint8_t *rgb, int w, int h, int quality, uint8_t **out_data,
                       size_t *out_size, char *msg, size_t msg_cap);

void robust_imageio_free(void *p);

#ifdef __cplusplus
}
#endif
#endif
