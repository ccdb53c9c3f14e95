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
struct list { struct node *head; int length; };
typedef struct node node_t;
struct node { int value; node_t *next; };
typedef struct opaque opaque_t;
static struct rect unit(void) { struct rect r = { { 0, 0 }, { 1, 1 } }; return r; }
static int rect_width(struct rect r) { return r.max.x - r.min.x; }
static double weigh(point_t p, double w, char c, union number n)
{
    return (p.x * 100 + p.y) * w + (c == 'e' ? 0.25 : 0) + n.i * 1000;
}
static int list_length(struct list *l) { return l->length; }
