#include <stdio.h>
#include <stdlib.h>
typedef struct flex { int n; double items[]; } flex_t;
extern void show(flex_t *);
int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    flex_t *f = malloc(sizeof(flex_t) + 3 * sizeof(double));
    f->n = 3;
    f->items[0] = 0.25;
    f->items[1] = 0.5;
    f->items[2] = 0.75;
    show(f);
    free(f);
    return 0;
}
