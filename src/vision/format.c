/* format.c — magic-byte sniffing. HEIC/AVIF are ISO-BMFF files: "ftyp" at offset 4 followed
 * by a major brand; we recognise them only to give a precise 415. */
#include "vision/format.h"
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

vision_format_t vision_format_sniff(const uint8_t *d, size_t n)
{
    if (n >= 3 && d[0] == 0xFF && d[1] == 0xD8 && d[2] == 0xFF) return VISION_FORMAT_JPEG;
    if (n >= 8 && !memcmp(d, "\x89PNG\r\n\x1a\n", 8)) return VISION_FORMAT_PNG;
    if (n >= 12 && !memcmp(d, "RIFF", 4) && !memcmp(d + 8, "WEBP", 4)) return VISION_FORMAT_WEBP;
    if (n >= 6 && (!memcmp(d, "GIF87a", 6) || !memcmp(d, "GIF89a", 6))) return VISION_FORMAT_GIF;
    if (n >= 2 && d[0] == 'B' && d[1] == 'M') return VISION_FORMAT_BMP;
    if (n >= 4 && (!memcmp(d, "II*\0", 4) || !memcmp(d, "MM\0*", 4))) return VISION_FORMAT_TIFF;
    if (n >= 12 && !memcmp(d + 4, "ftyp", 4)) {
        const uint8_t *b = d + 8;
        if (!memcmp(b, "avif", 4) || !memcmp(b, "avis", 4)) return VISION_FORMAT_AVIF;
        if (!memcmp(b, "heic", 4) || !memcmp(b, "heix", 4) || !memcmp(b, "hevc", 4) ||
            !memcmp(b, "hevx", 4) || !memcmp(b, "heim", 4) || !memcmp(b, "heis", 4) ||
            !memcmp(b, "mif1", 4) || !memcmp(b, "msf1", 4))
            return VISION_FORMAT_HEIC;
    }
    return VISION_FORMAT_UNKNOWN;
}

const char *vision_format_name(vision_format_t f)
{
    switch (f) {
    case VISION_FORMAT_JPEG: return "jpeg";
    case VISION_FORMAT_PNG: return "png";
    case VISION_FORMAT_WEBP: return "webp";
    case VISION_FORMAT_GIF: return "gif";
    case VISION_FORMAT_BMP: return "bmp";
    case VISION_FORMAT_TIFF: return "tiff";
    case VISION_FORMAT_HEIC: return "heic";
    case VISION_FORMAT_AVIF: return "avif";
    default: return "unknown";
    }
}

int vision_format_supported(vision_format_t f)
{
    return f == VISION_FORMAT_JPEG || f == VISION_FORMAT_PNG || f == VISION_FORMAT_WEBP;
}

void vision_error_set(vision_error_t *e, int status, const char *code, const char *fmt, ...)
{
    if (!e) return;
    e->status = status;
    snprintf(e->code, sizeof e->code, "%s", code);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->message, sizeof e->message, fmt, ap);
    va_end(ap);
}
