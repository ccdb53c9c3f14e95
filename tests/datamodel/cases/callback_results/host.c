#include <stdio.h>
#include <wchar.h>
typedef struct { char tag[3]; short v; } rec_t;
typedef union { int i; float f; } num_t;
enum e { E1 = 1, E2 = 2 };
extern char r_char(int);
extern _Bool r_bool(int);
extern enum e r_enum(int);
extern rec_t r_rec(int);
extern num_t r_num(int);
extern const char *r_str(int);
extern void *r_ptr(int);
extern float r_float(int);
extern wchar_t r_wchar(int);
extern int (*r_fn(int))(int);
extern int take(rec_t, num_t, enum e, char, _Bool, const char *, int (*)(int));
static int cub(int x) { return x * x * x; }
int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    for (int k = 0; k < 5; k++) {
        rec_t r = r_rec(k); num_t n = r_num(k);
        const char *s = r_str(k);
        int (*f)(int) = r_fn(k);
        printf("k=%d char=%d bool=%d enum=%d rec=%.3s/%d num=%d/%g str=%s ptr=%s float=%g wchar=%d fn=%d\n",
               k, r_char(k), r_bool(k), (int)r_enum(k), r.tag, r.v, n.i, n.f, s ? s : "(null)",
               r_ptr(k) ? "set" : "null", r_float(k), (int)r_wchar(k), f ? f(3) : -1);
    }
    rec_t r = { "hi", 4 }; num_t n; n.i = 11;
    take(r, n, E2, 'q', 1, "str", cub);
    return 0;
}
