/* Function pointers: parameters, results, fields, globals, typedefs,
 * callbacks into C (cdef functions) and from C (extern "Python"). */
typedef int (*binop_t)(int, int);
typedef void (*logger_t)(const char *msg, void *userdata);
struct handler {
    binop_t op;
    double (*scale)(double);
    void (*on_event[2])(int);
};
int apply(binop_t, int, int);
binop_t pick(int which);
void (*signal_like(int, void (*)(int)))(int);
/* cembed: cdef */
int add_ints(int, int);
int call_twice(int (*)(int), int);
logger_t current_logger;
struct handler handlers[2];
extern "Python" int py_square(int);
