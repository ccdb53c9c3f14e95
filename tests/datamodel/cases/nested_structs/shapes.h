typedef struct { int x, y; } point_t;
typedef struct { point_t tl, br; unsigned char color; } rect_t;
struct scene { int n; rect_t rects[3]; struct scene *parent; };
