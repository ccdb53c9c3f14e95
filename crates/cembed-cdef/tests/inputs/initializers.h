// CFFI accepts initializers: an integer literal on an integer declaration
// makes an integer constant; any other initializer is ignored.
static const int N = 42;
static const long NEG = -42;
static const unsigned HEX = 0x10u;
static const _Bool YES = 1;
int plain_int = 3, not_initialised;
static const char C = 5;
static const double D = 1.5;
static const int EXPR = 1 + 2;
double dbl = 2;
const char *const NAME = "name";
int arr[2] = { 1, 2 };
struct s { int x; };
static const struct s S = { 1 };
typedef int... handle_t;
static const handle_t H = 7;
