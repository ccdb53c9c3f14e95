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

/* Stores successive recognisable values (2, 3, 4...) into an object of
 * `type`; returns 0 if the type has parts this cannot make up (pointers). */
static int _dump_fill(const cembed_lib *l, int32_t type, unsigned char *p, int *counter)
{
    const cembed_type *t = &l->types[type];
    uint32_t i;
    switch (t->kind) {
    case CEMBED_K_SINT:
    case CEMBED_K_UINT:
    case CEMBED_K_WCHAR:
    case CEMBED_K_ENUM: {
        uint64_t v = (uint64_t)(*counter)++;
        memcpy(p, &v, t->size); /* little endian */
        return 1;
    }
    case CEMBED_K_CHAR: *p = (unsigned char)('a' + (*counter)++); return 1;
    case CEMBED_K_BOOL: *p = 1; (*counter)++; return 1;
    case CEMBED_K_FLOAT:
        if (t->size == sizeof(float)) *(float *)p = (float)(*counter)++ + 0.5f;
        else if (t->size == sizeof(double)) *(double *)p = (double)(*counter)++ + 0.5;
        else *(long double *)p = (long double)(*counter)++ + 0.5L;
        return 1;
    case CEMBED_K_STRUCT:
        for (i = 0; i < t->count; i++) {
            const cembed_field *f = &l->fields[t->first + i];
            if (f->bit_width >= 0 || !_dump_fill(l, f->type, p + f->offset, counter))
                return 0;
        }
        return 1;
    case CEMBED_K_UNION: /* through its first member */
        return t->count > 0 && l->fields[t->first].bit_width < 0
               && _dump_fill(l, l->fields[t->first].type, p + l->fields[t->first].offset,
                             counter);
    case CEMBED_K_ARRAY:
        for (i = 0; t->length > 0 && i < (uint32_t)t->length; i++)
            if (!_dump_fill(l, t->item, p + i * l->types[t->item].size, counter))
                return 0;
        return t->length > 0;
    default:
        return 0;
    }
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
        static unsigned char storage[16][256];
        void *args[16];
        unsigned char result[256];
        int counter = 2;
        int callable = t->thunk >= 0 && t->count <= 16 && r->size <= sizeof result;
        printf("cfunc %s type=%d", f->name, f->type);
        memset(storage, 0, sizeof storage);
        for (j = 0; callable && j < t->count; j++) {
            const cembed_type *pt = &l->types[l->params[t->first + j]];
            callable = pt->size <= sizeof storage[j]
                       && _dump_fill(l, l->params[t->first + j], storage[j], &counter);
            args[j] = storage[j];
        }
        if (callable) {
            memset(result, 0, sizeof result);
            l->thunks[t->thunk](f->fn, args, r->size ? result : NULL);
            printf(" called: result bytes ");
            _dump_bytes(result, r->size);
            if (r->kind == CEMBED_K_FLOAT && r->size == sizeof(float))
                printf(" (%g)", (double)*(float *)result);
            else if (r->kind == CEMBED_K_FLOAT && r->size == sizeof(double))
                printf(" (%g)", *(double *)result);
            else if (r->kind == CEMBED_K_FLOAT && r->size == sizeof(long double))
                printf(" (%Lg)", *(long double *)result);
        }
        printf("\n");
    }
    printf("%u thunks\n", l->n_thunks);
    return 0;
}
