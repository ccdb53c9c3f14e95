//// cdef
// The shared declarations first, then the exported API using them.
typedef struct { int x, y; } point_t;
int helper(point_t *);
extern "Python" int callback(int);
//// embedding_api
int do_stuff(point_t *);
void api_void(void);
double api_many(int, long, const char *);
int api_global;
const int api_const;
extern "Python" int api_extern_python(int);
//// cdef
int after(point_t);
