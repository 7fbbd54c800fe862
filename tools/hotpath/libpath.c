/* tools/hotpath/libpath.c: find the libhotpath.so that `hotpath run` preloads.
 *
 * In order:
 *   1. $HOTPATH_LIB, if set and not empty (an error if it names no readable file);
 *   2. <dir of this executable>/../lib, which is where the build tree puts it
 *      (build/bin/hotpath, build/lib/libhotpath.so) and where an install with
 *      the default libdir does;
 *   3. <dir of this executable>/HPCLI_REL_LIBDIR, the installed libdir relative to
 *      the installed bindir as CMake computed it (e.g. ../lib/x86_64-linux-gnu).
 * In each directory the development name (libhotpath.so) is tried first, then
 * the soname (libhotpath.so.0), which is all a runtime-only package ships.
 *
 * The executable's own directory comes from /proc/self/exe, which the kernel
 * gives with symlinks resolved, so a symlink to the installed command works.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

#ifndef HPCLI_LIB_NAME
#define HPCLI_LIB_NAME "libhotpath.so"
#endif
#ifndef HPCLI_LIB_SONAME
#define HPCLI_LIB_SONAME "libhotpath.so.0"
#endif
#ifndef HPCLI_REL_LIBDIR
#define HPCLI_REL_LIBDIR "../lib"
#endif

/* LD_PRELOAD separates entries with spaces and colons: a path holding either
 * cannot be preloaded. */
static int libpath_preloadable(const char *path)
{
    return strpbrk(path, ": \t") == NULL;
}

static int libpath_from_env(const char *env, char *buf, size_t len, char *why, size_t whylen)
{
    char real[PATH_MAX];
    if (realpath(env, real) == NULL || access(real, R_OK) != 0) {
        snprintf(why, whylen, "HOTPATH_LIB=%s: %s", env, strerror(errno));
        return -1;
    }
    if (!libpath_preloadable(real)) {
        snprintf(why, whylen, "HOTPATH_LIB=%s: LD_PRELOAD cannot hold a path with ':' or blanks",
                 env);
        return -1;
    }
    if ((size_t)snprintf(buf, len, "%s", real) >= len) {
        snprintf(why, whylen, "HOTPATH_LIB=%s: path too long", env);
        return -1;
    }
    return 0;
}

/* The directory holding this executable, without a trailing slash. */
static int libpath_exe_dir(char *dir, size_t len)
{
    ssize_t n = readlink("/proc/self/exe", dir, len - 1);
    if (n <= 0 || (size_t)n >= len - 1) return -1;
    dir[n] = '\0';
    char *slash = strrchr(dir, '/');
    if (slash == NULL) return -1;
    *slash = '\0';
    return 0;
}

/* Try dir/name for both names; on success write the path to buf. */
static int libpath_try_dir(const char *dir, char *buf, size_t len)
{
    static const char *const names[] = {HPCLI_LIB_NAME, HPCLI_LIB_SONAME};
    char canon[PATH_MAX];
    if (realpath(dir, canon) == NULL) return -1;
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        if ((size_t)snprintf(buf, len, "%s/%s", canon, names[i]) >= len) continue;
        if (access(buf, R_OK) == 0 && libpath_preloadable(buf)) return 0;
    }
    return -1;
}

int hpcli_find_library(char *buf, size_t len, char *why, size_t whylen)
{
    const char *env = getenv("HOTPATH_LIB");
    if (env != NULL && env[0] != '\0') return libpath_from_env(env, buf, len, why, whylen);

    char exe_dir[PATH_MAX];
    if (libpath_exe_dir(exe_dir, sizeof(exe_dir)) != 0) {
        snprintf(why, whylen, "cannot find %s: cannot read /proc/self/exe; set HOTPATH_LIB",
                 HPCLI_LIB_NAME);
        return -1;
    }
    /* The build tree's layout, then the installed one (often the same). */
    static const char *const rel[] = {"../lib", HPCLI_REL_LIBDIR};
    char tried[2 * PATH_MAX + 16] = "";
    for (size_t i = 0; i < sizeof(rel) / sizeof(rel[0]); i++) {
        if (i > 0 && strcmp(rel[i], rel[0]) == 0) continue;
        char dir[PATH_MAX + 64];
        snprintf(dir, sizeof(dir), "%s/%s", exe_dir, rel[i]);
        if (libpath_try_dir(dir, buf, len) == 0) return 0;
        size_t used = strlen(tried);
        snprintf(tried + used, sizeof(tried) - used, "%s%s", used ? " or " : "", dir);
    }
    snprintf(why, whylen, "cannot find %s in %s; set HOTPATH_LIB to its path", HPCLI_LIB_NAME,
             tried);
    return -1;
}
