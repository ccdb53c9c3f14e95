/* The "real" header: more fields, in another order, than the cdef says. */
struct config {
    char hidden1[3];
    double scale;
    long hidden2;
    int level;
    const char *name;
    short hidden3;
};
typedef struct { int used; char pad[13]; } opaque_ish_t;
