/* migrate.c — `rodeo migrate`: apply pending schema migrations and exit. */
#include "cli/cli.h"
#include "core/config.h"
#include "store/store.h"
#include <stdio.h>
#include <string.h>
#include <errno.h>
#include <sys/stat.h>

int cmd_migrate(int argc, char **argv)
{
    if (cli_wants_help(argc, argv) || argc > 1) {
        printf("usage: rodeo migrate\n\nApplies pending migrations to DATABASE_URL (default: SQLite in "
               "RODEO_DATA_DIR) and prints the schema version.\n");
        return argc > 1 && !cli_wants_help(argc, argv) ? 2 : 0;
    }
    if (cli_init_config() != 0) return 1;
    mkdir(g_config.data_dir, 0700);
    char err[512];
    store_t *st = store_open(g_config.database_url, g_config.data_dir, 1, err, sizeof err);
    if (!st) { fprintf(stderr, "rodeo migrate: %s\n", err); return 1; }
    int v = store_migrate(st, err, sizeof err);
    if (v < 0) fprintf(stderr, "rodeo migrate: %s\n", err);
    else printf("schema version %d (%s)\n", v, store_backend(st));
    store_close(st);
    return v < 0 ? 1 : 0;
}
