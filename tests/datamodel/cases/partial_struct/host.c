#include <stdio.h>
#include <stddef.h>
#include "real.h"
extern void tweak(struct config *, opaque_ish_t *);
int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    printf("C sizeof %zu %zu alignof %zu\n", sizeof(struct config), sizeof(opaque_ish_t), _Alignof(struct config));
    printf("C offsets %zu %zu %zu\n", offsetof(struct config, level), offsetof(struct config, scale), offsetof(struct config, name));
    struct config c = { "xy", 1.25, 77, 3, "cfg", 5 };
    opaque_ish_t o = { 41, "" };
    tweak(&c, &o);
    printf("C after: level %d scale %g hidden2 %ld hidden3 %d used %d\n", c.level, c.scale, c.hidden2, c.hidden3, o.used);
    return 0;
}
