/* Variadic functions: C functions of the cdef (no thunk: thunk = -1) and a
 * variadic function-pointer type. */
typedef int (*printer_t)(const char *, ...);
int log_value(int);
/* cembed: cdef */
int sum_ints(int n, ...);
int format_into(char *buf, size_t size, const char *fmt, ...);
printer_t printer;
