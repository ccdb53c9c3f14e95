// The example from CFFI's embedding documentation (plugin.h).
typedef struct { int x, y; } point_t;
extern int do_stuff(point_t *);
