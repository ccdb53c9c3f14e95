/* Appended to a generated library by the snapshot tests: prints every table
 * the runtime reads, with the values the compiler computed, and calls the
 * cdef's C functions whose parameters are all integers through their thunks.
 * What the runtime will see is exactly what this prints. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

static const char *_dump_kind(uint32_t k)
{
    static const char *names[] = { "void", "char", "bool", "wchar", "sint", "uint",
                                   "float", "pointer", "array", "struct", "union",
                                   "enum", "function", "opaque" };
    return k < sizeof names / sizeof names[0] ? names[k] : "?";
}

static void _dump_bytes(const unsigned char *p, size_t n)
{
    size_t i;
    for (i = 0; i < n; i++)
        printf("%02x", p[i]);
}

static void _dump_int(const cembed_const *c)
{
    if (c->negative)
        printf("%" PRId64, (int64_t)c->bits);
    else
        printf("%" PRIu64, c->bits);
}

int main(void)
{
    const cembed_lib *l = &_cembed_lib;
    uint32_t i, j;
    printf("module %s, abi %u, init code: %s\n", l->module_name, l->abi_version,
           l->init_code ? "yes" : "no");
    for (i = 0; i < l->n_types; i++) {
        const cembed_type *t = &l->types[i];
        printf("type %u '%s': %s flags=%u size=%zu align=%zu item=%d thunk=%d length=%" PRId64
               " first=%u count=%u%s\n",
               i, t->name, _dump_kind(t->kind), t->flags, t->size, t->align, t->item,
               t->thunk, t->length, t->first, t->count, t->probe ? " probe" : "");
        if (t->kind == CEMBED_K_STRUCT || t->kind == CEMBED_K_UNION) {
            for (j = 0; j < t->count; j++) {
                const cembed_field *f = &l->fields[t->first + j];
                printf("    field '%s' type=%d offset=%zu flags=%u", f->name, f->type,
                       f->offset, f->flags);
                if (f->bit_width >= 0) {
                    unsigned char buf[256];
                    printf(" bits=%d", f->bit_width);
                    if (t->probe != NULL && t->size <= sizeof buf && f->name[0]) {
                        memset(buf, 0x55, sizeof buf);
                        t->probe(buf, j);
                        printf(" mask=");
                        _dump_bytes(buf, t->size);
                    }
                }
                printf("\n");
            }
        } else if (t->kind == CEMBED_K_FUNCTION) {
            printf("    params:");
            for (j = 0; j < t->count; j++)
                printf(" %d", l->params[t->first + j]);
            printf("\n");
        } else if (t->kind == CEMBED_K_ENUM) {
            for (j = 0; j < t->count; j++) {
                const cembed_const *c = &l->enumerators[t->first + j];
                printf("    %s = ", c->name);
                _dump_int(c);
                printf(" (type %d)\n", c->type);
            }
        }
    }
    for (i = 0; i < l->n_typedefs; i++)
        printf("typedef %s = type %d\n", l->typedefs[i].name, l->typedefs[i].type);
    for (i = 0; i < l->n_consts; i++) {
        const cembed_const *c = &l->consts[i];
        printf("const %s (type %d) = ", c->name, c->type);
        if (c->get != NULL) {
            unsigned char buf[256];
            size_t n = l->types[c->type].size;
            memset(buf, 0, sizeof buf);
            c->get(buf);
            if (l->types[c->type].kind == CEMBED_K_POINTER) {
                /* An address: print what it points to, not where. */
                const void *ptr;
                const cembed_type *item = &l->types[l->types[c->type].item];
                memcpy(&ptr, buf, sizeof ptr);
                if (ptr == NULL)
                    printf("NULL");
                else if (item->kind == CEMBED_K_CHAR)
                    printf("pointer to \"%s\"", (const char *)ptr);
                else
                    printf("non-NULL pointer");
            } else {
                printf("bytes ");
                _dump_bytes(buf, n < sizeof buf ? n : sizeof buf);
            }
        } else {
            _dump_int(c);
        }
        printf("\n");
    }
    for (i = 0; i < l->n_globals; i++)
        printf("global %s type=%d flags=%u address=%s\n", l->globals[i].name,
               l->globals[i].type, l->globals[i].flags,
               l->globals[i].address ? "set" : "NULL");
    for (i = 0; i < l->n_externs; i++) {
        const cembed_extern *x = l->externs[i];
        printf("extern %s type=%d flags=%u lib=%s fn=%s\n", x->name, x->type, x->flags,
               x->lib == &_cembed_lib ? "ok" : "WRONG", x->fn ? "set" : "NULL");
    }
    for (i = 0; i < l->n_cfuncs; i++) {
        const cembed_cfunc *f = &l->cfuncs[i];
        const cembed_type *t = &l->types[f->type];
        const cembed_type *r = &l->types[t->item];
        int64_t storage[16];
        void *args[16];
        unsigned char result[256];
        int callable = t->thunk >= 0 && t->count <= 16 && r->size <= sizeof result;
        printf("cfunc %s type=%d", f->name, f->type);
        for (j = 0; callable && j < t->count; j++) {
            const cembed_type *pt = &l->types[l->params[t->first + j]];
            callable = (pt->kind == CEMBED_K_SINT || pt->kind == CEMBED_K_UINT) && pt->size <= 8;
        }
        if (callable) {
            for (j = 0; j < t->count; j++) {
                /* The value j + 2 stored as the parameter's type (little endian). */
                storage[j] = (int64_t)j + 2;
                args[j] = &storage[j];
            }
            memset(result, 0, sizeof result);
            l->thunks[t->thunk](f->fn, args, r->size ? result : NULL);
            printf(" called: result bytes ");
            _dump_bytes(result, r->size);
        }
        printf("\n");
    }
    printf("%u thunks\n", l->n_thunks);
    return 0;
}
