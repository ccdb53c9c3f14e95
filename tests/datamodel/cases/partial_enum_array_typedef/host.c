#include <stdio.h>
#include <stdint.h>
enum mode { MODE_A = 3, MODE_HIDDEN = 4, MODE_B = 17, MODE_C = -2 };
typedef uint16_t handle_t;
typedef int64_t ticks_t;
extern int lookup[7];
struct withlen { int n; char data[24]; };
extern handle_t next_handle(handle_t);
extern ticks_t add_ticks(ticks_t);
extern int describe(enum mode, struct withlen *);
int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    printf("next_handle %u\n", (unsigned)next_handle(65535));
    printf("add_ticks %lld\n", (long long)add_ticks(5));
    struct withlen w = { 1, "payload" };
    printf("describe %d\n", describe(MODE_B, &w));
    printf("C lookup[6] %d\n", lookup[6]);
    return 0;
}
