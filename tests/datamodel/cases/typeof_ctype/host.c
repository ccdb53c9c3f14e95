#include <stdio.h>
typedef struct node { int val; struct node *next; char tag[4]; unsigned bf : 3; } node_t;
typedef int (*binop_t)(int, int);
extern void run(node_t *, binop_t);
static int add(int a, int b) { return a + b; }
int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    node_t n = { 1, 0, "ab", 2 };
    run(&n, add);
    return 0;
}
