enum color { RED = 1, GREEN, BLUE = 7 };
typedef enum { NEG = -5, ZERO = 0, POS = 5 } sign_t;
enum { FLAG_A = 1, FLAG_B = 2, FLAG_C = 4 };
enum big { BIG_MAX = 0xffffffffffffffffULL };
enum partial_e { KNOWN_0 = 10, KNOWN_1, KNOWN_2 = 20, KNOWN_3 };
#define ANSWER 42
#define MINUS_ONE -1
#define HEX 0x7fffffff
#define COMPUTED (ANSWER * 2)
