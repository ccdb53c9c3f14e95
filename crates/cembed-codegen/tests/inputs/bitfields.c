enum mode { OFF, ON, AUTO };
struct flags {
    unsigned int ready : 1;
    signed int delta : 4;
    unsigned int : 3;
    _Bool dirty : 1;
    enum mode mode : 2;
    unsigned long long wide : 40;
    struct { unsigned char lo : 4, hi : 4; };
    const unsigned version : 3;
    int plain;
};
