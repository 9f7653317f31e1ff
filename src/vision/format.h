/* format.h — what a file is, decided by its magic bytes (never by extension or the
 * client's content type), and the error verdict every intake stage reports. */
#ifndef RODEO_VISION_FORMAT_H
#define RODEO_VISION_FORMAT_H
#include <stddef.h>
#include <stdint.h>

typedef enum {
    VISION_FORMAT_UNKNOWN = 0,
    VISION_FORMAT_JPEG,
    VISION_FORMAT_PNG,
    VISION_FORMAT_WEBP,
    /* recognised so the rejection can name them, but not decoded: */
    VISION_FORMAT_GIF,
    VISION_FORMAT_BMP,
    VISION_FORMAT_TIFF,
    VISION_FORMAT_HEIC,
    VISION_FORMAT_AVIF,
} vision_format_t;

/* Looks at the first bytes (16 are enough). */
vision_format_t vision_format_sniff(const uint8_t *data, size_t len);
/* "jpeg", "png", "webp", "gif", "bmp", "tiff", "heic", "avif", "unknown". */
const char *vision_format_name(vision_format_t f);
/* 1 for the formats intake decodes (JPEG, PNG, WebP). */
int vision_format_supported(vision_format_t f);

/* A rejection: the HTTP status to answer with, a stable machine code and a message for
 * humans. status 0 means no error. Codes: empty_file, file_too_large, invalid_image,
 * unsupported_format, corrupt_image, truncated_image, too_small, too_many_pixels,
 * too_many_scans, io_error, internal_error. */
typedef struct {
    int status;
    char code[32];
    char message[200];
} vision_error_t;

void vision_error_set(vision_error_t *e, int status, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
#endif
