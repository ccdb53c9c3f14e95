#include <stdio.h>
typedef struct ops {
    int (*add)(int, int);
    const char *(*name)(void);
    void (*store)(struct ops *self, int v);
    int last;
} ops_t;
extern void use_c_ops(ops_t *);
extern ops_t *python_ops(void);
static int c_add(int a, int b) { return a + b; }
static const char *c_name(void) { return "c ops"; }
static void c_store(ops_t *self, int v) { self->last = v; }
int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    ops_t ops = { c_add, c_name, c_store, 0 };
    use_c_ops(&ops);
    ops_t *py = python_ops();
    printf("py add %d name %s\n", py->add(1, 2), py->name());
    py->store(py, 5);
    printf("py last %d\n", py->last);
    return 0;
}
