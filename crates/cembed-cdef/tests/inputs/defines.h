// Integer #define constants in every literal form.
#define DEC 42
#define NEG -1
#define HEX 0xFF
#define HEX_UPPER 0XABCDEF
#define OCT 0777
#define ZERO 0
#define SUF_U 10u
#define SUF_L 10L
#define SUF_UL 10UL
#define SUF_LLU 0x10llu
#define BIG 18446744073709551615ULL
#define MIN_I64 -9223372036854775808LL
#define FROM_COMPILER ...
  #  define SPACED 5
#define CONTINUED \
    7
#define USED 3
int sized[USED];
