/* imageio.c - PNG/JPEG codecs behind error codes (see robust_imageio.h). */
#include "robust_imageio.h"

#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jpeglib.h>
#include <jerror.h>
#include <png.h>

static void set_msg(char *msg, size_t cap, const char *text) {
    if (msg && cap > 0) {
        strncpy(msg, text, cap - 1);
        msg[cap - 1] = '\0';
    }
}

/* ---- JPEG ------------------------------------------------------------------------------ */

struct rio_jpeg_err {
    struct jpeg_error_mgr pub; /* must be first: libjpeg casts to this */
    jmp_buf jump;
    char text[JMSG_LENGTH_MAX];
    unsigned char *outbuf; /* encoder: libjpeg's output buffer, freed here on error */
};

static void rio_jpeg_error_exit(j_common_ptr cinfo) {
    struct rio_jpeg_err *err = (struct rio_jpeg_err *)cinfo->err;
    (*cinfo->err->format_message)(cinfo, err->text);
    longjmp(err->jump, 1);
}

/* Warnings (corrupt-but-recoverable data) are not fatal; keep libjpeg quiet on stderr. */
static void rio_jpeg_output_message(j_common_ptr cinfo) { (void)cinfo; }

/* Except one: data that ends early. libjpeg would pad the missing rows with gray and call it
 * a warning; a truncated upload must be an error, not a half-gray image. */
static void rio_jpeg_emit_message(j_common_ptr cinfo, int level) {
    if (level < 0 && cinfo->err->msg_code == JWRN_JPEG_EOF) {
        struct rio_jpeg_err *err = (struct rio_jpeg_err *)cinfo->err;
        snprintf(err->text, sizeof err->text, "data ends early (truncated file)");
        longjmp(err->jump, 1);
    }
    if (level < 0) cinfo->err->num_warnings++;
}

/* dst == NULL: read the header only and report the size (*out_w, *out_h). Otherwise decode
 * into dst, which holds (*out_w) x (*out_h) x 3 bytes: the size a probe of the same bytes gave. */
static int decode_jpeg(const uint8_t *data, size_t size, size_t max_pixels, uint8_t *dst,
                       int *out_w, int *out_h, char *msg, size_t cap) {
    struct jpeg_decompress_struct cinfo;
    struct rio_jpeg_err jerr;
    memset(&cinfo, 0, sizeof cinfo);
    cinfo.err = jpeg_std_error(&jerr.pub);
    jerr.pub.error_exit = rio_jpeg_error_exit;
    jerr.pub.output_message = rio_jpeg_output_message;
    jerr.pub.emit_message = rio_jpeg_emit_message;
    jerr.text[0] = '\0';
    if (setjmp(jerr.jump)) {
        jpeg_destroy_decompress(&cinfo);
        char buf[JMSG_LENGTH_MAX + 16];
        snprintf(buf, sizeof buf, "JPEG: %s", jerr.text);
        set_msg(msg, cap, buf);
        return RIO_ERR_DECODE;
    }
    jpeg_create_decompress(&cinfo);
    jpeg_mem_src(&cinfo, data, (unsigned long)size);
    jpeg_read_header(&cinfo, TRUE);
    if (cinfo.image_width == 0 || cinfo.image_height == 0) {
        jpeg_destroy_decompress(&cinfo);
        set_msg(msg, cap, "JPEG: zero-sized image");
        return RIO_ERR_EMPTY;
    }
    size_t npix = (size_t)cinfo.image_width * (size_t)cinfo.image_height;
    if (max_pixels && npix > max_pixels) {
        jpeg_destroy_decompress(&cinfo);
        set_msg(msg, cap, "JPEG: image has more pixels than the allowed maximum");
        return RIO_ERR_TOO_LARGE;
    }
    if (!dst) {
        *out_w = (int)cinfo.image_width;
        *out_h = (int)cinfo.image_height;
        jpeg_destroy_decompress(&cinfo);
        return RIO_OK;
    }
    cinfo.out_color_space = JCS_RGB; /* libjpeg converts grayscale and YCbCr; CMYK is rejected */
    jpeg_start_decompress(&cinfo);
    if (cinfo.output_components != 3) {
        jpeg_destroy_decompress(&cinfo);
        set_msg(msg, cap, "JPEG: unsupported color space");
        return RIO_ERR_DECODE;
    }
    if ((int)cinfo.output_width != *out_w || (int)cinfo.output_height != *out_h) {
        jpeg_destroy_decompress(&cinfo);
        set_msg(msg, cap, "JPEG: output size differs from the probed size");
        return RIO_ERR_DECODE;
    }
    size_t stride = (size_t)cinfo.output_width * 3;
    while (cinfo.output_scanline < cinfo.output_height) {
        JSAMPROW row = dst + stride * cinfo.output_scanline;
        jpeg_read_scanlines(&cinfo, &row, 1);
    }
    jpeg_finish_decompress(&cinfo);
    jpeg_destroy_decompress(&cinfo);
    return RIO_OK;
}

int robust_jpeg_encode(const uint8_t *rgb, int w, int h, int quality, uint8_t **out_data,
                       size_t *out_size, char *msg, size_t cap) {
    if (!rgb || w <= 0 || h <= 0) { set_msg(msg, cap, "JPEG: empty image"); return RIO_ERR_EMPTY; }
    struct jpeg_compress_struct cinfo;
    struct rio_jpeg_err jerr;
    unsigned long len = 0;
    memset(&cinfo, 0, sizeof cinfo);
    cinfo.err = jpeg_std_error(&jerr.pub);
    jerr.pub.error_exit = rio_jpeg_error_exit;
    jerr.pub.output_message = rio_jpeg_output_message;
    jerr.outbuf = NULL;
    if (setjmp(jerr.jump)) {
        jpeg_destroy_compress(&cinfo);
        free(jerr.outbuf);  /* libjpeg keeps the current buffer's address there */
        set_msg(msg, cap, jerr.text);
        return RIO_ERR_ENCODE;
    }
    jpeg_create_compress(&cinfo);
    jpeg_mem_dest(&cinfo, &jerr.outbuf, &len);
    cinfo.image_width = (JDIMENSION)w;
    cinfo.image_height = (JDIMENSION)h;
    cinfo.input_components = 3;
    cinfo.in_color_space = JCS_RGB;
    jpeg_set_defaults(&cinfo);
    jpeg_set_quality(&cinfo, quality < 1 ? 1 : (quality > 100 ? 100 : quality), TRUE);
    jpeg_start_compress(&cinfo, TRUE);
    while (cinfo.next_scanline < cinfo.image_height) {
        JSAMPROW row = (JSAMPROW)(rgb + (size_t)cinfo.next_scanline * (size_t)w * 3);
        jpeg_write_scanlines(&cinfo, &row, 1);
    }
    jpeg_finish_compress(&cinfo);
    jpeg_destroy_compress(&cinfo);
    *out_data = jerr.outbuf;
    *out_size = len;
    return RIO_OK;
}

/* ---- PNG (simplified API: errors are reported in the struct, never by exit) -------------- */

/* As decode_jpeg: dst == NULL probes, else decodes into dst of the probed size. */
static int decode_png(const uint8_t *data, size_t size, size_t max_pixels, uint8_t *dst,
                      int *out_w, int *out_h, char *msg, size_t cap) {
    png_image img;
    memset(&img, 0, sizeof img);
    img.version = PNG_IMAGE_VERSION;
    if (!png_image_begin_read_from_memory(&img, data, size)) {
        char buf[128];
        snprintf(buf, sizeof buf, "PNG: %s", img.message);
        set_msg(msg, cap, buf);
        png_image_free(&img);
        return RIO_ERR_DECODE;
    }
    if (img.width == 0 || img.height == 0) {
        png_image_free(&img);
        set_msg(msg, cap, "PNG: zero-sized image");
        return RIO_ERR_EMPTY;
    }
    size_t npix = (size_t)img.width * (size_t)img.height;
    if (max_pixels && npix > max_pixels) {
        png_image_free(&img);
        set_msg(msg, cap, "PNG: image has more pixels than the allowed maximum");
        return RIO_ERR_TOO_LARGE;
    }
    if (!dst || (int)img.width != *out_w || (int)img.height != *out_h) {
        int probe = !dst;
        if (probe) { *out_w = (int)img.width; *out_h = (int)img.height; }
        png_image_free(&img);
        if (!probe) set_msg(msg, cap, "PNG: size differs from the probed size");
        return probe ? RIO_OK : RIO_ERR_DECODE;
    }
    img.format = PNG_FORMAT_RGB; /* gray expands to RGB */
    /* Alpha (and tRNS) is composited onto this background. With NULL, libpng composites onto
     * whatever dst already holds: uninitialized memory here, so transparent pixels were
     * nondeterministic. */
    static const png_color black = {0, 0, 0};
    if (!png_image_finish_read(&img, &black, dst, 0, NULL)) {
        char buf[128];
        snprintf(buf, sizeof buf, "PNG: %s", img.message);
        set_msg(msg, cap, buf);
        png_image_free(&img);
        return RIO_ERR_DECODE;
    }
    png_image_free(&img);
    return RIO_OK;
}

int robust_png_encode(const uint8_t *rgb, int w, int h, uint8_t **out_data, size_t *out_size,
                      char *msg, size_t cap) {
    if (!rgb || w <= 0 || h <= 0) { set_msg(msg, cap, "PNG: empty image"); return RIO_ERR_EMPTY; }
    png_image img;
    memset(&img, 0, sizeof img);
    img.version = PNG_IMAGE_VERSION;
    img.width = (png_uint_32)w;
    img.height = (png_uint_32)h;
    img.format = PNG_FORMAT_RGB;
    png_alloc_size_t len = 0;
    if (!png_image_write_to_memory(&img, NULL, &len, 0, rgb, 0, NULL)) {
        set_msg(msg, cap, img.message);
        return RIO_ERR_ENCODE;
    }
    uint8_t *buf = (uint8_t *)malloc(len);
    if (!buf) { set_msg(msg, cap, "PNG: out of memory"); return RIO_ERR_NOMEM; }
    if (!png_image_write_to_memory(&img, buf, &len, 0, rgb, 0, NULL)) {
        set_msg(msg, cap, img.message);
        free(buf);
        return RIO_ERR_ENCODE;
    }
    *out_data = buf;
    *out_size = len;
    return RIO_OK;
}

/* ---- dispatch ---------------------------------------------------------------------------- */

static int dispatch(const uint8_t *data, size_t size, size_t max_pixels, uint8_t *dst, int *w, int *h,
                    char *msg, size_t cap) {
    if (!data || size == 0) { set_msg(msg, cap, "empty input"); return RIO_ERR_EMPTY; }
    if (!w || !h) { set_msg(msg, cap, "null output pointer"); return RIO_ERR_DECODE; }
    static const uint8_t png_sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    if (size >= 8 && memcmp(data, png_sig, 8) == 0)
        return decode_png(data, size, max_pixels, dst, w, h, msg, cap);
    if (size >= 3 && data[0] == 0xFF && data[1] == 0xD8 && data[2] == 0xFF)
        return decode_jpeg(data, size, max_pixels, dst, w, h, msg, cap);
    set_msg(msg, cap, "not a PNG or JPEG file (unknown signature)");
    return RIO_ERR_FORMAT;
}

int robust_image_probe(const uint8_t *data, size_t size, size_t max_pixels, int *out_w, int *out_h,
                       char *msg, size_t cap) {
    return dispatch(data, size, max_pixels, NULL, out_w, out_h, msg, cap);
}

int robust_image_decode_into(const uint8_t *data, size_t size, size_t max_pixels, uint8_t *dst, int w,
                             int h, char *msg, size_t cap) {
    if (!dst || w <= 0 || h <= 0) { set_msg(msg, cap, "null or empty destination"); return RIO_ERR_DECODE; }
    return dispatch(data, size, max_pixels, dst, &w, &h, msg, cap);
}

void robust_imageio_free(void *p) { free(p); }
