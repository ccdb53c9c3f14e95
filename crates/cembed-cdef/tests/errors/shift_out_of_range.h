enum e { A = 1 << 64 };
