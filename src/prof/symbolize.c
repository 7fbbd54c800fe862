/* symbolize.c: addresses to functions, files and lines with elfutils libdw,
 * and the process's executable mappings.  See symbolize.h for the contract
 * and prof.h for the profiling design.
 *
 * 1. Opening.  A Dwfl session reports every module of the own process from
 *    /proc/self/maps (dwfl_linux_proc_report; the vdso is read from memory),
 *    finding debug info the standard way (build-id links, .gnu_debuglink,
 *    /usr/lib/debug).  Separately, the r-x lines of /proc/self/maps become
 *    the mapping list, the main program (/proc/self/exe) moved first, each
 *    with the GNU build ID of the module that covers it.
 *
 * 2. Lookup.  The physical function is the ELF symbol at the address
 *    (dwfl_module_addrname), else the DWARF subprogram's name.  The line
 *    table gives the innermost file and line.  Inlining comes from the DWARF
 *    scopes around the address (dwarf_getscopes on the CU, then
 *    dwarf_getscopes_die from the innermost scope to get the concrete chain
 *    of parents): every DW_TAG_inlined_subroutine is one frame, innermost
 *    first, named by its abstract origin; its DW_AT_call_file/call_line is
 *    the position in the next-outer frame.  The enclosing DW_TAG_subprogram
 *    is the last frame.
 *
 * 3. Truthful flags.  Each mapping counts its lookups and what they found;
 *    has_functions (and the other flags) hold only while every lookup in
 *    the mapping found a name (a file, a line, DWARF scopes), so pprof never
 *    trusts a mapping with an unnamed location (spec section 4).
 *
 * A table belongs to one thread at a time (libdw sessions are not
 * thread-safe); nothing here is global.  Strings the table makes (paths,
 * build IDs, "0x<hex>" names) are kept on a list freed by
 * hpi_symtab_close; the others point into libdw's data, which lives as long
 * as the Dwfl session.  A lookup cannot fail, so when such a copy runs out
 * of memory it degrades: the symbol keeps its version suffix, an unknown
 * address is named "0x?".
 */
#define _GNU_SOURCE
#include "prof/symbolize.h"

#include "prof/dwlib.h"

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

/* What the lookups in one mapping found, counted. */
typedef struct symtab_stats {
    uint64_t lookups, funcs, files, lines, scopes;
} symtab_stats_t;

/* A string made by the table, on its free list. */
typedef struct symtab_str {
    struct symtab_str *next;
    char s[];
} symtab_str_t;

struct hpi_symtab {
    Dwfl *dwfl;
    hpi_mapping_t *maps;   /* executable mappings, the main program's first */
    symtab_stats_t *stats; /* parallel to maps */
    int nmaps, capmaps;
    symtab_str_t *strings; /* everything symtab_strdup made */
};

static char *debuginfo_path_none = NULL; /* NULL: libdw's default search path */

/* libdw's callbacks: set when libdw is loaded (symtab_dwfl_open). */
static Dwfl_Callbacks symtab_callbacks = {.debuginfo_path = &debuginfo_path_none};

/* A copy of s[0..len) owned by the table, or NULL when out of memory. */
static const char *symtab_strndup(hpi_symtab_t *t, const char *s, size_t len)
{
    symtab_str_t *n = malloc(sizeof(*n) + len + 1);
    if (n == NULL) return NULL;
    memcpy(n->s, s, len);
    n->s[len] = '\0';
    n->next = t->strings;
    t->strings = n;
    return n->s;
}

/* Append a mapping; 0 or ENOMEM. */
static int symtab_add_map(hpi_symtab_t *t, const hpi_mapping_t *m)
{
    if (t->nmaps == t->capmaps) {
        int cap = t->capmaps ? 2 * t->capmaps : 16;
        hpi_mapping_t *maps = realloc(t->maps, cap * sizeof(*maps));
        if (maps == NULL) return ENOMEM;
        t->maps = maps;
        symtab_stats_t *st = realloc(t->stats, cap * sizeof(*st));
        if (st == NULL) return ENOMEM;
        t->stats = st;
        t->capmaps = cap;
    }
    t->maps[t->nmaps] = *m;
    memset(&t->stats[t->nmaps], 0, sizeof(t->stats[0]));
    t->nmaps++;
    return 0;
}

/* Parse one line of /proc/self/maps; an executable mapping is appended.
 * 0 or ENOMEM. */
static int symtab_parse_maps_line(hpi_symtab_t *t, const char *line)
{
    unsigned long start, limit, offset;
    char perms[8];
    int pathpos = 0;
    if (sscanf(line, "%lx-%lx %7s %lx %*s %*s %n", &start, &limit, perms, &offset, &pathpos) < 4)
        return 0;
    if (perms[0] != 'r' || perms[2] != 'x' || pathpos == 0) return 0;
    const char *path = line + pathpos;
    size_t len = strcspn(path, "\n");
    if (len == 0) return 0; /* anonymous code (a JIT): no file to name */
    hpi_mapping_t m = {.start = start, .limit = limit, .offset = offset, .build_id = ""};
    m.file = symtab_strndup(t, path, len);
    if (m.file == NULL) return ENOMEM;
    return symtab_add_map(t, &m);
}

/* The r-x lines of /proc/self/maps.  0 or an errno value. */
static int symtab_read_maps(hpi_symtab_t *t)
{
    FILE *f = fopen("/proc/self/maps", "re");
    if (f == NULL) return errno;
    char *line = NULL;
    size_t cap = 0;
    int err = 0;
    errno = 0;
    while (err == 0 && getline(&line, &cap, f) >= 0)
        err = symtab_parse_maps_line(t, line);
    if (err == 0 && errno != 0) err = errno; /* getline failed before the end */
    free(line);
    fclose(f);
    return err;
}

/* Move the main program's first mapping to the front of the list. */
static void symtab_main_first(hpi_symtab_t *t)
{
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    if (n <= 0) return;
    exe[n] = '\0';
    for (int i = 0; i < t->nmaps; i++) {
        if (strcmp(t->maps[i].file, exe) != 0) continue;
        hpi_mapping_t m = t->maps[i];
        memmove(&t->maps[1], &t->maps[0], i * sizeof(t->maps[0]));
        t->maps[0] = m;
        return; /* stats are all zero still: no need to move them */
    }
}

/* The build ID of the module covering m, as hex, or "".  0 or ENOMEM. */
static int symtab_build_id(hpi_symtab_t *t, hpi_mapping_t *m)
{
    Dwfl_Module *mod = hpi_dw.dwfl_addrmodule(t->dwfl, m->start);
    if (mod == NULL) return 0;
    Dwarf_Addr bias;
    (void)hpi_dw.dwfl_module_getelf(mod, &bias); /* loads the ELF so the ID is known */
    const unsigned char *bits;
    GElf_Addr vaddr;
    int len = hpi_dw.dwfl_module_build_id(mod, &bits, &vaddr);
    if (len <= 0) return 0;
    char hex[2 * 256 + 1];
    if (len > 256) len = 256;
    for (int i = 0; i < len; i++)
        snprintf(hex + 2 * i, 3, "%02x", bits[i]);
    m->build_id = symtab_strndup(t, hex, 2 * (size_t)len);
    return m->build_id ? 0 : ENOMEM;
}

/* Where libdw finds a module's separate debug information: libdw's
 * standard search, unless DEBUGINFOD_URLS is set (as Debian's shell
 * profile does), for then the standard search ends by asking those servers,
 * and a profile written in a server would download debug files from the
 * network.  Then only the local .build-id tree is searched
 * (/usr/lib/debug/.build-id, where Debian's -dbgsym packages put them). */
static int symtab_find_debuginfo(Dwfl_Module *mod, void **userdata, const char *modname,
                                 Dwarf_Addr base, const char *file_name,
                                 const char *debuglink_file, GElf_Word debuglink_crc,
                                 char **debuginfo_file_name)
{
    const char *urls = getenv("DEBUGINFOD_URLS");
    bool local_only = urls != NULL && urls[0] != '\0';
    return (local_only ? hpi_dw.dwfl_build_id_find_debuginfo : hpi_dw.dwfl_standard_find_debuginfo)(
        mod, userdata, modname, base, file_name, debuglink_file, debuglink_crc,
        debuginfo_file_name);
}

/* A Dwfl session reporting the own process's modules in t->dwfl.  0 or an
 * errno value (EIO when libdw gives no errno). */
static int symtab_dwfl_open(hpi_symtab_t *t)
{
    if (hpi_dw_load() != 0) return ENOENT;
    symtab_callbacks.find_elf = hpi_dw.dwfl_linux_proc_find_elf; /* same values each time */
    symtab_callbacks.find_debuginfo = symtab_find_debuginfo;
    Dwfl *d = hpi_dw.dwfl_begin(&symtab_callbacks);
    if (d == NULL) return ENOMEM; /* its only failure */
    hpi_dw.dwfl_report_begin(d);
    int r = hpi_dw.dwfl_linux_proc_report(d, getpid());
    if (hpi_dw.dwfl_report_end(d, NULL, NULL) != 0 && r == 0) r = EIO;
    if (r != 0) {
        hpi_dw.dwfl_end(d);
        return r > 0 ? r : EIO;
    }
    t->dwfl = d;
    return 0;
}

hpi_symtab_t *hpi_symtab_open(void)
{
    hpi_symtab_t *t = calloc(1, sizeof(*t));
    if (t == NULL) {
        errno = ENOMEM;
        return NULL;
    }
    int err = symtab_dwfl_open(t);
    if (err == 0) err = symtab_read_maps(t);
    if (err == 0) symtab_main_first(t);
    for (int i = 0; err == 0 && i < t->nmaps; i++)
        err = symtab_build_id(t, &t->maps[i]);
    if (err == 0) return t;
    hpi_symtab_close(t);
    errno = err;
    return NULL;
}

void hpi_symtab_close(hpi_symtab_t *t)
{
    if (t == NULL) return;
    if (t->dwfl) hpi_dw.dwfl_end(t->dwfl);
    while (t->strings) {
        symtab_str_t *n = t->strings->next;
        free(t->strings);
        t->strings = n;
    }
    free(t->maps);
    free(t->stats);
    free(t);
}

static int symtab_map_index(hpi_symtab_t *t, uint64_t addr)
{
    for (int i = 0; i < t->nmaps; i++)
        if (addr >= t->maps[i].start && addr < t->maps[i].limit) return i;
    return -1;
}

const hpi_mapping_t *hpi_symtab_mapping_of(hpi_symtab_t *t, uint64_t addr)
{
    int i = symtab_map_index(t, addr);
    return i < 0 ? NULL : &t->maps[i];
}

const hpi_mapping_t *hpi_symtab_mappings(hpi_symtab_t *t, int *n)
{
    *n = t->nmaps;
    return t->maps;
}

/* ---- Lookup ---- */

/* What one lookup found, for the mapping's flags. */
typedef struct symtab_found {
    bool func, file, line, scopes;
} symtab_found_t;

/* A source position while walking out of inlined code. */
typedef struct symtab_pos {
    const char *file;
    int64_t line;
} symtab_pos_t;

/* The name of a subprogram or inlined subroutine DIE (through its abstract
 * origin), preferring the linkage name (C++), or NULL. */
static const char *symtab_die_name(Dwarf_Die *die)
{
    Dwarf_Attribute a;
    const char *s =
        hpi_dw.dwarf_formstring(hpi_dw.dwarf_attr_integrate(die, DW_AT_linkage_name, &a));
    if (s == NULL)
        s = hpi_dw.dwarf_formstring(hpi_dw.dwarf_attr_integrate(die, DW_AT_MIPS_linkage_name, &a));
    if (s == NULL) s = hpi_dw.dwarf_formstring(hpi_dw.dwarf_attr_integrate(die, DW_AT_name, &a));
    return s;
}

static int64_t symtab_decl_line(Dwarf_Die *die)
{
    int line = 0;
    return hpi_dw.dwarf_decl_line(die, &line) == 0 && line > 0 ? line : 0;
}

/* The concrete scopes around pc (DWARF address), innermost first: the
 * innermost scope from dwarf_getscopes, then its parents.  Returns the
 * count (*scopes malloc'd) or <= 0. */
static int symtab_scopes(Dwarf_Die *cudie, Dwarf_Addr pc, Dwarf_Die **scopes)
{
    Dwarf_Die *s = NULL;
    int n = hpi_dw.dwarf_getscopes(cudie, pc, &s);
    if (n <= 0) {
        free(s);
        return n;
    }
    Dwarf_Die inner = s[0];
    free(s);
    return hpi_dw.dwarf_getscopes_die(&inner, scopes);
}

/* The call site of an inlined subroutine: the position in its caller. */
static symtab_pos_t symtab_call_site(Dwarf_Die *cudie, Dwarf_Die *inl)
{
    symtab_pos_t p = {"", 0};
    Dwarf_Attribute a;
    Dwarf_Word v;
    Dwarf_Files *files;
    size_t nfiles;
    if (hpi_dw.dwarf_formudata(hpi_dw.dwarf_attr(inl, DW_AT_call_file, &a), &v) == 0 &&
        hpi_dw.dwarf_getsrcfiles(cudie, &files, &nfiles) == 0 && v < nfiles) {
        const char *f = hpi_dw.dwarf_filesrc(files, v, NULL, NULL);
        if (f) p.file = f;
    }
    if (hpi_dw.dwarf_formudata(hpi_dw.dwarf_attr(inl, DW_AT_call_line, &a), &v) == 0)
        p.line = (int64_t)v;
    return p;
}

/* Frames for the inlined subroutines among scopes (innermost first), at
 * most max; *pos goes from the innermost position to the position in the
 * physical function.  *sub gets the subprogram scope, or NULL. */
static int symtab_inlined(Dwarf_Die *cudie, Dwarf_Die *scopes, int nscopes, symtab_pos_t *pos,
                          hpi_frame_t *frames, int max, Dwarf_Die **sub)
{
    int n = 0;
    *sub = NULL;
    for (int i = 0; i < nscopes; i++) {
        int tag = hpi_dw.dwarf_tag(&scopes[i]);
        if (tag == DW_TAG_subprogram) {
            *sub = &scopes[i];
            break;
        }
        if (tag != DW_TAG_inlined_subroutine) continue;
        const char *name = symtab_die_name(&scopes[i]);
        if (n < max && name != NULL) {
            frames[n++] = (hpi_frame_t){name, pos->file, pos->line, symtab_decl_line(&scopes[i])};
        }
        *pos = symtab_call_site(cudie, &scopes[i]);
    }
    return n;
}

/* The innermost source position of addr from the line table. */
static symtab_pos_t symtab_line_of(Dwfl_Module *mod, uint64_t addr)
{
    symtab_pos_t p = {"", 0};
    Dwfl_Line *l = hpi_dw.dwfl_module_getsrc(mod, addr);
    int line = 0;
    const char *f = l ? hpi_dw.dwfl_lineinfo(l, NULL, &line, NULL, NULL, NULL) : NULL;
    if (f != NULL) {
        p.file = f;
        p.line = line > 0 ? line : 0;
    }
    return p;
}

/* "0x<hex>" as a table string, or a static fallback when out of memory. */
static const char *symtab_hex_name(hpi_symtab_t *t, uint64_t addr)
{
    char buf[24];
    int len = snprintf(buf, sizeof(buf), "0x%" PRIx64, addr);
    const char *s = symtab_strndup(t, buf, (size_t)len);
    return s ? s : "0x?";
}

/* The ELF symbol at addr without a symbol version ("clock_gettime", not
 * "clock_gettime@@GLIBC_2.17"), or NULL. */
static const char *symtab_symbol(hpi_symtab_t *t, Dwfl_Module *mod, uint64_t addr)
{
    const char *sym = hpi_dw.dwfl_module_addrname(mod, addr);
    const char *at = sym ? strchr(sym, '@') : NULL;
    if (at == NULL || at == sym) return sym;
    const char *s = symtab_strndup(t, sym, (size_t)(at - sym));
    return s ? s : sym;
}

/* The frames of addr in mod (at least one), recording what was found. */
static int symtab_frames(hpi_symtab_t *t, Dwfl_Module *mod, uint64_t addr, hpi_frame_t *frames,
                         int max, symtab_found_t *found)
{
    const char *sym = symtab_symbol(t, mod, addr);
    symtab_pos_t pos = symtab_line_of(mod, addr);
    found->file = pos.file[0] != '\0';
    found->line = pos.line > 0;
    Dwarf_Addr bias = 0;
    Dwarf_Die *cudie = hpi_dw.dwfl_module_addrdie(mod, addr, &bias);
    Dwarf_Die *scopes = NULL, *sub = NULL;
    int nscopes = cudie ? symtab_scopes(cudie, addr - bias, &scopes) : 0;
    int n = 0;
    if (nscopes > 0) {
        found->scopes = true;
        n = symtab_inlined(cudie, scopes, nscopes, &pos, frames, max - 1, &sub);
    }
    const char *name = sym ? sym : sub ? symtab_die_name(sub) : NULL;
    found->func = name != NULL;
    int64_t start = sub ? symtab_decl_line(sub) : 0;
    frames[n++] = (hpi_frame_t){name ? name : symtab_hex_name(t, addr), pos.file, pos.line, start};
    free(scopes);
    return n;
}

/* Count one lookup in mapping i and refresh its flags. */
static void symtab_account(hpi_symtab_t *t, int i, const symtab_found_t *f)
{
    symtab_stats_t *s = &t->stats[i];
    hpi_mapping_t *m = &t->maps[i];
    s->lookups++;
    s->funcs += f->func;
    s->files += f->file;
    s->lines += f->line;
    s->scopes += f->scopes;
    m->has_functions = s->funcs == s->lookups;
    m->has_filenames = s->files == s->lookups;
    m->has_line_numbers = s->lines == s->lookups;
    m->has_inline_frames = s->scopes == s->lookups;
}

int hpi_symtab_lookup(hpi_symtab_t *t, uint64_t addr, hpi_frame_t *frames, int max)
{
    symtab_found_t found = {false, false, false, false};
    Dwfl_Module *mod = hpi_dw.dwfl_addrmodule(t->dwfl, addr);
    int n = 0;
    if (mod != NULL && max > 0) n = symtab_frames(t, mod, addr, frames, max, &found);
    if (n == 0) frames[0] = (hpi_frame_t){symtab_hex_name(t, addr), "", 0, 0};
    int i = symtab_map_index(t, addr);
    if (i >= 0) symtab_account(t, i, &found);
    return n ? n : 1;
}
