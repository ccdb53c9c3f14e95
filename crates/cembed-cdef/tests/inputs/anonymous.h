// Anonymous structs and unions: members, named fields of anonymous type,
// typedef names, and CFFI's `$N` names for the unnamed ones.
struct variant {
    int kind;
    union {
        int i;
        double d;
        struct { short lo, hi; };
    };
    struct { int a, b; } pair;
};
typedef struct { int x; } first_t, *first_ptr;
typedef struct { int y; } *second_ptr, second_t;
typedef enum { RED, GREEN, BLUE } color_t;
struct { int z; } anon_global;
