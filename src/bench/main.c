/* main.c: the main() that libhotpath_bench.a supplies: flags, profiles,
 * the timeout, the benchmarks, and go test's closing lines
 * ("PASS" / "ok  <pkg> <seconds>s", or "FAIL" and status 1). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench/internal.h"
#include "hotpath/prof.h"

/* Go's time.Duration.String for whole seconds and up ("10m0s"). */
static void format_duration(char *buf, size_t len, int64_t ns)
{
    int64_t s = ns / 1000000000;
    if (s < 60)
        snprintf(buf, len, "%gs", (double)ns / 1e9);
    else if (s < 3600)
        snprintf(buf, len, "%lldm%llds", (long long)(s / 60), (long long)(s % 60));
    else
        snprintf(buf, len, "%lldh%lldm%llds", (long long)(s / 3600), (long long)(s / 60 % 60),
                 (long long)(s % 60));
}

static void *watchdog(void *arg)
{
    (void)arg;
    struct timespec ts = {(time_t)(hpb_cfg.timeout_ns / 1000000000),
                          (long)(hpb_cfg.timeout_ns % 1000000000)};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
    char d[64];
    format_duration(d, sizeof d, hpb_cfg.timeout_ns);
    fflush(stdout);
    fprintf(stderr, "\npanic: test timed out after %s\n", d);
    _exit(2);
}

static int open_out(const char *path)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) fprintf(stderr, "testing: %s: %s\n", path, strerror(errno));
    return fd;
}

static int start_profiles(int *cpu_fd)
{
    *cpu_fd = -1;
    if (hpb_cfg.memprofilerate >= 0) hp_set_memprofile_rate(hpb_cfg.memprofilerate);
    if (hpb_cfg.cpuprofile == NULL) return 0;
    *cpu_fd = open_out(hpb_cfg.cpuprofile);
    if (*cpu_fd < 0) return 1;
    int err = hp_cpuprofile_start(*cpu_fd);
    if (err != 0) {
        fprintf(stderr, "testing: can't start cpu profile: %s\n", strerror(err));
        return 1;
    }
    return 0;
}

static int stop_profiles(int cpu_fd)
{
    int rc = 0;
    if (cpu_fd >= 0) {
        hp_cpuprofile_stop();
        if (close(cpu_fd) != 0) rc = 1;
    }
    if (hpb_cfg.memprofile != NULL) {
        int fd = open_out(hpb_cfg.memprofile);
        if (fd < 0) return 1;
        int err = hp_profile_write("allocs", fd, 0);
        if (err != 0) fprintf(stderr, "testing: can't write %s: %s\n", hpb_cfg.memprofile,
                              strerror(err));
        if (close(fd) != 0 || err != 0) rc = 1;
    }
    return rc;
}

int main(int argc, char **argv)
{
    const char *slash = strrchr(argv[0], '/');
    hpb_pkg = slash ? slash + 1 : argv[0];
    int rc = hpb_flags_parse(argc, argv);
    if (rc != 0) return rc < 0 ? 0 : rc;
    pthread_t wd;
    if (hpb_cfg.timeout_ns > 0 && pthread_create(&wd, NULL, watchdog, NULL) == 0)
        pthread_detach(wd);
    int cpu_fd;
    if (start_profiles(&cpu_fd) != 0) return 1;
    int64_t t0 = hpb_now_ns();
    bool ok = hpb_run_all();
    if (stop_profiles(cpu_fd) != 0) ok = false;
    double secs = (double)(hpb_now_ns() - t0) / 1e9;
    if (ok) {
        printf("PASS\nok  \t%s\t%.3fs\n", hpb_pkg, secs);
        return 0;
    }
    printf("FAIL\nFAIL\t%s\t%.3fs\n", hpb_pkg, secs);
    return 1;
}
