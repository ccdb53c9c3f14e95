#include <stdio.h>
struct node { int value; struct node *next; };
extern struct node *process(struct node *);
int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    struct node n3 = { 3, NULL }, n2 = { 2, &n3 }, n1 = { 1, &n2 };
    struct node *h = process(&n1);
    for (struct node *n = h; n; n = n->next)
        printf("%d ", n->value);
    printf("\n");
    printf("empty: %s\n", process(NULL)->next->next == NULL ? "ok" : "bad");
    return 0;
}
