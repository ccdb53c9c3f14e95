int (^block)(int);
