// Enums: implicit and explicit values, constant expressions, references to
// earlier enumerators and #defines, char literals, typedefs, forward use.
#define BASE 0x100
enum color { RED, GREEN, BLUE };
enum flags {
    F_NONE = 0,
    F_A = 1 << 0,
    F_B = 1 << 1,
    F_AB = F_A | F_B,
    F_MASK = ~0 & 0xff,
    F_SHIFT = 0x80 >> 2,
    F_AND = F_AB & 2,
    F_XOR = 5 ^ 3,
    F_EXPR = (F_B + 1) * 3 - 2,
    F_DIV = 7 / 2,
    F_REM = 7 % 4,
    F_NEXT,
};
enum neg { N_MINUS = -5, N_NEXT, N_ZERO = N_MINUS + 5 };
enum chars { C_A = 'A', C_NL = '\n', C_HEX = '\x41', C_Q = '\'' };
enum from_define { D0 = BASE, D1, D2 = BASE + 0x10 };
typedef enum { T_ONE = 1, T_TWO } anon_enum_t;
typedef enum named_e { NE_X } named_e_t;
enum color favourite;
enum forward;
enum forward *fwd_ptr;
enum trailing { TR_A, TR_B, };
