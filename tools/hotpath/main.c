/* tools/hotpath/main.c: the `hotpath` command.
 *
 *   hotpath run [flags] [--] prog [args...]   run prog with libhotpath preloaded
 *   hotpath benchstat [flags] inputs...       summarize and compare Go benchmarks
 *   hotpath version                           print the version and the library used
 *   hotpath help [command]                    print usage
 *
 * Subcommands are rows of one table; each lives in its own file (cli.h),
 * benchstat in its own directory.  Later issues add rows (pprof); until then
 * they do not exist here.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"

typedef struct hpcli_command {
    const char *name;
    const char *summary;
    int (*main)(int argc, char **argv); /* argv[0] is the subcommand name */
    void (*help)(void);
} hpcli_command_t;

static int help_main(int argc, char **argv);
static void help_help(void);

static const hpcli_command_t commands[] = {
    {"run", "run a program with libhotpath preloaded", hpcli_run_main, hpcli_run_help},
    {"benchstat", "summarize and compare Go benchmark results", hpcli_benchstat_main,
     hpcli_benchstat_help},
    {"version", "print the hotpath version and the library it preloads", hpcli_version_main,
     hpcli_version_help},
    {"help", "print this help, or a command's help", help_main, help_help},
};

#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

static const hpcli_command_t *find_command(const char *name)
{
    for (size_t i = 0; i < NCOMMANDS; i++) {
        if (strcmp(commands[i].name, name) == 0) return &commands[i];
    }
    return NULL;
}

static void print_usage(FILE *f)
{
    fprintf(f, "hotpath: Go's performance runtime for C.\n"
               "\n"
               "Usage:\n"
               "  hotpath <command> [arguments]\n"
               "\n"
               "Commands:\n");
    for (size_t i = 0; i < NCOMMANDS; i++)
        fprintf(f, "  %-9s %s\n", commands[i].name, commands[i].summary);
    fprintf(f, "\nUse \"hotpath help <command>\" for more about a command.\n");
}

void hpcli_error(const char *fmt, ...)
{
    va_list ap;
    fputs("hotpath: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

void hpcli_usage_error(const char *fmt, ...)
{
    va_list ap;
    fputs("hotpath: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputs("\nRun 'hotpath help' for usage.\n", stderr);
}

static void help_help(void)
{
    printf("usage: hotpath help [command]\n"
           "\n"
           "Print the list of commands, or the usage of one command.\n");
}

static int help_main(int argc, char **argv)
{
    if (argc < 2) {
        print_usage(stdout);
        return HPCLI_EXIT_OK;
    }
    if (argc > 2) {
        hpcli_usage_error("help takes at most one command name");
        return HPCLI_EXIT_USAGE;
    }
    const hpcli_command_t *c = find_command(argv[1]);
    if (c == NULL) {
        hpcli_usage_error("unknown command \"%s\"", argv[1]);
        return HPCLI_EXIT_USAGE;
    }
    c->help();
    return HPCLI_EXIT_OK;
}

static int is_help_flag(const char *s)
{
    return strcmp(s, "-h") == 0 || strcmp(s, "--help") == 0 || strcmp(s, "-help") == 0;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        print_usage(stderr);
        return HPCLI_EXIT_USAGE;
    }
    const char *name = argv[1];
    if (is_help_flag(name)) {
        print_usage(stdout);
        return HPCLI_EXIT_OK;
    }
    if (strcmp(name, "--version") == 0) name = "version";
    const hpcli_command_t *c = find_command(name);
    if (c == NULL) {
        if (name[0] == '-')
            hpcli_usage_error("unknown flag %s", name);
        else
            hpcli_usage_error("unknown command \"%s\"", name);
        return HPCLI_EXIT_USAGE;
    }
    int rc = c->main(argc - 1, argv + 1);
    if (fflush(stdout) != 0) {
        hpcli_error("writing output: %s", strerror(errno));
        if (rc == HPCLI_EXIT_OK) rc = HPCLI_EXIT_FAIL;
    }
    return rc;
}
