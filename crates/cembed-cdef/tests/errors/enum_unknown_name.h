enum e { A = B + 1 };
