/* tools/hotpath/cli.h: what the files of the `hotpath` command share.
 *
 * The command is a table of subcommands (main.c); each subcommand lives in
 * its own file and exports one entry point with main()'s signature that
 * returns the process exit status.  Exit statuses follow the shell's rules:
 * 0 success, 1 failure, 2 usage error; `run` passes the program's own status
 * through, or 126/127 when the program cannot be executed, as env(1) does.
 *
 * The command links only libc (and libm, for benchstat's statistics): it
 * must not itself run on the allocator it preloads into other programs.
 */
#ifndef HOTPATH_TOOLS_CLI_H
#define HOTPATH_TOOLS_CLI_H

#include <stddef.h>

#define HPCLI_EXIT_OK 0
#define HPCLI_EXIT_FAIL 1
#define HPCLI_EXIT_USAGE 2
#define HPCLI_EXIT_CANNOT_INVOKE 126
#define HPCLI_EXIT_NOT_FOUND 127

/* main.c */
void hpcli_usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void hpcli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* benchstat/main.c: `hotpath benchstat`, golang/perf's benchstat in C. */
int hpcli_benchstat_main(int argc, char **argv);
void hpcli_benchstat_help(void);

/* libpath.c: where libhotpath.so is.  Writes the absolute path of the library
 * to preload into buf and returns 0, or returns -1 after writing to why (a
 * sentence for the user) what was tried. */
int hpcli_find_library(char *buf, size_t len, char *why, size_t whylen);

/* run.c */
int hpcli_run_main(int argc, char **argv);
void hpcli_run_help(void);

/* version.c */
int hpcli_version_main(int argc, char **argv);
void hpcli_version_help(void);

#endif /* HOTPATH_TOOLS_CLI_H */
