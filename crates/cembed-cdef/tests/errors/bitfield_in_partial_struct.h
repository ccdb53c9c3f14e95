struct flags {
    unsigned a : 1;
    int b;
    ...;
};
