typedef struct { double x, y; } vec2;
CFFI_DLLEXPORT int counter = 3;
CFFI_DLLEXPORT const char *version = "1.0";
CFFI_DLLEXPORT vec2 origin;
double ratio = 0.5;
const int limit = 10;
volatile long ticks;
#define MAX_ITEMS 100
static const unsigned long long BIG = 18446744073709551615ULL;
#define PI 3.141592653589793
static const char *const GREETING = "hello";
static const vec2 UNIT = { 1.0, 1.0 };
static const float FACTORS[3] = { 0.5f, 1.5f, 2.5f };
static const char LETTER = 'z';
static int get_counter(void) { return counter; }
