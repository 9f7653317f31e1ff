/* intake.c — `rodeo intake PHOTO...`: runs the image intake pipeline on files and prints one
 * JSON line each (verdict, format, hashes, EXIF summary, per-stage timings). For checking
 * what the recognition endpoint would accept, and for debugging uploads. */
#include "cli/cli.h"
#include "vision/intake.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *out)
{
    fprintf(out, "usage: rodeo intake [--consent] [--size N] [--max-mp N] PHOTO...\n"
                 "  --consent    treat as consent_to_fingerprinting=true (GPS, serials, device id)\n"
                 "  --size N     model input side (default 224)\n"
                 "  --max-mp N   pixel cap in megapixels (default 50)\n"
                 "Exit status 0 when every photo was accepted, 1 otherwise.\n");
}

int cmd_intake(int argc, char **argv)
{
    if (cli_wants_help(argc, argv)) { usage(stdout); return 0; }
    vision_intake_options_t o;
    vision_intake_options_default(&o);
    int first = 1;
    for (; first < argc && !strncmp(argv[first], "--", 2); first++) {
        if (!strcmp(argv[first], "--consent")) o.consent = 1;
        else if (!strcmp(argv[first], "--size") && first + 1 < argc) o.input_size = atoi(argv[++first]);
        else if (!strcmp(argv[first], "--max-mp") && first + 1 < argc)
            o.max_pixels = (uint64_t)(atof(argv[++first]) * 1e6);
        else { usage(stderr); return 2; }
    }
    if (first >= argc || o.input_size < 1 || o.input_size > 4096) { usage(stderr); return 2; }
    int failed = 0;
    for (int i = first; i < argc; i++) {
        vision_intake_t r;
        if (vision_intake_file(argv[i], &o, &r) != 0) failed = 1;
        char *js = vision_intake_to_json(&r);
        printf("%s\n", js);
        free(js);
        vision_intake_free(&r);
    }
    return failed;
}
