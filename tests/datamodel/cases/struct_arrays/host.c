#include <stdio.h>
struct rec { char name[8]; int vals[4]; double m[2][3]; short n; };
extern void touch(struct rec *);
int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    struct rec r = { "abcdef", {1, 2, 3, 4}, {{1, 2, 3}, {4, 5, 6}}, 0 };
    touch(&r);
    printf("name '%s' [2]=%d [3]=%d\n", r.name, r.name[2], r.name[3]);
    printf("vals %d %d %d %d n %d\n", r.vals[0], r.vals[1], r.vals[2], r.vals[3], r.n);
    printf("m %g %g %g / %g %g %g\n", r.m[0][0], r.m[0][1], r.m[0][2], r.m[1][0], r.m[1][1], r.m[1][2]);
    return 0;
}
