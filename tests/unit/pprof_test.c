/* pprof_test: the symbolizer (symbolize.c) and the pprof writer (pprof.c).
 *
 * Built from the library's objects with -O1 -g -fno-omit-frame-pointer, so
 * that the stacks are real: a small frame-pointer walk records the return
 * addresses of known functions of this file, whose call lines are noted
 * with __LINE__.  One of them, pt_gamma_inl, is always inlined into
 * pt_beta, so its addresses must symbolize to two frames.
 *
 * Checks, in process: hpi_symtab names our functions with this file and the
 * exact call lines and start lines, expands the inlined call (callee first,
 * the call site's line in the caller), names libc and vdso code, spells an
 * unknown address "0x<hex>", lists the main program first with its build ID,
 * and keeps truthful has_* flags.  Then a profile with two sample types,
 * merged samples, string and numeric labels, a synthetic frame, drop_frames,
 * comments and a period is written, read back (zlib + protobuf-c) and
 * checked field by field: string 0 is "", ids are 1..n, every reference
 * resolves, samples merged with summed values, return addresses minus 1.
 *
 * Usage: pprof_test [OUT.pb.gz [FACTS.txt]]   (prints "N passed, N failed")
 * With OUT the profile stays there for integration/pprof_check.sh, and FACTS
 * gets the expected lines and values as shell assignments.
 */
#define _GNU_SOURCE
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <search.h>
#include <sys/auxv.h>
#include <unistd.h>
#include <zlib.h>

#include "prof/pprof.h"
#include "prof/profile.pb-c.h"
#include "prof/symbolize.h"
#include "test.h"

extern char __executable_start[], etext[];

enum { MAXPCS = 32 };

/* A captured stack. */
typedef struct pt_stack {
    uintptr_t pcs[MAXPCS];
    int n;
} pt_stack_t;

static pt_stack_t st_alpha, st_beta, st_delta, st_finder;
static uintptr_t libc_ra; /* a return address inside libc's tfind */
static int line_alpha, line_beta, line_gamma, line_delta, line_drop, line_run_alpha;

/* Return addresses from the caller of pt_walk outwards, while they stay in
 * this program's text (libc's frames have no frame pointers). */
__attribute__((noinline)) static void pt_walk(pt_stack_t *s)
{
    void **fp = __builtin_frame_address(0);
    s->n = 0;
    while (fp != NULL && s->n < MAXPCS) {
        uintptr_t ra = (uintptr_t)fp[1];
        if (ra < (uintptr_t)__executable_start || ra >= (uintptr_t)etext) break;
        s->pcs[s->n++] = ra;
        void **next = fp[0];
        if (next <= fp) break;
        fp = next;
    }
    __asm__ volatile("" ::: "memory");
}

__attribute__((noinline)) static void pt_alpha(void)
{
    line_alpha = __LINE__, pt_walk(&st_alpha);
    __asm__ volatile("" ::: "memory");
}

static inline __attribute__((always_inline)) void pt_gamma_inl(void)
{
    line_gamma = __LINE__, pt_walk(&st_beta);
    __asm__ volatile("" ::: "memory");
}

__attribute__((noinline)) static void pt_beta(void)
{
    line_beta = __LINE__, pt_gamma_inl();
    __asm__ volatile("" ::: "memory");
}

/* A frame to be cut by drop_frames: its caller pt_delta becomes the leaf. */
__attribute__((noinline)) static void pt_dropme(void)
{
    line_drop = __LINE__, pt_walk(&st_delta);
    __asm__ volatile("" ::: "memory");
}

__attribute__((noinline)) static void pt_delta(void)
{
    line_delta = __LINE__, pt_dropme();
    __asm__ volatile("" ::: "memory");
}

static void pt_nofree(void *p)
{
    (void)p;
}

static int pt_cmp(const void *a, const void *b)
{
    libc_ra = (uintptr_t)__builtin_return_address(0);
    return (*(const int *)a > *(const int *)b) - (*(const int *)a < *(const int *)b);
}

/* libc calls pt_cmp from tfind, an exported function: named from .dynsym
 * even where libc's debug info is not installed. */
__attribute__((noinline)) static void pt_finder(void)
{
    static int keys[2] = {1, 2};
    void *root = NULL;
    pt_walk(&st_finder);
    tsearch(&keys[0], &root, pt_cmp);
    tfind(&keys[1], &root, pt_cmp);
    tdestroy(root, pt_nofree);
    __asm__ volatile("" ::: "memory");
}

__attribute__((noinline)) static void pt_run(void)
{
    line_run_alpha = __LINE__, pt_alpha();
    pt_beta();
    pt_delta();
    pt_finder();
    __asm__ volatile("" ::: "memory");
}

/* ---- The symbolizer ---- */

static int ends_with(const char *s, const char *suffix)
{
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && strcmp(s + a - b, suffix) == 0;
}

static void test_symtab_own(hpi_symtab_t *t)
{
    hpi_frame_t f[8];
    int n = hpi_symtab_lookup(t, st_alpha.pcs[0] - 1, f, 8);
    if (CHECK_EQ(n, 1)) {
        CHECK_MSG(strcmp(f[0].func, "pt_alpha") == 0, "got %s", f[0].func);
        CHECK_MSG(ends_with(f[0].file, "pprof_test.c"), "got %s", f[0].file);
        CHECK_EQ(f[0].line, line_alpha);
        CHECK_EQ(f[0].start_line, line_alpha - 2);
    }
    n = hpi_symtab_lookup(t, st_alpha.pcs[1] - 1, f, 8);
    CHECK_MSG(n == 1 && strcmp(f[0].func, "pt_run") == 0, "got %d %s", n, f[0].func);
    CHECK_EQ(f[0].line, line_run_alpha);
    /* The inlined call: pt_gamma_inl at its line, then pt_beta at the call. */
    n = hpi_symtab_lookup(t, st_beta.pcs[0] - 1, f, 8);
    if (CHECK_EQ(n, 2)) {
        CHECK_MSG(strcmp(f[0].func, "pt_gamma_inl") == 0, "got %s", f[0].func);
        CHECK_EQ(f[0].line, line_gamma);
        CHECK_EQ(f[0].start_line, line_gamma - 2);
        CHECK_MSG(ends_with(f[1].file, "pprof_test.c"), "got %s", f[1].file);
        CHECK_MSG(strcmp(f[1].func, "pt_beta") == 0, "got %s", f[1].func);
        CHECK_EQ(f[1].line, line_beta);
        CHECK_EQ(f[1].start_line, line_beta - 2);
    }
    /* max = 1 keeps the physical frame. */
    n = hpi_symtab_lookup(t, st_beta.pcs[0] - 1, f, 1);
    CHECK_MSG(n == 1 && strcmp(f[0].func, "pt_beta") == 0, "got %d %s", n, f[0].func);
}

/* The address of a function in the vdso, from its own ELF image's dynamic
 * symbols (the image is mapped whole, section headers included), or 0. */
static uint64_t vdso_function(void)
{
    const char *base = (const char *)getauxval(AT_SYSINFO_EHDR);
    if (base == NULL) return 0;
    const Elf64_Ehdr *eh = (const Elf64_Ehdr *)base;
    const Elf64_Shdr *sh = (const Elf64_Shdr *)(base + eh->e_shoff);
    uint64_t vaddr0 = 0; /* the link address of the image's start */
    const Elf64_Phdr *ph = (const Elf64_Phdr *)(base + eh->e_phoff);
    for (int i = 0; i < eh->e_phnum; i++)
        if (ph[i].p_type == PT_LOAD) vaddr0 = ph[i].p_vaddr - ph[i].p_offset;
    for (int i = 0; i < eh->e_shnum; i++) {
        if (sh[i].sh_type != SHT_DYNSYM) continue;
        const Elf64_Sym *sym = (const Elf64_Sym *)(base + sh[i].sh_offset);
        for (size_t j = 0; j < sh[i].sh_size / sizeof(*sym); j++)
            if (ELF64_ST_TYPE(sym[j].st_info) == STT_FUNC && sym[j].st_value != 0)
                return (uint64_t)(uintptr_t)base + sym[j].st_value - vaddr0;
    }
    return 0;
}

static void test_symtab_others(hpi_symtab_t *t)
{
    hpi_frame_t f[8];
    int n = hpi_symtab_lookup(t, libc_ra - 1, f, 8);
    CHECK_MSG(n >= 1 && strncmp(f[n - 1].func, "0x", 2) != 0, "libc: %s", f[n - 1].func);
    const hpi_mapping_t *m = hpi_symtab_mapping_of(t, libc_ra);
    CHECK_MSG(m && strstr(m->file, "libc") && m->has_functions, "libc mapping %s",
              m ? m->file : "none");
    /* The vdso: one of its functions is named. */
    uint64_t addr = vdso_function();
    if (CHECK(addr != 0)) {
        n = hpi_symtab_lookup(t, addr, f, 8);
        CHECK_MSG(strncmp(f[0].func, "0x", 2) != 0, "vdso entry: %s", f[0].func);
        m = hpi_symtab_mapping_of(t, addr);
        CHECK_MSG(m && strcmp(m->file, "[vdso]") == 0 && m->has_functions, "vdso mapping %s",
                  m ? m->file : "none");
    }
    /* An unknown address: one frame named by its value, no mapping. */
    n = hpi_symtab_lookup(t, 0x1234, f, 8);
    CHECK(n == 1 && strcmp(f[0].func, "0x1234") == 0 && f[0].file[0] == '\0' && f[0].line == 0);
    CHECK(hpi_symtab_mapping_of(t, 0x1234) == NULL);
}

static void test_symtab_mappings(hpi_symtab_t *t)
{
    int n;
    const hpi_mapping_t *m = hpi_symtab_mappings(t, &n);
    char exe[4096] = "";
    ssize_t len = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    if (!CHECK(n >= 2 && len > 0)) return;
    exe[len] = '\0';
    CHECK_MSG(strcmp(m[0].file, exe) == 0, "first mapping %s, exe %s", m[0].file, exe);
    CHECK(m[0].start <= (uint64_t)(uintptr_t)pt_alpha &&
          (uint64_t)(uintptr_t)pt_alpha < m[0].limit);
    CHECK_MSG(strlen(m[0].build_id) == 40 && strspn(m[0].build_id, "0123456789abcdef") == 40,
              "build id \"%s\"", m[0].build_id);
    CHECK(m[0].has_functions && m[0].has_filenames && m[0].has_line_numbers &&
          m[0].has_inline_frames);
    /* A mapping nobody looked up claims nothing. */
    int untouched = 0;
    for (int i = 0; i < n; i++)
        untouched += strstr(m[i].file, "libz") != NULL && !m[i].has_functions;
    CHECK_EQ(untouched, 1);
}

static void test_symtab(void)
{
    hpi_symtab_t *t = hpi_symtab_open();
    if (!CHECK(t != NULL)) return;
    test_symtab_own(t);
    test_symtab_others(t);
    test_symtab_mappings(t);
    hpi_symtab_close(t);
}

/* ---- The writer ---- */

/* Sample values: {samples/count, cpu/nanoseconds}. */
enum { NS = 1000000 };
static const int64_t v_alpha[2] = {1, 1 * NS}, v_beta[2] = {2, 2 * NS}, v_lost[2] = {5, 5 * NS},
                     v_delta[2] = {11, 11 * NS}, v_libc[2] = {7, 7 * NS};

static hpi_pprof_t *build_profile(void)
{
    hpi_pprof_vtype_t types[2] = {{"samples", "count"}, {"cpu", "nanoseconds"}};
    hpi_pprof_t *p = hpi_pprof_new(types, 2, "cpu");
    if (!CHECK(p != NULL)) return NULL;
    hpi_pprof_set_period(p, (hpi_pprof_vtype_t){"cpu", "nanoseconds"}, 10 * NS);
    hpi_pprof_set_time(p, 1700000000000000000ll, 2000000000ll);
    hpi_pprof_add_comment(p, "pprof_test comment");
    hpi_pprof_set_drop_frames(p, "pt_dropme");
    hpi_pprof_label_t worker[2] = {{"thread", "worker", 0, NULL}, {"bytes", NULL, 4096, "bytes"}};
    hpi_pprof_label_t worker_rev[2] = {worker[1], worker[0]}; /* label order does not matter */
    hpi_pprof_label_t other = {"thread", "other", 0, NULL}, mainl = {"thread", "main", 0, NULL};
    CHECK_EQ(hpi_pprof_add(p, st_alpha.pcs, st_alpha.n, false, v_alpha, worker, 2), 0);
    CHECK_EQ(hpi_pprof_add(p, st_alpha.pcs, st_alpha.n, false, v_alpha, worker_rev, 2), 0);
    CHECK_EQ(hpi_pprof_add(p, st_alpha.pcs, st_alpha.n, false, v_alpha, worker, 2), 0);
    CHECK_EQ(hpi_pprof_add(p, st_alpha.pcs, st_alpha.n, false, v_alpha, &other, 1), 0);
    CHECK_EQ(hpi_pprof_add(p, st_beta.pcs, st_beta.n, false, v_beta, &mainl, 1), 0);
    CHECK_EQ(hpi_pprof_add(p, st_delta.pcs, st_delta.n, false, v_delta, NULL, 0), 0);
    CHECK_EQ(hpi_pprof_add_synthetic(p, "pt_lost_events", v_lost, NULL, 0), 0);
    /* libc's frame, then pt_finder's stack. */
    uintptr_t pcs[MAXPCS + 1] = {libc_ra};
    memcpy(pcs + 1, st_finder.pcs, st_finder.n * sizeof(uintptr_t));
    CHECK_EQ(hpi_pprof_add(p, pcs, st_finder.n + 1, false, v_libc, NULL, 0), 0);
    return p;
}

/* ---- Reading a profile back ---- */

/* The gunzipped, unpacked profile in path, or NULL. */
static Perftools__Profiles__Profile *read_profile(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) return NULL;
    static unsigned char in[1 << 22];
    size_t nin = fread(in, 1, sizeof(in), f);
    fclose(f);
    if (nin < 2 || in[0] != 0x1f || in[1] != 0x8b) return NULL; /* gzip magic */
    size_t cap = 1 << 20, nout = 0;
    unsigned char *out = malloc(cap);
    z_stream z = {.next_in = in, .avail_in = (uInt)nin};
    int zr = inflateInit2(&z, 31);
    while (out != NULL && zr == Z_OK) {
        if (nout == cap) out = realloc(out, cap *= 2);
        if (out == NULL) break;
        z.next_out = out + nout;
        z.avail_out = (uInt)(cap - nout);
        zr = inflate(&z, Z_NO_FLUSH);
        nout = cap - z.avail_out;
    }
    inflateEnd(&z);
    Perftools__Profiles__Profile *p = NULL;
    if (zr == Z_STREAM_END && z.avail_in == 0)
        p = perftools__profiles__profile__unpack(NULL, nout, out);
    free(out);
    return p;
}

static const char *str(const Perftools__Profiles__Profile *p, int64_t i)
{
    return i >= 0 && (size_t)i < p->n_string_table ? p->string_table[i] : "<bad index>";
}

/* Ids are 1..n in list order and every reference resolves. */
static void check_structure(const Perftools__Profiles__Profile *p)
{
    CHECK(p->n_string_table > 0 && strcmp(p->string_table[0], "") == 0);
    int bad = 0;
    for (size_t i = 0; i < p->n_mapping; i++)
        bad += p->mapping[i]->id != i + 1;
    for (size_t i = 0; i < p->n_function; i++)
        bad += p->function[i]->id != i + 1 || (size_t)p->function[i]->name >= p->n_string_table;
    for (size_t i = 0; i < p->n_location; i++) {
        const Perftools__Profiles__Location *l = p->location[i];
        bad += l->id != i + 1 || l->mapping_id > p->n_mapping || l->n_line == 0;
        for (size_t j = 0; j < l->n_line; j++)
            bad += l->line[j]->function_id == 0 || l->line[j]->function_id > p->n_function;
    }
    for (size_t i = 0; i < p->n_sample; i++) {
        const Perftools__Profiles__Sample *s = p->sample[i];
        bad += s->n_value != p->n_sample_type;
        for (size_t j = 0; j < s->n_location_id; j++)
            bad += s->location_id[j] == 0 || s->location_id[j] > p->n_location;
    }
    CHECK_EQ(bad, 0);
}

static const Perftools__Profiles__Location *loc(const Perftools__Profiles__Profile *p, uint64_t id)
{
    return p->location[id - 1];
}

static const char *line_func(const Perftools__Profiles__Profile *p,
                             const Perftools__Profiles__Line *l)
{
    return str(p, p->function[l->function_id - 1]->name);
}

/* The sample whose leaf location has address addr and whose first label's
 * string value is label (NULL: no labels). */
static const Perftools__Profiles__Sample *find_sample(const Perftools__Profiles__Profile *p,
                                                      uint64_t addr, const char *label)
{
    for (size_t i = 0; i < p->n_sample; i++) {
        const Perftools__Profiles__Sample *s = p->sample[i];
        if (s->n_location_id == 0 || loc(p, s->location_id[0])->address != addr) continue;
        const char *l = NULL;
        for (size_t j = 0; j < s->n_label; j++)
            if (s->label[j]->str != 0) l = str(p, s->label[j]->str);
        if ((l == NULL && label == NULL) || (l && label && strcmp(l, label) == 0)) return s;
    }
    return NULL;
}

static void check_header(const Perftools__Profiles__Profile *p)
{
    CHECK_EQ(p->n_sample_type, 2);
    if (p->n_sample_type == 2) {
        CHECK(strcmp(str(p, p->sample_type[0]->type), "samples") == 0);
        CHECK(strcmp(str(p, p->sample_type[1]->unit), "nanoseconds") == 0);
    }
    CHECK(strcmp(str(p, p->default_sample_type), "cpu") == 0);
    CHECK(p->period_type && strcmp(str(p, p->period_type->type), "cpu") == 0);
    CHECK_EQ(p->period, 10 * NS);
    CHECK_EQ(p->time_nanos, 1700000000000000000ll);
    CHECK_EQ(p->duration_nanos, 2000000000ll);
    CHECK(p->n_comment == 1 && strcmp(str(p, p->comment[0]), "pprof_test comment") == 0);
    CHECK(strcmp(str(p, p->drop_frames), "pt_dropme") == 0);
    CHECK(p->n_mapping >= 2 && p->mapping[0]->has_functions && p->mapping[0]->has_filenames &&
          p->mapping[0]->has_line_numbers && p->mapping[0]->has_inline_frames);
}

static void check_samples(const Perftools__Profiles__Profile *p)
{
    CHECK_EQ(p->n_sample, 6); /* alpha x2 labels, beta, delta, lost, libc */
    const Perftools__Profiles__Sample *s = find_sample(p, st_alpha.pcs[0] - 1, "worker");
    if (CHECK(s != NULL && s->n_value == 2 && s->n_label == 2)) {
        CHECK_EQ(s->value[0], 3);
        CHECK_EQ(s->value[1], 3 * NS);
        CHECK(strcmp(str(p, s->label[0]->key), "bytes") == 0 && s->label[0]->num == 4096);
        CHECK(strcmp(str(p, s->label[0]->num_unit), "bytes") == 0);
        CHECK_EQ(s->n_location_id, st_alpha.n);
        const Perftools__Profiles__Location *l = loc(p, s->location_id[0]);
        CHECK(l->mapping_id == 1 && l->n_line == 1 &&
              strcmp(line_func(p, l->line[0]), "pt_alpha") == 0);
        CHECK_EQ(l->line[0]->line, line_alpha);
    }
    s = find_sample(p, st_alpha.pcs[0] - 1, "other");
    CHECK(s != NULL && s->value[0] == 1 && s->value[1] == NS);
    s = find_sample(p, st_beta.pcs[0] - 1, "main");
    if (CHECK(s != NULL)) {
        const Perftools__Profiles__Location *l = loc(p, s->location_id[0]);
        if (CHECK_EQ(l->n_line, 2)) {
            CHECK(strcmp(line_func(p, l->line[0]), "pt_gamma_inl") == 0);
            CHECK(strcmp(line_func(p, l->line[1]), "pt_beta") == 0);
            CHECK_EQ(l->line[0]->line, line_gamma);
            CHECK_EQ(l->line[1]->line, line_beta);
        }
    }
    s = find_sample(p, 0, NULL); /* the synthetic frame has no address */
    if (CHECK(s != NULL && s->n_location_id == 1)) {
        const Perftools__Profiles__Location *l = loc(p, s->location_id[0]);
        CHECK(l->mapping_id == 0 && l->n_line == 1);
        CHECK(strcmp(line_func(p, l->line[0]), "pt_lost_events") == 0);
        CHECK(s->value[0] == 5 && s->value[1] == 5 * NS);
    }
}

static void test_merge_many(const char *path)
{
    hpi_pprof_vtype_t t = {"n", "count"};
    hpi_pprof_t *p = hpi_pprof_new(&t, 1, NULL);
    if (!CHECK(p != NULL)) return;
    for (int i = 0; i < 20000; i++) {
        uintptr_t pcs[2] = {0x1000 + (uintptr_t)(i % 700), 0x9000};
        int64_t one = 1;
        hpi_pprof_add(p, pcs, 2, true, &one, NULL, 0);
    }
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    CHECK_EQ(hpi_pprof_write(p, fd), 0);
    close(fd);
    CHECK_EQ(hpi_pprof_write(p, -1), EBADF);
    hpi_pprof_free(p);
    Perftools__Profiles__Profile *r = read_profile(path);
    if (!CHECK(r != NULL)) return;
    check_structure(r);
    CHECK_EQ(r->n_sample, 700);
    CHECK_EQ(r->n_location, 701);
    int64_t sum = 0;
    int bad = 0;
    for (size_t i = 0; i < r->n_sample; i++) {
        sum += r->sample[i]->value[0];
        bad += loc(r, r->sample[i]->location_id[1])->address != 0x8fff;     /* return address - 1 */
        bad += loc(r, r->sample[i]->location_id[0])->address != 0x1000 + i; /* exact leaf */
    }
    CHECK_EQ(sum, 20000);
    CHECK_EQ(bad, 0);
    CHECK(r->default_sample_type == 0 && r->period_type == NULL);
    perftools__profiles__profile__free_unpacked(r, NULL);
}

static void write_facts(const char *path)
{
    FILE *f = fopen(path, "w");
    if (!CHECK(f != NULL)) return;
    hpi_symtab_t *t = hpi_symtab_open();
    hpi_frame_t fr[8] = {{"", "", 0, 0}};
    if (t) hpi_symtab_lookup(t, libc_ra - 1, fr, 8);
    fprintf(f, "line_alpha=%d\nline_beta=%d\nline_gamma=%d\nline_delta=%d\n", line_alpha, line_beta,
            line_gamma, line_delta);
    fprintf(f, "line_drop=%d\nline_run_alpha=%d\nlibc_leaf='%s'\n", line_drop, line_run_alpha,
            fr[0].func);
    hpi_symtab_close(t);
    fclose(f);
}

int main(int argc, char **argv)
{
    char tmp[] = "/tmp/pprof_test.XXXXXX";
    int tfd = mkstemp(tmp);
    if (!CHECK(tfd >= 0)) return TEST_DONE();
    close(tfd);
    const char *out = argc > 1 ? argv[1] : tmp;
    pt_run();
    CHECK(st_alpha.n >= 3 && st_beta.n >= 3 && st_delta.n >= 4 && st_finder.n >= 3);
    test_symtab();
    hpi_pprof_t *p = build_profile();
    int fd = open(out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (p && CHECK(fd >= 0)) CHECK_EQ(hpi_pprof_write(p, fd), 0);
    close(fd);
    hpi_pprof_free(p);
    Perftools__Profiles__Profile *r = read_profile(out);
    if (CHECK(r != NULL)) {
        check_structure(r);
        check_header(r);
        check_samples(r);
        perftools__profiles__profile__free_unpacked(r, NULL);
    }
    if (argc > 2) write_facts(argv[2]);
    test_merge_many(tmp);
    unlink(tmp);
    return TEST_DONE();
}
