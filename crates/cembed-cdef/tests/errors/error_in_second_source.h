//// cdef
typedef struct { int x; } point_t;
int helper(point_t *);
//// embedding_api
int do_stuff(point_t *p);
int broken(pointt *p);
