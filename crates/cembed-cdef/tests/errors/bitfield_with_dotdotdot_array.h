struct flags {
    unsigned a : 1;
    char name[...];
};
