/* exif.h — the photo's own metadata (via libexif), reduced to the summary Rodeo keeps, and
 * the consent-gated device fingerprint.
 *
 * Privacy policy (issue 4, contract F10): camera make/model/software/lens, capture time,
 * orientation and exposure are always kept (they describe a camera type, not a person);
 * GPS position/altitude and serial-number-like fields (body serial, lens serial, owner
 * name) appear in the JSON only when the user consented, and the fingerprint is only
 * computed with consent. Without consent, a photo that carried GPS says only
 * "gps_withheld": true. */
#ifndef RODEO_VISION_EXIF_H
#define RODEO_VISION_EXIF_H
#include <stddef.h>
#include <stdint.h>

#define VISION_EXIF_STR 96

typedef struct {
    int  present;                       /* an EXIF block was found and parsed */
    char make[VISION_EXIF_STR], model[VISION_EXIF_STR], software[VISION_EXIF_STR];
    char lens_make[VISION_EXIF_STR], lens_model[VISION_EXIF_STR];
    char datetime_original[VISION_EXIF_STR];
    char body_serial[VISION_EXIF_STR], lens_serial[VISION_EXIF_STR], owner[VISION_EXIF_STR];
    int  orientation;                   /* 1..8, 0 when absent or out of range */
    double focal_length, f_number;      /* 0 when absent */
    int  iso;                           /* 0 when absent */
    int  has_gps;                       /* latitude/longitude valid */
    double latitude, longitude;         /* decimal degrees, south/west negative */
    int  has_altitude;
    double altitude;                    /* metres, below sea level negative */
} vision_exif_t;

/* Parses an EXIF block that starts with "Exif\0\0" (APP1 payload / PNG eXIf / WebP EXIF,
 * normalised by the decoder). Garbage or truncated data yields present = 0 or partial
 * fields, never an error: a photo with broken EXIF is still a photo. Strings are trimmed
 * and restricted to printable ASCII (others become '?'). */
void vision_exif_parse(const uint8_t *data, size_t len, vision_exif_t *out);

/* The summary JSON (compact, caller frees): format, width, height (as stored), fields
 * present in ex per the policy above. Never NULL. */
char *vision_exif_to_json(const vision_exif_t *ex, int consent, const char *format,
                          int width, int height);

/* SHA-256 hex over "rodeo-device-v1" + make, model, body serial, lens serial, owner
 * (each NUL-terminated, in that order). Returns 0, or -1 (out set to "") when none of those
 * fields is present: EXIF-less photos get no device id rather than one shared
 * "unknown" id (contract F26). The caller decides consent. */
int vision_exif_fingerprint(const vision_exif_t *ex, char out[65]);
#endif
