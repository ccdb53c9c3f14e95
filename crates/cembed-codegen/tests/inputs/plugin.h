/* CFFI's embedding documentation example: plugin.h and do_stuff. */
typedef struct { int x, y; } point_t;
extern int do_stuff(point_t *);
