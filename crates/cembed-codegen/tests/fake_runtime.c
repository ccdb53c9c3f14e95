/* A stand-in for the cembed runtime, for tests of the generated C without
 * Python: it implements the runtime side of cembed_abi.h by printing each
 * call's arguments (decoded with the library's own tables) and writing a
 * recognisable result. The generated library loads it exactly as it loads
 * the real runtime (BuildInfo.runtime / libpython point at this file). */
#include <stdio.h>
#include <string.h>
#include "cembed_abi.h"

static void print_value(const cembed_lib *l, int32_t type, const void *p)
{
    const cembed_type *t = &l->types[type];
    size_t i;
    switch (t->kind) {
    case CEMBED_K_SINT: {
        long long v = 0;
        if (t->size == 1) v = *(const signed char *)p;
        else if (t->size == 2) v = *(const short *)p;
        else if (t->size == 4) v = *(const int *)p;
        else v = *(const long long *)p;
        printf("%s %lld", t->name, v);
        break;
    }
    case CEMBED_K_UINT: {
        unsigned long long v = 0;
        memcpy(&v, p, t->size);
        printf("%s %llu", t->name, v);
        break;
    }
    case CEMBED_K_CHAR:
        printf("char '%c'", *(const char *)p);
        break;
    case CEMBED_K_BOOL:
        printf("_Bool %d", (int)*(const _Bool *)p);
        break;
    case CEMBED_K_FLOAT:
        if (t->size == sizeof(float)) printf("%s %g", t->name, (double)*(const float *)p);
        else if (t->size == sizeof(double)) printf("%s %g", t->name, *(const double *)p);
        else printf("%s %Lg", t->name, *(const long double *)p);
        break;
    case CEMBED_K_POINTER: {
        const void *ptr = *(const void *const *)p;
        if (l->types[t->item].kind == CEMBED_K_CHAR && ptr != NULL)
            printf("%s \"%s\"", t->name, (const char *)ptr);
        else
            printf("%s %s", t->name, ptr ? "non-NULL" : "NULL");
        break;
    }
    case CEMBED_K_STRUCT:
    case CEMBED_K_UNION:
        printf("%s {", t->name);
        for (i = 0; i < t->count; i++) {
            const cembed_field *f = &l->fields[t->first + i];
            printf(i ? ", %s: " : "%s: ", f->name);
            print_value(l, f->type, (const char *)p + f->offset);
        }
        printf("}");
        break;
    default:
        printf("%s ?", t->name);
    }
}

/* Writes a recognisable non-zero result of `type` to `p`. */
static void fill_result(const cembed_lib *l, int32_t type, void *p)
{
    static const char text[] = "from the fake runtime";
    const cembed_type *t = &l->types[type];
    size_t i;
    switch (t->kind) {
    case CEMBED_K_SINT:
    case CEMBED_K_UINT: {
        long long v = -42; /* negative: sign extension shows */
        memcpy(p, &v, t->size);
        break;
    }
    case CEMBED_K_CHAR: *(char *)p = 'R'; break;
    case CEMBED_K_BOOL: *(_Bool *)p = 1; break;
    case CEMBED_K_FLOAT:
        if (t->size == sizeof(float)) *(float *)p = 2.5f;
        else if (t->size == sizeof(double)) *(double *)p = 2.5;
        else *(long double *)p = 2.5L;
        break;
    case CEMBED_K_POINTER: *(const char **)p = text; break;
    case CEMBED_K_STRUCT:
        for (i = 0; i < t->count; i++)
            fill_result(l, l->fields[t->first + i].type,
                        (char *)p + l->fields[t->first + i].offset);
        break;
    default: break;
    }
}

static void fake_call(cembed_extern *ext, void **args, void *result)
{
    const cembed_lib *l = ext->lib;
    const cembed_type *ft = &l->types[ext->type];
    const cembed_type *rt = &l->types[ft->item];
    uint32_t i;
    printf("[runtime] %s(", ext->name);
    for (i = 0; i < ft->count; i++) {
        if (i) printf(", ");
        print_value(l, l->params[ft->first + i], args[i]);
    }
    printf(")");
    if (rt->kind == CEMBED_K_VOID) {
        printf(" -> void, result %s\n", result == NULL ? "NULL" : "NOT NULL");
    } else {
        int zeroed = 1;
        for (i = 0; i < rt->size; i++)
            zeroed &= ((unsigned char *)result)[i] == 0;
        printf(" -> %s, result %s\n", rt->name, zeroed ? "zeroed" : "NOT ZEROED");
        fill_result(l, ft->item, result);
    }
}

static int fake_start(cembed_lib *lib) { (void)lib; return 0; }
static void *fake_module_init(cembed_lib *lib) { (void)lib; return NULL; }
static const char *fake_init_error(cembed_lib *lib) { (void)lib; return NULL; }

static const cembed_runtime_api api = {
    CEMBED_ABI_VERSION, sizeof(cembed_runtime_api),
    fake_call, fake_start, fake_module_init, fake_init_error
};

__attribute__((visibility("default"))) const cembed_runtime_api *cembed_runtime_v1(void)
{
    return &api;
}
