#include <stdio.h>
typedef struct { int a; struct { double d; int arr[3]; } in; } outer_t;
extern int g_value;
extern void run(outer_t *);
int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    outer_t o = { 5, { 2.5, { 7, 8, 9 } } };
    run(&o);
    printf("C g_value %d\n", g_value);
    return 0;
}
