#include <stdio.h>
#include <stdint.h>
typedef struct { int x; } box_t;
extern int check(int *, box_t *, void *, const char *);
extern void *give_null(int);
extern int deref_struct(box_t *);
int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    int v = 5;
    box_t b = { 9 };
    printf("-> %d\n", check(&v, &b, &v, "s"));
    printf("-> %d\n", check(NULL, NULL, NULL, NULL));
    for (int i = 0; i < 4; i++)
        printf("give_null(%d) = %lu\n", i, (unsigned long)(uintptr_t)give_null(i));
    printf("deref %d\n", deref_struct(&b));
    printf("deref %d\n", deref_struct(NULL));
    return 0;
}
