//// cdef
typedef unsigned int uint;
struct shared;
enum e { E_A = 7 };
#define N 2
//// cdef
struct shared { uint flags; int arr[N]; enum e kind; };
typedef struct shared shared_t;
int use(shared_t *, uint);
enum e2 { E_B = E_A + 1 };
//// embedding_api
uint exported(shared_t);
