struct s { int x : -1; };
