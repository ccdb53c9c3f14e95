typedef struct { int x, y; } point_t;
struct rect { point_t min, max; };
union number { int i; double d; unsigned char bytes[8]; };
struct shape {
    int kind;
    union {
        struct rect r;
        struct { point_t center; int radius; } circle;
    };
    struct { int count; point_t pts[4]; } poly;
    const char *label;
    struct shape *next;
};
struct partial { char secret[3]; int known; long more; };
typedef struct { int hidden; double weight; } partial_t;
struct opaque { int whatever; };
typedef struct opaque opaque_t;
static struct rect unit(void) { struct rect r = { { 0, 0 }, { 1, 1 } }; return r; }
