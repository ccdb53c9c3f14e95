struct s {
    int x;
    union {
        int y;
        float x;
    };
};
