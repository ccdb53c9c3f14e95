struct s { int x = 3; };
