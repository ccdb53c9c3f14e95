#include <stdio.h>
typedef struct { int x, y; } point_t;
extern int ret_str(void);
extern double ret_none(void);
extern int *ret_wrong_ptr(void);
extern point_t ret_bad_struct(void);
extern int divide(int, int);
extern long lookup(int);
extern int ok(int);
extern void void_raises(void);
int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    printf("ret_str -> %d\n", ret_str());
    printf("ret_none -> %g\n", ret_none());
    printf("ret_wrong_ptr -> %s\n", ret_wrong_ptr() == NULL ? "NULL" : "non-NULL");
    point_t p = ret_bad_struct();
    printf("ret_bad_struct -> %d %d\n", p.x, p.y);
    printf("divide(7, 2) -> %d\n", divide(7, 2));
    printf("divide(7, 0) -> %d\n", divide(7, 0));
    printf("lookup(1) -> %ld\n", lookup(1));
    printf("lookup(2) -> %ld\n", lookup(2));
    void_raises();
    printf("void_raises returned\n");
    printf("ok(1) -> %d\n", ok(1));
    return 0;
}
