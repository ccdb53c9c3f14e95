#include <stdio.h>
typedef int arr_t[6];
typedef struct store { int hidden; } handle_store_t;
struct buffer {
    long reserved;
    int len;
    char data[32];
    int more;
};
struct message {
    const int id;
    enum { LOW, HIGH } priority;
    unsigned size;
    unsigned char payload[];
};
typedef struct { int refcount; } *handle_t;
double samples[10];
int primes[] = { 2, 3, 5, 7 };
