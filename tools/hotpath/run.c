/* tools/hotpath/run.c: `hotpath run [flags] [--] prog [args...]`.
 *
 * Runs an unmodified program with libhotpath.so preloaded, so that its malloc
 * family and C++ new/delete are hotpath's:
 *   1. find the library (libpath.c);
 *   2. put it first in LD_PRELOAD, keeping whatever the user had there;
 *   3. execvp() the program in this process.
 * Because the program replaces this process, its exit status, and its death
 * by a signal, reach the caller unchanged.  If exec fails, exit like env(1):
 * 127 if the program was not found, 126 if it was found but cannot be run.
 *
 * The dynamic loader ignores LD_PRELOAD for set-user-ID and set-group-ID
 * programs; such a program runs on its own allocator.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

typedef struct run_flags {
    int verbose; /* -v: say what is preloaded */
} run_flags_t;

/* Flags that become environment variables for the library in the program. */
typedef struct env_flag {
    const char *flag, *var;
} env_flag_t;

static const env_flag_t env_flags[] = {
    {"-cpuprofile", "HOTPATH_CPUPROFILE"},
    {"-memprofile", "HOTPATH_MEMPROFILE"},
    {"-memprofilerate", "HOTPATH_MEMPROFILERATE"},
    {"-mutexprofilefraction", "HOTPATH_MUTEXPROFILEFRACTION"},
    {"-blockprofilerate", "HOTPATH_BLOCKPROFILERATE"},
    {"-http", "HOTPATH_HTTP"},
};

/* If a is one of env_flags ("-flag value", "-flag=value", or with "--"),
 * set its variable and return how many arguments it took (1 or 2); 0 if a
 * is not one; -1 on a usage error. */
static int run_env_flag(int argc, char **argv, int i)
{
    const char *a = argv[i];
    if (a[1] == '-') a++; /* --flag as -flag */
    for (size_t k = 0; k < sizeof env_flags / sizeof env_flags[0]; k++) {
        size_t n = strlen(env_flags[k].flag);
        if (strncmp(a, env_flags[k].flag, n) != 0 || (a[n] != '\0' && a[n] != '=')) continue;
        const char *val = a[n] == '=' ? a + n + 1 : (i + 1 < argc ? argv[i + 1] : NULL);
        if (val == NULL || *val == '\0') {
            hpcli_usage_error("run: %s needs a value", env_flags[k].flag);
            return -1;
        }
        setenv(env_flags[k].var, val, 1);
        if (strcmp(env_flags[k].var, "HOTPATH_HTTP") == 0) {
            /* Only the program serves, not the children it starts: it keeps
             * this process's pid across exec. */
            char pid[16];
            snprintf(pid, sizeof pid, "%d", (int)getpid());
            setenv("HOTPATH_HTTP_PID", pid, 1);
        }
        return a[n] == '=' ? 1 : 2;
    }
    return 0;
}

void hpcli_run_help(void)
{
    printf("usage: hotpath run [flags] [--] prog [args...]\n"
           "\n"
           "Run prog with libhotpath preloaded (LD_PRELOAD), so that its malloc,\n"
           "free, realloc, ... and C++ new/delete are hotpath's.  The program needs\n"
           "no rebuild.  Its exit status passes through unchanged; if it cannot be\n"
           "run, hotpath exits 127 (not found) or 126 (cannot execute).\n"
           "\n"
           "The '--' may be left out when prog does not start with '-'.\n"
           "\n"
           "Flags:\n"
           "  -cpuprofile f       write a CPU profile of the whole run to f\n"
           "                      (HOTPATH_CPUPROFILE)\n"
           "  -memprofile f       write the heap profile to f at exit\n"
           "                      (HOTPATH_MEMPROFILE)\n"
           "  -memprofilerate n   mean bytes between heap samples (default 524288;\n"
           "                      1: every allocation; HOTPATH_MEMPROFILERATE)\n"
           "  -mutexprofilefraction n  record 1 in n mutex contentions\n"
           "                      (HOTPATH_MUTEXPROFILEFRACTION; default 0, off)\n"
           "  -blockprofilerate ns  record blocking events, one per ns blocked\n"
           "                      (HOTPATH_BLOCKPROFILERATE; default 0, off)\n"
           "  -http addr          serve /debug/pprof/ on addr: 127.0.0.1:6060, [::1]:6060,\n"
           "                      unix:/path/to/socket\n"
           "                      (HOTPATH_HTTP; loopback only unless\n"
           "                      HOTPATH_HTTP_PUBLIC=1 and HOTPATH_HTTP_TOKEN are set;\n"
           "                      the program serves, not its children)\n"
           "  -v, --verbose       print the library preloaded and the program run\n"
           "  -h, --help          print this help\n"
           "\n"
           "Profiles are pprof files: read them with `go tool pprof f`.  A forked\n"
           "child writes its own, with its pid appended to the name.\n"
           "\n"
           "Environment:\n"
           "  HOTPATH_LIB     the libhotpath.so to preload (default: ../lib/libhotpath.so\n"
           "                  relative to this command)\n"
           "  LD_PRELOAD      kept, after libhotpath\n"
           "  HOTPATH_*       allocator options, read by the library in the program\n");
}

/* Parse flags; return the index of prog in argv, or -1 after printing help (*rc
 * set to 0) or a usage error (*rc set to 2). */
static int run_parse(int argc, char **argv, run_flags_t *fl, int *rc)
{
    int i;
    for (i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--") == 0) {
            i++;
            break;
        }
        if (a[0] != '-') break;
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            hpcli_run_help();
            *rc = HPCLI_EXIT_OK;
            return -1;
        }
        if (strcmp(a, "-v") == 0 || strcmp(a, "--verbose") == 0) {
            fl->verbose = 1;
            continue;
        }
        int took = run_env_flag(argc, argv, i);
        if (took < 0) {
            *rc = HPCLI_EXIT_USAGE;
            return -1;
        }
        if (took > 0) {
            i += took - 1;
            continue;
        }
        hpcli_usage_error("run: unknown flag %s", a);
        *rc = HPCLI_EXIT_USAGE;
        return -1;
    }
    if (i >= argc) {
        hpcli_usage_error("run: no program given");
        *rc = HPCLI_EXIT_USAGE;
        return -1;
    }
    return i;
}

/* Set LD_PRELOAD to lib, followed by the user's LD_PRELOAD if any. */
static int run_set_preload(const char *lib)
{
    const char *old = getenv("LD_PRELOAD");
    if (old == NULL || old[strspn(old, ": \t")] == '\0') return setenv("LD_PRELOAD", lib, 1);
    size_t n = strlen(lib) + 1 + strlen(old) + 1;
    char *val = malloc(n);
    if (val == NULL) return -1;
    snprintf(val, n, "%s:%s", lib, old);
    int rc = setenv("LD_PRELOAD", val, 1);
    free(val);
    return rc;
}

int hpcli_run_main(int argc, char **argv)
{
    run_flags_t fl = {0};
    int rc = HPCLI_EXIT_OK;
    int prog = run_parse(argc, argv, &fl, &rc);
    if (prog < 0) return rc;

    char lib[PATH_MAX], why[3 * PATH_MAX];
    if (hpcli_find_library(lib, sizeof(lib), why, sizeof(why)) != 0) {
        hpcli_error("%s", why);
        return HPCLI_EXIT_FAIL;
    }
    if (run_set_preload(lib) != 0) {
        hpcli_error("cannot set LD_PRELOAD: %s", strerror(errno));
        return HPCLI_EXIT_FAIL;
    }
    if (fl.verbose)
        fprintf(stderr, "hotpath: LD_PRELOAD=%s\nhotpath: running %s\n", getenv("LD_PRELOAD"),
                argv[prog]);
    fflush(NULL);
    execvp(argv[prog], argv + prog);
    int err = errno;
    hpcli_error("cannot run %s: %s", argv[prog], strerror(err));
    return err == ENOENT ? HPCLI_EXIT_NOT_FOUND : HPCLI_EXIT_CANNOT_INVOKE;
}
