/* Structs and unions: named, typedef'd, nested, anonymous members, partial,
 * opaque, and by value in both directions. */
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
struct partial { int known; ...; };
typedef struct { double weight; ...; } partial_t;
struct opaque;
struct list { struct node *head; int length; };
typedef struct node node_t;
struct node { int value; node_t *next; };
typedef struct opaque opaque_t;

int area(struct rect);
point_t midpoint(point_t, point_t);
struct rect bounds(const struct shape *);
union number as_number(union number);
opaque_t *make(struct partial *, partial_t *);
/* cembed: cdef */
struct rect unit(void);
int rect_width(struct rect);
int list_length(struct list *);
double weigh(point_t, double, char, union number);
