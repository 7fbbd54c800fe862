/* symbolize.c: addresses to functions, files and lines (with inlined
 * frames), and the process's executable mappings with build IDs, from
 * elfutils libdw.  See symbolize.h and prof.h.
 *
 * A table opens a Dwfl session on this process (the modules listed in
 * /proc/self/maps, with their debug information found the standard way:
 * the file itself, .gnu_debuglink, /usr/lib/debug/.build-id) and reads the
 * executable mappings from /proc/self/maps.  A lookup takes the DWARF
 * scopes around the address: each DW_TAG_inlined_subroutine between the
 * address and its subprogram is one inlined frame, and its call site
 * (DW_AT_call_file, DW_AT_call_line) gives the position in the frame that
 * encloses it.  Without DWARF, the ELF symbol table still names the
 * function.  Every string returned lives in the table's arena until close.
 */
#define _GNU_SOURCE
#include "prof/symbolize.h"

#include <dwarf.h>
#include <elfutils/libdw.h>
#include <elfutils/libdwfl.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* A mapping with what its lookups found, to set the has_* flags. */
typedef struct map_state {
    hpi_mapping_t m;
    int64_t lookups, funcs, files, lines;
} map_state_t;

/* Strings copied into chunks that live as long as the table. */
typedef struct chunk {
    struct chunk *next;
    size_t used, cap;
    char data[];
} chunk_t;

struct hpi_symtab {
    Dwfl *dwfl;
    map_state_t *maps;
    hpi_mapping_t *out; /* hpi_symtab_mappings' result */
    int nmaps;
    chunk_t *chunks;
};

static const char *intern(hpi_symtab_t *t, const char *s)
{
    size_t n = strlen(s) + 1;
    chunk_t *c = t->chunks;
    if (c == NULL || c->cap - c->used < n) {
        size_t cap = n > 16384 ? n : 16384;
        c = malloc(sizeof *c + cap);
        if (c == NULL) return "";
        c->cap = cap;
        c->used = 0;
        c->next = t->chunks;
        t->chunks = c;
    }
    char *p = c->data + c->used;
    memcpy(p, s, n);
    c->used += n;
    return p;
}

static const char *hex_name(hpi_symtab_t *t, uint64_t addr)
{
    char buf[32];
    snprintf(buf, sizeof buf, "0x%" PRIx64, addr);
    return intern(t, buf);
}

/* ---- mappings ---- */

static void add_mapping(hpi_symtab_t *t, uint64_t lo, uint64_t hi, uint64_t off, const char *path,
                        int *cap)
{
    if (t->nmaps == *cap) {
        int ncap = *cap ? *cap * 2 : 32;
        map_state_t *m = realloc(t->maps, (size_t)ncap * sizeof *m);
        if (m == NULL) return;
        t->maps = m;
        *cap = ncap;
    }
    map_state_t *ms = &t->maps[t->nmaps++];
    memset(ms, 0, sizeof *ms);
    ms->m.start = lo;
    ms->m.limit = hi;
    ms->m.offset = off;
    ms->m.file = intern(t, path);
    ms->m.build_id = "";
}

/* The executable mappings of /proc/self/maps; the main program's first. */
static void read_maps(hpi_symtab_t *t)
{
    FILE *f = fopen("/proc/self/maps", "re");
    if (f == NULL) return;
    char exe[PATH_MAX] = "";
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    exe[n > 0 ? n : 0] = '\0';
    char line[PATH_MAX + 128];
    int cap = 0;
    while (fgets(line, sizeof line, f) != NULL) {
        uint64_t lo, hi, off;
        char perms[8];
        int pathpos = 0;
        if (sscanf(line, "%" SCNx64 "-%" SCNx64 " %7s %" SCNx64 " %*s %*u %n", &lo, &hi, perms,
                   &off, &pathpos) < 4 ||
            perms[2] != 'x')
            continue;
        char *path = pathpos > 0 ? line + pathpos : (char *)"";
        path[strcspn(path, "\n")] = '\0';
        add_mapping(t, lo, hi, off, path, &cap);
        if (exe[0] != '\0' && strcmp(path, exe) == 0 && t->nmaps > 1) {
            map_state_t tmp = t->maps[t->nmaps - 1]; /* the program goes first */
            memmove(&t->maps[1], &t->maps[0], (size_t)(t->nmaps - 1) * sizeof tmp);
            t->maps[0] = tmp;
        }
    }
    fclose(f);
}

static void set_build_id(hpi_symtab_t *t, map_state_t *ms)
{
    Dwfl_Module *mod = dwfl_addrmodule(t->dwfl, ms->m.start);
    const unsigned char *bits;
    GElf_Addr vaddr, bias;
    if (mod != NULL) dwfl_module_getelf(mod, &bias); /* the build ID is read with the ELF */
    int len = mod != NULL ? dwfl_module_build_id(mod, &bits, &vaddr) : -1;
    if (len <= 0 || len > 64) return;
    char hex[129];
    for (int i = 0; i < len; i++)
        snprintf(hex + 2 * i, 3, "%02x", bits[i]);
    ms->m.build_id = intern(t, hex);
}

static map_state_t *map_of(hpi_symtab_t *t, uint64_t addr)
{
    for (int i = 0; i < t->nmaps; i++)
        if (addr >= t->maps[i].m.start && addr < t->maps[i].m.limit) return &t->maps[i];
    return NULL;
}

/* ---- open and close ---- */

static char *debuginfo_path;
static const Dwfl_Callbacks callbacks = {
    .find_elf = dwfl_linux_proc_find_elf,
    .find_debuginfo = dwfl_standard_find_debuginfo,
    .debuginfo_path = &debuginfo_path,
};

hpi_symtab_t *hpi_symtab_open(void)
{
    hpi_symtab_t *t = calloc(1, sizeof *t);
    if (t == NULL) return NULL;
    t->dwfl = dwfl_begin(&callbacks);
    if (t->dwfl == NULL) {
        free(t);
        return NULL;
    }
    dwfl_report_begin(t->dwfl);
    int err = dwfl_linux_proc_report(t->dwfl, getpid());
    dwfl_report_end(t->dwfl, NULL, NULL);
    if (err != 0) {
        hpi_symtab_close(t);
        return NULL;
    }
    read_maps(t);
    for (int i = 0; i < t->nmaps; i++)
        set_build_id(t, &t->maps[i]);
    return t;
}

void hpi_symtab_close(hpi_symtab_t *t)
{
    if (t == NULL) return;
    if (t->dwfl) dwfl_end(t->dwfl);
    for (chunk_t *c = t->chunks, *next; c != NULL; c = next) {
        next = c->next;
        free(c);
    }
    free(t->maps);
    free(t->out);
    free(t);
}

/* ---- lookups ---- */

/* A function's name for a DIE: its linkage name when it has one (C++), else
 * its name, following abstract origins and specifications. */
static const char *die_func_name(Dwarf_Die *die)
{
    Dwarf_Attribute a;
    const char *s = NULL;
    if (dwarf_attr_integrate(die, DW_AT_linkage_name, &a) != NULL ||
        dwarf_attr_integrate(die, DW_AT_MIPS_linkage_name, &a) != NULL)
        s = dwarf_formstring(&a);
    if (s == NULL && dwarf_attr_integrate(die, DW_AT_name, &a) != NULL) s = dwarf_formstring(&a);
    return s;
}

static int64_t die_decl_line(Dwarf_Die *die)
{
    int line = 0;
    return dwarf_decl_line(die, &line) == 0 ? line : 0;
}

/* File name of a CU's file index (DW_AT_call_file). */
static const char *cu_file(Dwarf_Die *cudie, Dwarf_Word idx)
{
    Dwarf_Files *files;
    size_t n;
    if (dwarf_getsrcfiles(cudie, &files, &n) != 0 || idx >= n) return NULL;
    return dwarf_filesrc(files, idx, NULL, NULL);
}

static Dwarf_Word die_udata(Dwarf_Die *die, unsigned name)
{
    Dwarf_Attribute a;
    Dwarf_Word v = 0;
    if (dwarf_attr(die, name, &a) != NULL) dwarf_formudata(&a, &v);
    return v;
}

/* The first function DIE (inlined instance or subprogram) in scopes[from..ns)
 * into *out, then free scopes; false if none. */
static bool first_function(Dwarf_Die *scopes, int ns, int from, Dwarf_Die *out)
{
    bool found = false;
    for (int i = from; i < ns && !found; i++) {
        int tag = dwarf_tag(&scopes[i]);
        if (tag == DW_TAG_inlined_subroutine || tag == DW_TAG_subprogram) {
            *out = scopes[i];
            found = true;
        }
    }
    free(scopes);
    return found;
}

/* The innermost function DIE at a module-relative pc. */
static bool innermost_function(Dwarf_Die *cudie, Dwarf_Addr pc, Dwarf_Die *out)
{
    Dwarf_Die *scopes = NULL;
    int ns = dwarf_getscopes(cudie, pc, &scopes);
    return first_function(scopes, ns, 0, out);
}

/* The function DIE that contains `die` physically.  (dwarf_getscopes lists
 * an inlined instance's abstract scopes after it, not the function it was
 * inlined into: dwarf_getscopes_die gives the physical nesting.) */
static bool enclosing_function(Dwarf_Die *die, Dwarf_Die *out)
{
    Dwarf_Die *scopes = NULL;
    int ns = dwarf_getscopes_die(die, &scopes);
    return first_function(scopes, ns, 1, out);
}

/* Frames from DWARF: the innermost function at addr, then each function it
 * was inlined into, out to the subprogram.  Returns how many were written
 * (0: no DWARF here); *physical says whether the last is the subprogram. */
static int dwarf_frames(hpi_symtab_t *t, Dwfl_Module *mod, uint64_t addr, hpi_frame_t *fr, int max,
                        bool *physical)
{
    Dwarf_Addr bias;
    Dwarf_Die *cudie = dwfl_module_addrdie(mod, addr, &bias);
    Dwarf_Die fn;
    *physical = false;
    if (cudie == NULL || !innermost_function(cudie, addr - bias, &fn)) return 0;
    const char *file = "";
    int line = 0;
    Dwfl_Line *dl = dwfl_module_getsrc(mod, addr);
    if (dl != NULL) {
        const char *f = dwfl_lineinfo(dl, NULL, &line, NULL, NULL, NULL);
        if (f != NULL) file = f;
    }
    int n = 0;
    for (;;) {
        const char *name = die_func_name(&fn);
        fr[n].func = intern(t, name ? name : "??");
        fr[n].file = intern(t, file);
        fr[n].line = line;
        fr[n].start_line = die_decl_line(&fn);
        n++;
        if (dwarf_tag(&fn) == DW_TAG_subprogram) {
            *physical = true;
            break;
        }
        /* The enclosing frame is at this inlined call's site. */
        const char *cf = cu_file(cudie, die_udata(&fn, DW_AT_call_file));
        file = cf ? cf : "";
        line = (int)die_udata(&fn, DW_AT_call_line);
        if (n == max || !enclosing_function(&fn, &fn)) break;
    }
    return n;
}

int hpi_symtab_lookup(hpi_symtab_t *t, uint64_t addr, hpi_frame_t *fr, int max)
{
    if (max <= 0) return 0;
    map_state_t *ms = map_of(t, addr);
    Dwfl_Module *mod = dwfl_addrmodule(t->dwfl, addr);
    bool physical = false;
    int n = mod != NULL ? dwarf_frames(t, mod, addr, fr, max, &physical) : 0;
    const char *sym = mod != NULL ? dwfl_module_addrname(mod, addr) : NULL;
    if (physical && sym != NULL) fr[n - 1].func = intern(t, sym); /* the symbol's own name */
    if (n == 0) {
        fr[0].func = sym != NULL ? intern(t, sym) : hex_name(t, addr);
        fr[0].file = "";
        fr[0].line = 0;
        fr[0].start_line = 0;
        n = 1;
    }
    if (ms != NULL) {
        ms->lookups++;
        ms->funcs += sym != NULL || fr[0].func[0] != '0';
        ms->files += fr[0].file[0] != '\0';
        ms->lines += fr[0].line != 0;
    }
    return n;
}

const hpi_mapping_t *hpi_symtab_mapping_of(hpi_symtab_t *t, uint64_t addr)
{
    map_state_t *ms = map_of(t, addr);
    return ms != NULL ? &ms->m : NULL;
}

const hpi_mapping_t *hpi_symtab_mappings(hpi_symtab_t *t, int *n)
{
    free(t->out);
    t->out = malloc((size_t)(t->nmaps ? t->nmaps : 1) * sizeof *t->out);
    if (t->out == NULL) {
        *n = 0;
        return NULL;
    }
    for (int i = 0; i < t->nmaps; i++) {
        map_state_t *ms = &t->maps[i];
        t->out[i] = ms->m;
        /* Claim only what every lookup in the mapping found (pprof trusts
         * the flags and then does not symbolize on its own). */
        t->out[i].has_functions = ms->lookups > 0 && ms->funcs == ms->lookups;
        t->out[i].has_filenames = ms->lookups > 0 && ms->files == ms->lookups;
        t->out[i].has_line_numbers = ms->lookups > 0 && ms->lines == ms->lookups;
    }
    *n = t->nmaps;
    return t->out;
}
