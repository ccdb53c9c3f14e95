//// include
typedef struct { int x, y; } pt_t;
struct node { struct node *next; };
enum color { RED, GREEN = 5 };
typedef long myint_t;
int pf(int);
extern int counter;
static const int LIMIT = 10;
#define PARENT_N 3
extern "Python" int py_cb(int);
//// cdef
int sum(pt_t *);
myint_t twice(myint_t);
enum color pick(struct node *);
int pf(double);
