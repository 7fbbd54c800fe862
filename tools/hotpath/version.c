/* tools/hotpath/version.c: `hotpath version`.
 *
 * Prints the version this command was built with and the library that
 * `hotpath run` would preload, which is the first thing to check when a
 * program does not seem to run on hotpath.
 */
#define _GNU_SOURCE
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "hotpath/hotpath.h"

void hpcli_version_help(void)
{
    printf("usage: hotpath version\n"
           "\n"
           "Print the hotpath version and the path of the libhotpath.so that\n"
           "'hotpath run' preloads, or why it cannot be found.\n");
}

int hpcli_version_main(int argc, char **argv)
{
    if (argc > 1 && (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0)) {
        hpcli_version_help();
        return HPCLI_EXIT_OK;
    }
    if (argc > 1) {
        hpcli_usage_error("version takes no arguments");
        return HPCLI_EXIT_USAGE;
    }
    printf("hotpath version %s\n", HP_VERSION_STRING);
    char lib[PATH_MAX], why[3 * PATH_MAX];
    if (hpcli_find_library(lib, sizeof(lib), why, sizeof(why)) != 0) {
        printf("library: not found: %s\n", why);
        return HPCLI_EXIT_OK;
    }
    printf("library: %s\n", lib);
    return HPCLI_EXIT_OK;
}
