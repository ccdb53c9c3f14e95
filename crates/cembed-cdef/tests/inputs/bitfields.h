// Bitfields on every integer-like type, unnamed padding bitfields, widths
// from constant expressions.
#define WIDTH 4
enum mode { M0, M1, M2 };
struct flags {
    unsigned int a : 1;
    unsigned int b : 3, c : WIDTH;
    int signed_bits : 5;
    int : 3;
    unsigned : 0;
    _Bool flag : 1;
    char ch : 2;
    enum mode m : 2;
    unsigned long long big : 40;
    uint8_t small : 7;
    int plain;
};
union u { int i; unsigned bits : 3; ...; };
