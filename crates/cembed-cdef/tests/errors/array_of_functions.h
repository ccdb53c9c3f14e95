int table[3](int);
