/* cli.h — subcommands of the `rodeo` binary. Each lives in its own src/cli/<name>.c and is
 * listed once in the table in main.c. A command gets argv after its own name (argv[0] is the
 * command name) and returns the process exit code (0 ok, 1 failure, 2 usage error). */
#ifndef RODEO_CLI_H
#define RODEO_CLI_H

typedef struct {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
} cli_command_t;

int cmd_serve(int argc, char **argv);
int cmd_migrate(int argc, char **argv);
int cmd_user(int argc, char **argv);
int cmd_index(int argc, char **argv);
int cmd_kb(int argc, char **argv);
int cmd_intake(int argc, char **argv);
int cmd_catalog(int argc, char **argv);
int cmd_recognize(int argc, char **argv);
int cmd_eval(int argc, char **argv);
int cmd_models(int argc, char **argv);

/* Shared by commands: loads g_config from the environment and sets up logging; prints the
 * error and returns -1 on bad configuration. */
int cli_init_config(void);
/* True when argv has -h/--help at any position. */
int cli_wants_help(int argc, char **argv);
#endif
