/* cmake/test/consumer/consumer.c: a program built against an installed hotpath.
 *
 * Proves it really runs on hotpath: malloc() must move hp_read_memstats()'s
 * counters, and the pointer it returns must be one hotpath knows.
 * Exits 0 and prints "consumer: ok" if so.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hotpath/hotpath.h>

int main(void)
{
    hp_memstats_t before, after;
    hp_read_memstats(&before);
    char *volatile p = malloc(100);
    if (p == NULL) return 1;
    memset(p, 1, 100);
    hp_read_memstats(&after);
    size_t usable = hp_usable_size(p);
    free(p);

    printf("consumer: hotpath %s, mallocs %llu -> %llu, usable_size(malloc(100)) = %zu\n",
           HP_VERSION_STRING, (unsigned long long)before.mallocs, (unsigned long long)after.mallocs,
           usable);
    if (after.mallocs <= before.mallocs || after.mallocs == 0) {
        fprintf(stderr, "consumer: malloc did not go through hotpath\n");
        return 1;
    }
    if (usable < 100) {
        fprintf(stderr, "consumer: hp_usable_size does not know malloc's pointer\n");
        return 1;
    }
    printf("consumer: ok\n");
    return 0;
}
