/* tools/hotpath/benchstat/utf8.c: the UTF-8 and Unicode facts benchstat needs.
 *
 * The benchmark format and the filter syntax are defined over runes: config
 * keys start with a lower-case letter and hold no upper-case letter or
 * space, fields split at Unicode white space, and table columns are as wide
 * as their rune count.  Decoding follows Go's utf8.DecodeRune (an invalid
 * or truncated sequence is U+FFFD, one byte wide).
 *
 * White space is Go's unicode.IsSpace exactly.  Letter case is exact for
 * ASCII, Latin-1, Latin Extended-A, Greek and Cyrillic and treats other
 * scripts as caseless: a deliberate approximation of Go's tables, which
 * only matters for config keys written in other scripts.
 */
#include <string.h>

#include "bs.h"

uint32_t hpcli_bs_rune(const char *s, size_t n, size_t *width)
{
    const unsigned char *p = (const unsigned char *)s;
    uint32_t c = p[0];
    *width = 1;
    if (c < 0x80) return c;
    size_t need;
    uint32_t r, min;
    if (c >= 0xc2 && c <= 0xdf) {
        need = 2, r = c & 0x1f, min = 0x80;
    } else if (c >= 0xe0 && c <= 0xef) {
        need = 3, r = c & 0x0f, min = 0x800;
    } else if (c >= 0xf0 && c <= 0xf4) {
        need = 4, r = c & 0x07, min = 0x10000;
    } else {
        return 0xfffd;
    }
    if (n < need) return 0xfffd;
    for (size_t i = 1; i < need; i++) {
        if ((p[i] & 0xc0) != 0x80) return 0xfffd;
        r = r << 6 | (p[i] & 0x3f);
    }
    if (r < min || r > 0x10ffff || (r >= 0xd800 && r <= 0xdfff)) return 0xfffd;
    *width = need;
    return r;
}

int hpcli_bs_rune_is_space(uint32_t r)
{
    switch (r) {
    case '\t': case '\n': case '\v': case '\f': case '\r': case ' ':
    case 0x85: case 0xa0: case 0x1680: case 0x2028: case 0x2029:
    case 0x202f: case 0x205f: case 0x3000:
        return 1;
    }
    return r >= 0x2000 && r <= 0x200a;
}

/* Latin Extended-A (U+0100-U+017F) mostly alternates upper/lower in pairs;
 * the ranges below follow its two phases. */
static int utf8_latin_ext_a(uint32_t r, int upper)
{
    if (r == 0x138 || r == 0x149 || r == 0x17f) return !upper; /* kra, 'n, long s */
    int even = (r % 2) == 0;
    if ((r >= 0x139 && r <= 0x148) || (r >= 0x179 && r <= 0x17e)) even = !even;
    return upper ? even : !even;
}

int hpcli_bs_rune_is_lower(uint32_t r)
{
    if (r < 0x80) return r >= 'a' && r <= 'z';
    if (r == 0xb5 || r == 0xaa || r == 0xba) return 1;
    if (r >= 0xdf && r <= 0xff) return r != 0xf7;
    if (r >= 0x100 && r <= 0x17f) return utf8_latin_ext_a(r, 0);
    if (r >= 0x3ac && r <= 0x3ce) return 1; /* Greek small letters */
    if (r >= 0x430 && r <= 0x45f) return 1; /* Cyrillic small letters */
    return 0;
}

int hpcli_bs_rune_is_upper(uint32_t r)
{
    if (r < 0x80) return r >= 'A' && r <= 'Z';
    if (r >= 0xc0 && r <= 0xde) return r != 0xd7;
    if (r >= 0x100 && r <= 0x17f) return utf8_latin_ext_a(r, 1);
    if (r >= 0x391 && r <= 0x3ab) return r != 0x3a2; /* Greek capitals */
    if (r >= 0x400 && r <= 0x42f) return 1;             /* Cyrillic capitals */
    return 0;
}

int hpcli_bs_rune_is_graphic(uint32_t r)
{
    if (r < 0x20 || (r >= 0x7f && r <= 0x9f)) return 0; /* controls */
    if (r == 0xad || (r >= 0x200b && r <= 0x200f) || (r >= 0x202a && r <= 0x202e)) return 0;
    if (r >= 0x2060 && r <= 0x206f) return 0; /* format characters */
    if (r == 0xfeff || (r >= 0xe000 && r <= 0xf8ff)) return 0; /* BOM, private use */
    return 1;
}

size_t hpcli_bs_runes_n(const char *s, size_t n)
{
    size_t count = 0, w;
    for (size_t i = 0; i < n; i += w) {
        hpcli_bs_rune(s + i, n - i, &w);
        count++;
    }
    return count;
}

size_t hpcli_bs_runes(const char *s)
{
    return hpcli_bs_runes_n(s, strlen(s));
}

void hpcli_bs_buf_add_rune(hpcli_bs_buf_t *b, uint32_t r)
{
    char t[4];
    if (r > 0x10ffff || (r >= 0xd800 && r <= 0xdfff)) r = 0xfffd;
    if (r < 0x80) {
        hpcli_bs_buf_addc(b, (char)r);
    } else if (r < 0x800) {
        t[0] = (char)(0xc0 | r >> 6);
        t[1] = (char)(0x80 | (r & 0x3f));
        hpcli_bs_buf_add(b, t, 2);
    } else if (r < 0x10000) {
        t[0] = (char)(0xe0 | r >> 12);
        t[1] = (char)(0x80 | ((r >> 6) & 0x3f));
        t[2] = (char)(0x80 | (r & 0x3f));
        hpcli_bs_buf_add(b, t, 3);
    } else {
        t[0] = (char)(0xf0 | r >> 18);
        t[1] = (char)(0x80 | ((r >> 12) & 0x3f));
        t[2] = (char)(0x80 | ((r >> 6) & 0x3f));
        t[3] = (char)(0x80 | (r & 0x3f));
        hpcli_bs_buf_add(b, t, 4);
    }
}
