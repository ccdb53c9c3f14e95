// Constants (const non-array objects) versus global variables.
static const int MAX_ITEMS;
const int CONST_NOSTATIC;
static const char *const GREETING;
int *const CONST_PTR;
const double PI;
const char *mutable_ptr_to_const;
const int const_array[3];
extern int counter;
static int static_var;
volatile int vol;
int const postfix_const;
enum kind { K_A, K_B };
static const enum kind DEFAULT_KIND;
struct cfg { int x; };
static const struct cfg DEFAULT_CFG;
struct cfg current_cfg;
int x, *y, z[2];
