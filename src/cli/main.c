/* main.c — `rodeo` entry point: dispatches to the subcommand table. */
#include "cli/cli.h"
#include "core/config.h"
#include "core/log.h"
#include <stdio.h>
#include <string.h>

static const cli_command_t commands[] = {
    /* one line per command: {"name", cmd_name, "summary"} */
    {"serve",   cmd_serve,   "run the HTTP API and web app (and worker threads)"},
    {"migrate", cmd_migrate, "apply database schema migrations and exit"},
    {"user",    cmd_user,    "manage users: create, make admin"},
    {"index", cmd_index, "vector index: build/search/info/compact on .fvecs files"},
    {"kb",      cmd_kb,      "knowledge base: ingest files/dirs, list, search, remove"},
    {"intake", cmd_intake, "validate a photo, print format, hashes, EXIF, timings (JSON)"},
    {"catalog", cmd_catalog, "product catalog: import CSV/JSON Lines (+images, prices), list"},
    {"recognize", cmd_recognize, "recognise the product in a photo, print the JSON"},
    {"eval",    cmd_eval,    "eval recognition DIR: accuracy on a labelled photo folder"},
    {"models", cmd_models, "list / pull / verify model weight files"},
};
#define NCOMMANDS (sizeof commands / sizeof *commands)

static void usage(FILE *out)
{
    fprintf(out, "usage: rodeo <command> [options]\n\ncommands:\n");
    for (size_t i = 0; i < NCOMMANDS; i++)
        fprintf(out, "  %-10s %s\n", commands[i].name, commands[i].summary);
    fprintf(out, "\nrodeo <command> --help shows a command's options; configuration comes from the\n"
                 "environment (see README.md). rodeo --version prints the version.\n");
}

int cli_init_config(void)
{
    char err[256];
    if (config_load_env(err, sizeof err) != 0) {
        fprintf(stderr, "rodeo: configuration error: %s\n", err);
        return -1;
    }
    log_set_level(log_level_parse(g_config.log_level));
    return 0;
}

int cli_wants_help(int argc, char **argv)
{
    for (int i = 1; i < argc; i++)
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) return 1;
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2) { usage(stderr); return 2; }
    if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "version")) {
        printf("rodeo %s\n", RODEO_VERSION);
        return 0;
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        usage(stdout);
        return 0;
    }
    for (size_t i = 0; i < NCOMMANDS; i++)
        if (!strcmp(argv[1], commands[i].name)) {
            int rc = commands[i].run(argc - 1, argv + 1);
            config_free();
            return rc;
        }
    fprintf(stderr, "rodeo: unknown command '%s'\n\n", argv[1]);
    usage(stderr);
    return 2;
}
