/* Consumer header written by cembed next to its library; rewritten by every build. */
/* C interface of the library built by cembed for module 'cbm_cembed'.
 * Generated from the build script's declarations: do not edit. */
#ifndef CEMBED_CBM_CEMBED_H
#define CEMBED_CBM_CEMBED_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef int (*binop_t)(int, int);
typedef void (*vcb_t)(const char *);

#ifdef __cplusplus
}
#endif

#endif /* CEMBED_CBM_CEMBED_H */
