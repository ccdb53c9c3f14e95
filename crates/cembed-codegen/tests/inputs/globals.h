/* Globals and constants: api globals (defined by set_source code with
 * CFFI_DLLEXPORT), cdef globals, const globals, static const values of every
 * kind. */
typedef struct { double x, y; } vec2;
int counter;
const char *version;
vec2 origin;
/* cembed: cdef */
double ratio;
const int limit;
volatile long ticks;
static const int MAX_ITEMS;
static const unsigned long long BIG;
static const double PI;
static const char *const GREETING;
static const vec2 UNIT;
static const float FACTORS[3];
static const char LETTER;
int get_counter(void);
