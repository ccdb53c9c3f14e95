/* The library's API: implemented in Python (init.py). */
typedef struct { int x, y; } point_t;
int manhattan(const point_t *p);
bool is_origin(point_t p);
