/* user.c — `rodeo user create|admin`: account administration from the shell.
 * The password is read from standard input (--password-stdin) so it never appears in the
 * process list or shell history. */
#include "auth/password.h"
#include "cli/cli.h"
#include "core/config.h"
#include "core/str.h"
#include "store/store.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static void usage(FILE *out)
{
    fprintf(out,
            "usage: rodeo user create --email E --password-stdin [--full-name NAME] [--admin]\n"
            "       rodeo user admin --email E [--revoke]\n");
}

static store_t *open_store(void)
{
    char err[512];
    mkdir(g_config.data_dir, 0700);
    store_t *st = store_open(g_config.database_url, g_config.data_dir, 1, err, sizeof err);
    if (st && store_migrate(st, err, sizeof err) < 0) { store_close(st); st = NULL; }
    if (!st) fprintf(stderr, "rodeo user: %s\n", err);
    return st;
}

static int create(const char *email, const char *full_name, bool admin)
{
    char pw[1100];
    if (!fgets(pw, sizeof pw, stdin)) { fprintf(stderr, "rodeo user: no password on stdin\n"); return 1; }
    pw[strcspn(pw, "\r\n")] = 0;
    char em[300];
    snprintf(em, sizeof em, "%s", email);
    str_lower(str_trim(em));
    const char *weak = password_weakness(pw, em);
    if (weak) { fprintf(stderr, "rodeo user: %s\n", weak); return 1; }
    char *hash = password_hash(pw);
    store_t *st = hash ? open_store() : NULL;
    if (!st) { free(hash); return 1; }
    store_new_user_t u = {.email = em, .password_hash = hash, .full_name = full_name, .is_admin = admin};
    int64_t id = 0;
    int rc = store_user_create(st, &u, &id);
    free(hash);
    store_close(st);
    if (rc == STORE_CONFLICT) { fprintf(stderr, "rodeo user: %s already exists\n", em); return 1; }
    if (rc != STORE_OK) { fprintf(stderr, "rodeo user: could not create the user\n"); return 1; }
    printf("created user %lld <%s>%s\n", (long long)id, em, admin ? " (admin)" : "");
    return 0;
}

static int set_admin(const char *email, bool admin)
{
    store_t *st = open_store();
    if (!st) return 1;
    char em[300];
    snprintf(em, sizeof em, "%s", email);
    str_lower(str_trim(em));
    int64_t id = 0;
    char *hash = NULL;
    bool active;
    int rc = store_user_auth_by_email(st, em, &id, &hash, &active);
    free(hash);
    if (rc == STORE_OK) rc = store_user_set_admin(st, id, admin);
    store_close(st);
    if (rc == STORE_NOT_FOUND) { fprintf(stderr, "rodeo user: no user %s\n", em); return 1; }
    if (rc != STORE_OK) { fprintf(stderr, "rodeo user: update failed\n"); return 1; }
    printf("%s is %s an admin\n", em, admin ? "now" : "no longer");
    return 0;
}

int cmd_user(int argc, char **argv)
{
    if (argc < 2 || cli_wants_help(argc, argv)) { usage(argc < 2 ? stderr : stdout); return argc < 2 ? 2 : 0; }
    const char *email = NULL, *name = NULL;
    bool admin = false, revoke = false, pw_stdin = false;
    for (int i = 2; i < argc; i++) {
        if (!strcmp(argv[i], "--email") && i + 1 < argc) email = argv[++i];
        else if (!strcmp(argv[i], "--full-name") && i + 1 < argc) name = argv[++i];
        else if (!strcmp(argv[i], "--admin")) admin = true;
        else if (!strcmp(argv[i], "--revoke")) revoke = true;
        else if (!strcmp(argv[i], "--password-stdin")) pw_stdin = true;
        else { fprintf(stderr, "rodeo user: bad option '%s'\n", argv[i]); usage(stderr); return 2; }
    }
    if (!email) { fprintf(stderr, "rodeo user: --email is required\n"); return 2; }
    if (cli_init_config() != 0) return 1;
    if (!strcmp(argv[1], "create")) {
        if (!pw_stdin) { fprintf(stderr, "rodeo user create: --password-stdin is required\n"); return 2; }
        return create(email, name, admin);
    }
    if (!strcmp(argv[1], "admin")) return set_admin(email, !revoke);
    usage(stderr);
    return 2;
}
