/* Enums: explicit and implicit values, negative and wide values, typedef'd,
 * anonymous, partial, and #define constants. */
enum color { RED = 1, GREEN, BLUE = 7 };
typedef enum { NEG = -5, ZERO = 0, POS = 5 } sign_t;
enum { FLAG_A = 1, FLAG_B = 2, FLAG_C = 4 };
enum big { BIG_MAX = 0xffffffffffffffff };
enum partial_e { KNOWN_1, KNOWN_2, ... };
#define ANSWER 42
#define MINUS_ONE -1
#define HEX 0x7fffffff
#define COMPUTED ...

enum color next_color(enum color);
sign_t flip(sign_t);
