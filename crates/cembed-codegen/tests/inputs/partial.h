/* CFFI's partial forms and other corner cases: `[...]` arrays in fields,
 * typedefs and globals, `typedef ... t;`, FILE, flexible array members, const
 * fields, anonymous enums as field types, typedefs of pointers to anonymous
 * structs. */
typedef int arr_t[...];
typedef ... handle_store_t;
struct buffer {
    int len;
    char data[...];
    ...;
};
struct message {
    const int id;
    enum { LOW, HIGH } priority;
    unsigned size;
    unsigned char payload[];
};
typedef struct { int refcount; } *handle_t;
int send(struct message *, handle_t, handle_store_t *);
void dump(FILE *, arr_t *);
/* cembed: cdef */
double samples[...];
int primes[];
