//// cdef
// Two cdef() calls sharing the same header text: identical re-declarations
// are the same declarations (listed once), whatever the layout and comments.
struct shared { int kind; union { int i; float f; }; struct { int a; } inner; };
enum mode { M_A, M_B = 4 };
typedef struct shared shared_t;
int use(shared_t *);
extern int counter;
#define LIMIT 10
//// cdef
struct shared {
    int kind;
    union { int i; float f; };   /* same tokens, other layout */
    struct { int a; } inner;
};
enum mode { M_A, M_B = 4 };
typedef struct shared shared_t;
int use(shared_t *);
extern int counter;
#define LIMIT 10
