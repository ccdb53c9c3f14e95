struct s { int x; } __attribute__((packed));
