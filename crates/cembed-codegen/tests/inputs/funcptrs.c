typedef int (*binop_t)(int, int);
typedef void (*logger_t)(const char *msg, void *userdata);
struct handler {
    binop_t op;
    double (*scale)(double);
    void (*on_event[2])(int);
};
static int add_ints(int a, int b) { return a + b; }
static int call_twice(int (*f)(int), int x) { return f(f(x)); }
logger_t current_logger;
struct handler handlers[2];
static int py_square(int);
int use_py_square(int x) { return call_twice(py_square, x); }
