// Structs and unions: named, typedef'ed, nested, self-referential, opaque.
struct point { int x; int y; };
typedef struct point point_alias;
struct point p;
typedef struct { double re, im; } complex_t;
typedef struct node { int value; struct node *next; } node_t;
union value { int i; double d; char *s; };
typedef union { int i; float f; } num_t;
struct opaque;
struct opaque *new_opaque(void);
struct later;
struct later *later_ptr;
struct later { int x; };
struct later;
struct outer {
    struct inner { int a; } in;
    struct inner *pin;
    union value v;
    complex_t c;
    node_t *list;
    char name[32];
    int (*cb)(struct outer *);
};
struct inner i2;
struct empty {};
struct fam { int n; int data[]; };
typedef struct tagged tagged_t;
tagged_t *tp;
struct tagged { int x; };
